// The built-in batch ETL's throughput: one day of 1 000 000 orders (1 000 customers, 200 products,
// 5 % cancelled, spread evenly over 2000-01-01) extracted, transformed and loaded by runBatch,
// the code behind `batch run`. Source and warehouse are throwaway databases on the local stack's
// cluster, so a run leaves nothing in the shared ones. Prints source orders/s last; peak RSS before.
import { createPostgresPool, withPostgres } from '../src/clients/postgres.ts';
import { loadConfig } from '../src/config/load.ts';
import { systemClock } from '../src/core/clock.ts';
import { createLogger } from '../src/core/logger.ts';
import { Redactor } from '../src/core/redactor.ts';
import { runBatch } from '../src/batch-legacy/run-batch.ts';
import { resolveWindow } from '../src/batch-legacy/window.ts';
import { ensureDemoSchema } from '../src/source/demo-schema.ts';
import { mulberry32 } from '../src/source/random.ts';
import { seedDemoSource } from '../src/source/seed.ts';
import { openStateStore } from '../src/state/state-store.ts';

const ORDERS = 1_000_000;
const DAY = '2000-01-01';
const loaded = loadConfig({ cwd: process.cwd() });
const suffix = `${process.pid}`;
const on = (base: { url: string; password?: string | undefined }, name: string) => {
  const url = new URL(base.url);
  url.pathname = `/${name}`;
  return { ...base, url: url.toString() };
};
const admin = on(loaded.config.source, 'postgres');
const source = on(loaded.config.source, `sm_bench_batch_src_${suffix}`);
const warehouse = on(loaded.config.warehouse, `sm_bench_batch_wh_${suffix}`);
const databases = [source, warehouse].map((t) => new URL(t.url).pathname.slice(1));

for (const db of databases) await withPostgres(admin, 'admin', (c) => c.query(`CREATE DATABASE ${db}`));
try {
  await ensureDemoSchema(source);
  const pool = createPostgresPool(source, 1, 'stream-migrate-bench-batch');
  try {
    await seedDemoSource(pool, { customers: 1_000, products: 200, random: mulberry32(6) });
    await pool.query(
      `WITH c AS (SELECT array_agg(id ORDER BY id) AS ids FROM public.customers),
            p AS (SELECT array_agg(id ORDER BY id) AS ids FROM public.products)
       INSERT INTO public.orders (customer_id, product_id, quantity, amount, status, created_at)
       SELECT c.ids[(1 + (g * 7919) % cardinality(c.ids))::int], p.ids[(1 + (g * 104729) % cardinality(p.ids))::int], (1 + g % 3)::int,
              ((g * 7877) % 250000) / 100.0,
              (ARRAY['CANCELLED', 'PLACED', 'PAID', 'SHIPPED', 'PAID'])[(CASE WHEN g % 20 = 0 THEN 1 ELSE 2 + g % 4 END)::int],
              timestamptz '${DAY} 00:00:00+00' + (g * 86400000 / $1) * interval '1 millisecond'
         FROM generate_series(0::bigint, $1 - 1) AS g, c, p`,
      [ORDERS],
    );
    await pool.query('ANALYZE public.orders');
  } finally {
    await pool.end();
  }

  const config = { ...loaded.config, source, warehouse };
  const store = await openStateStore(warehouse);
  try {
    const logger = createLogger({ level: 'warn', json: false, redactor: new Redactor() });
    const window = resolveWindow({ date: DAY }, systemClock.now(), config.rules.windowMinutes);
    const outcome = await runBatch({ window, scheduled: false }, { config, store, logger, clock: systemClock, actor: 'bench' });
    if (outcome.status !== 'succeeded') throw new Error(`batch run failed: ${outcome.reason}`);
    const t = outcome.timings;
    const seconds = t.totalMs / 1_000;
    console.log(`${outcome.sourceOrders} source orders in ${seconds.toFixed(1)}s (waits: extract ${t.extractMs} ms, transform ${t.transformMs} ms, load ${t.loadMs} ms)`);
    console.log(`rows: processed_orders ${outcome.rows.processed_orders}, order_summaries ${outcome.rows.order_summaries}, fraud_alerts ${outcome.rows.fraud_alerts}`);
    console.log(`peak RSS MB ${Math.round(process.resourceUsage().maxRSS / 1024)}`);
    console.log(`batch rows/s ${Math.round(outcome.sourceOrders / seconds)}`);
  } finally {
    await store.close();
  }
} finally {
  for (const db of databases) await withPostgres(admin, 'admin', (c) => c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`));
}
