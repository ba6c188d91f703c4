// The load generator's ceiling: 20 s at a requested 100 000 orders/s against the local stack's
// PostgreSQL, with the default mix. It writes to a throwaway database on the same cluster (same
// settings as `source`), so a run does not leave a million orders in the shared source database
// for Debezium snapshots and other tests to wade through. Prints the achieved new orders/s last.
import { createPostgresPool, withPostgres } from '../src/clients/postgres.ts';
import { loadConfig } from '../src/config/load.ts';
import { loadCatalogue, runLoad } from '../src/source/load-generator.ts';
import { ensureDemoSchema } from '../src/source/demo-schema.ts';
import { mulberry32 } from '../src/source/random.ts';
import { seedDemoSource } from '../src/source/seed.ts';

const CONNECTIONS = 4;
const { config } = loadConfig({ cwd: process.cwd() });
const database = `sm_bench_load_${process.pid}`;
const withDatabase = (name: string) => {
  const url = new URL(config.source.url);
  url.pathname = `/${name}`;
  return { ...config.source, url: url.toString() };
};
const admin = withDatabase('postgres');
const target = withDatabase(database);

await withPostgres(admin, 'admin', (c) => c.query(`CREATE DATABASE ${database}`));
try {
  await ensureDemoSchema(target);
  const pool = createPostgresPool(target, CONNECTIONS, 'stream-migrate-bench-load');
  try {
    const random = mulberry32(20_000);
    await seedDemoSource(pool, { customers: 1_000, products: 200, random });
    const report = await runLoad(pool, await loadCatalogue(pool), { ratePerSecond: 100_000, durationMs: 20_000, random, connections: CONNECTIONS });
    const seconds = report.elapsedMs / 1_000;
    const c = report.counts;
    const changes = c.inserted + c.updated + c.cancelled + c.deleted + c.tierChanges + c.moved;
    console.log(`${seconds.toFixed(1)}s, ${report.batches} batches of ${report.batchSize} on ${report.connections} connections`);
    console.log(`inserted ${c.inserted}, updated ${c.updated}, cancelled ${c.cancelled}, deleted ${c.deleted}, moved ${c.moved}, tier changes ${c.tierChanges}`);
    console.log(`changes/s ${Math.round(changes / seconds)}`);
    console.log(`load orders/s ${Math.round(c.inserted / seconds)}`);
  } finally {
    await pool.end();
  }
} finally {
  await withPostgres(admin, 'admin', (c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
}
