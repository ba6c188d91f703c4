// `snapshot --table public.orders` on 100 000 rows: how fast Debezium re-sends a table through an
// incremental snapshot (chunks of connector.snapshotChunkSize, watermarks in the signal table),
// measured from the signal insert to Debezium's COMPLETED notification. A throwaway source
// database on the stack's cluster and a connector, slot, publication and topics of its own, all
// removed afterwards. Run it where the stack's configuration is (e.g. in .stream-migrate-test/ for
// the test stack). Prints rows/s last.
import { createConnectClient } from '../src/clients/connect.ts';
import { createKafkaAdmin } from '../src/clients/kafka.ts';
import { withPostgres } from '../src/clients/postgres.ts';
import { loadConfig } from '../src/config/load.ts';
import type { Config } from '../src/config/schema.ts';
import { systemClock } from '../src/core/clock.ts';
import { createLogger } from '../src/core/logger.ts';
import { Redactor } from '../src/core/redactor.ts';
import { heartbeatTopic, notificationTopic } from '../src/phases/ingestion/connector-config.ts';
import { ingestionPhase } from '../src/phases/ingestion/index.ts';
import type { PhaseContext } from '../src/phases/phase.ts';
import { runIncrementalSnapshot } from '../src/snapshot/incremental-snapshot.ts';
import { ensureDemoSchema } from '../src/source/demo-schema.ts';
import { dropReplicationSlot } from '../test/integration/connector-fixture.ts';

const ROWS = 100_000;
const loaded = loadConfig({ cwd: process.cwd() });
const id = `bench_snap_${process.pid}`;
const on = (base: { url: string; password?: string | undefined }, name: string) => {
  const url = new URL(base.url);
  url.pathname = `/${name}`;
  return { ...base, url: url.toString() };
};
const admin = on(loaded.config.source, 'postgres');
const config: Config = {
  ...loaded.config,
  source: on(loaded.config.source, `sm_${id}`),
  connector: {
    ...loaded.config.connector,
    name: `bench-snapshot-${process.pid}`,
    slotName: id,
    publicationName: id,
    topicPrefix: `bench-snap-${process.pid}`,
    signalTable: 'stream_migrate.debezium_signal',
    snapshotMode: 'no_data',
    snapshotTimeout: '10m',
    // SNAPSHOT_CHUNK_SIZE compares chunk sizes; the configured one otherwise.
    snapshotChunkSize: Number(process.env.SNAPSHOT_CHUNK_SIZE ?? loaded.config.connector.snapshotChunkSize),
  },
};
const logger = createLogger({ level: 'info', json: false, redactor: new Redactor(), write: (line) => process.stderr.write(line.endsWith('\n') ? line : `${line}\n`) });
const quiet = { update: () => undefined, note: () => undefined, done: () => undefined };
const ctx: PhaseContext = { config, logger, clock: systemClock, progress: quiet, options: { prune: false }, cwd: process.cwd(), configFile: loaded.file };
const kafka = createKafkaAdmin(config.kafka, 'bench-snapshot', { retries: 3 });
const connect = createConnectClient(config.connect);
const topics = config.connector.tables.map((t) => `${config.connector.topicPrefix}.${t}`);
const database = new URL(config.source.url).pathname.slice(1);

await withPostgres(admin, 'admin', (c) => c.query(`CREATE DATABASE ${database}`));
try {
  await ensureDemoSchema(config.source);
  await withPostgres(config.source, 'source', async (c) => {
    await c.query(`INSERT INTO public.customers (name, tier) SELECT 'c' || g, (ARRAY['NEW','BRONZE','SILVER','GOLD','PLATINUM'])[1 + g % 5] FROM generate_series(1, 1000) g`);
    await c.query(`INSERT INTO public.products (name, category, price) SELECT 'p' || g, (ARRAY['books','electronics','groceries','garden'])[1 + g % 4], 10 FROM generate_series(1, 200) g`);
    await c.query(
      `INSERT INTO public.orders (customer_id, product_id, quantity, amount, status)
       SELECT 1 + g % 1000, 1 + g % 200, 1 + g % 3, (g % 250000) / 100.0, 'PLACED' FROM generate_series(1, $1) g`,
      [ROWS],
    );
  });
  await kafka.createTopics(topics.map((name) => ({ name, partitions: name.endsWith('orders') ? 6 : 1, replicationFactor: 1, configs: { 'cleanup.policy': 'compact' } })));
  const { steps, close } = await ingestionPhase.steps(ctx);
  try {
    for (const step of steps) await step.apply(await step.plan());
  } finally {
    await close();
  }
  const started = Date.now();
  const result = await runIncrementalSnapshot({ table: 'public.orders', dryRun: false }, { config, logger, clock: systemClock, progress: quiet });
  const wallMs = Date.now() - started;
  if (result.rows !== ROWS) throw new Error(`expected ${ROWS} rows re-sent, Debezium reports ${result.rows}`);
  console.log(`rows ${result.rows}, chunk size ${config.connector.snapshotChunkSize}`);
  console.log(`Debezium STARTED → COMPLETED ${result.elapsedMs} ms (${result.rowsPerSecond} rows/s)`);
  console.log(`signal insert → COMPLETED seen ${wallMs} ms`);
  console.log(`rows/s ${Math.round(ROWS / (wallMs / 1_000))}`);
} finally {
  await connect.deleteConnector(config.connector.name).catch(() => undefined);
  await withPostgres(admin, 'admin', async (c) => {
    await dropReplicationSlot(async (text, values) => (await c.query(text, values)).rows as Record<string, unknown>[], config.connector.slotName, { attempts: 40, terminateAfter: 30 });
    await c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  });
  await kafka.deleteTopics([...topics, heartbeatTopic(config.connector), notificationTopic(config.connector)]).catch(() => undefined);
  await kafka.close();
}
