/**
 * End-to-end latency (issue 12 §4): a steady `load` of 1 000 orders/s for 60 s on a stack, while a
 * probe order is inserted every 100 ms and ClickHouse's processed_orders is polled every 20 ms
 * until each shows up. Latency = the probe's source commit (its autocommit INSERT returned) → row
 * visible in ClickHouse.
 * - Probes go to every partition: the orders' second stage is partitioned by customer id modulo
 *   the partition count (src/stream/topics.ts partitionForCustomer), so the probes' customers
 *   rotate through every residue; order ids are consecutive, spread by the source's key hash.
 * - A probe not seen within 30 s of its commit is a failure: counted, printed, and ranked above
 *   every seen probe in the percentiles (a percentile that lands on one prints `>30000`).
 * - The load must achieve at least 95% of `--rate`, else the figure is not at the rate asked.
 * - The load runs `--warmup` seconds (15) before the first probe: the steady state is measured,
 *   not the first seconds of JVMs just started and a worker that just joined (printed as such).
 * Failures exit 1. Prints p50, p95, per-partition p99 and, last, `e2e p99 ms N`.
 *
 *   npx tsx bench/e2e-latency.ts [--rate 1000] [--seconds 60] [--warmup 15]     (BENCH_CWD: an existing stack's directory; default a fresh one in .stream-migrate-bench/)
 */
import path from 'node:path';
import { execa } from 'execa';
import { createClickHouse } from '../src/clients/clickhouse.ts';
import { createKafkaAdmin, createPartitionReader, type PartitionReader } from '../src/clients/kafka.ts';
import { createPostgresPool } from '../src/clients/postgres.ts';
import { loadConfig } from '../src/config/load.ts';
import { decodeProcessedKey } from '../src/stream/records.ts';
import { streamTopics } from '../src/stream/topics.ts';
import { BIN, REPO_ROOT } from '../test/integration/cli.ts';
import { writeTestConfig } from '../test/integration/test-env.ts';

const arg = (name: string, fallback: number) => Number(process.argv[process.argv.indexOf(`--${name}`) + 1] || fallback) || fallback;
const rate = arg('rate', 1000);
const seconds = arg('seconds', 60);
// The load runs this long before the first probe: JVMs just started (a fresh stack) and a worker
// just joined make the first seconds slower than the steady state this bench measures.
const warmup = arg('warmup', 15);
const PROBE_EVERY_MS = 100;
const UNSEEN_AFTER_MS = 30_000;
/**
 * A stack of the bench's own (ports neither the user's, the tests' nor the fault matrix's), purged
 * and started afresh at every run so runs compare (windows of earlier runs' hot customers would
 * otherwise grow run over run), and stopped at the end. BENCH_CWD names an existing stack instead.
 */
const OWN_HOME = path.join(REPO_ROOT, '.stream-migrate-bench');
const OWN_OVERRIDES = {
  dev: { ports: { postgres: 17532, kafka: 19392, kafkaController: 19393, connect: 18383, clickhouseHttp: 18423, clickhouseTcp: 19300, schemaRegistry: 18381, schemaRegistryManagement: 18382 } },
  monitoring: { processorMetricsPort: 19764, sinkMetricsPort: 19780, supervisorMetricsPort: 19781, dashboardPort: 18388 },
};
const ownStack = process.env.BENCH_CWD === undefined;
const cwd = process.env.BENCH_CWD ?? OWN_HOME;
const dev = async (args: readonly string[]) => {
  const run = await execa(BIN, ['dev', ...args], { cwd, reject: false });
  if (run.exitCode !== 0) throw new Error(`dev ${args.join(' ')} in ${cwd} failed (exit ${run.exitCode}): ${String(run.stderr).slice(-2000)}`);
};
if (ownStack) {
  writeTestConfig(OWN_HOME, OWN_OVERRIDES);
  await dev(['down', '--purge']);
  await dev(['up']);
}
const { config } = loadConfig({ cwd });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// On a fresh stack the source tables do not exist until `load` creates and seeds them; the
// ingestion phase needs them.
const seed = await execa(BIN, ['load', '--rate', '10', '--duration', '1s'], { cwd, reject: false });
if (seed.exitCode !== 0) throw new Error(`load (seeding the source) failed: ${seed.stderr}`);
for (const phase of ['infrastructure', 'ingestion', 'processing', 'output']) {
  const run = await execa(BIN, ['phase', 'run', phase], { cwd, reject: false });
  if (run.exitCode !== 0) throw new Error(`phase ${phase} failed: ${run.stderr}`);
}
const admin = createKafkaAdmin(config.kafka, 'bench-e2e', { retries: 3 });
const routedTopic = streamTopics(config).ordersByCustomer;
const partitions = (await admin.describeTopics([routedTopic]))[0]?.partitions;
await admin.close();
if (!partitions) throw new Error(`topic ${routedTopic} not found after the processing phase`);

const load = execa(BIN, ['load', '--rate', String(rate), '--duration', `${warmup + seconds}s`, '--json'], { cwd, reject: false });
const loadStarted = Date.now();
const pool = createPostgresPool(config.source, 2, 'stream-migrate-latency-bench');
const ch = createClickHouse(config.clickhouse);
interface Probe {
  readonly id: number;
  readonly partition: number;
  readonly committedAt: number;
  latency?: number;
  /** When the probe's change was read from the CDC topic, and its processed row from the processor's output topic (committed). */
  cdcAt?: number;
  processedAt?: number;
}
const probes = new Map<number, Probe>();
let legsDone = false;
const pending = new Map<number, Probe>();
let failed = false;
try {
  // The load seeds customers and products on an empty source: wait for them.
  let customerIds: number[] = [];
  let productId: number | undefined;
  for (let waited = 0; waited < 60_000 && (customerIds.length === 0 || productId === undefined); waited += 500) {
    const customers = await pool.query<{ id: string }>('SELECT id FROM public.customers ORDER BY id LIMIT 1000').catch(() => ({ rows: [] }));
    const products = await pool.query<{ id: string }>('SELECT min(id) AS id FROM public.products').catch(() => ({ rows: [] }));
    customerIds = customers.rows.map((r) => Number(r.id));
    productId = products.rows[0]?.id ? Number(products.rows[0].id) : undefined;
    if (customerIds.length === 0 || productId === undefined) await sleep(500);
  }
  // One customer per partition of the second stage (customer id modulo the partition count).
  const byPartition: number[] = [];
  for (let p = 0; p < partitions; p++) {
    const c = customerIds.find((id) => id % partitions === p);
    if (c === undefined) throw new Error(`no customer among the first ${customerIds.length} falls on partition ${p} of ${partitions}`);
    byPartition.push(c);
  }

  await sleep(loadStarted + warmup * 1000 - Date.now());
  console.log(`warm-up: ${warmup} s of load before the first probe, not measured`);

  // Where the time goes: two readers follow the CDC topic and the processor's output topic
  // (read_committed) from their current end, so each probe also gets the moment it reached each.
  const topics = streamTopics(config);
  const follow = async (reader: PartitionReader, idOf: (key: Buffer) => number | undefined, mark: (probe: Probe, at: number) => void): Promise<void> => {
    await reader.readToEnd(() => undefined);
    while (!legsDone) {
      const records = await reader.poll({ maxWaitMs: 50 });
      const at = Date.now();
      for (const r of records) {
        const probe = r.key ? probes.get(idOf(r.key) ?? -1) : undefined;
        if (probe) mark(probe, at);
      }
    }
  };
  const cdcReader = createPartitionReader(config.kafka, { topic: topics.orders, clientSuffix: 'bench-e2e-cdc' });
  const outputReader = createPartitionReader(config.kafka, { topic: topics.processedOrders, clientSuffix: 'bench-e2e-output' });
  const legs = Promise.all([
    follow(cdcReader, (key) => Number(/"id"\s*:\s*(\d+)/.exec(key.toString('utf8'))?.[1]), (probe, at) => (probe.cdcAt ??= at)),
    follow(outputReader, (key) => decodeProcessedKey(key)?.orderId, (probe, at) => (probe.processedAt ??= at)),
  ]).finally(() => Promise.all([cdcReader.close(), outputReader.close()]));
  // Both readers are at the end before the first probe.
  await sleep(2_000);

  const stopAt = Date.now() + seconds * 1000;
  const inserting = (async () => {
    for (let n = 0; Date.now() < stopAt; n++) {
      const partition = n % partitions;
      const inserted = await pool.query<{ id: string }>(
        "INSERT INTO public.orders (customer_id, product_id, quantity, amount, status) VALUES ($1, $2, 1, 12.34, 'PLACED') RETURNING id",
        [byPartition[partition], productId],
      );
      const probe: Probe = { id: Number(inserted.rows[0]?.id), partition, committedAt: Date.now() };
      probes.set(probe.id, probe);
      pending.set(probe.id, probe);
      await sleep(PROBE_EVERY_MS);
    }
  })();
  let inserted = false;
  void inserting.then(() => (inserted = true));
  while (!inserted || (pending.size > 0 && Date.now() < stopAt + UNSEEN_AFTER_MS)) {
    if (pending.size > 0) {
      const seen = await ch.query<{ order_id: string }>(`SELECT order_id FROM ${config.clickhouse.database}.processed_orders WHERE order_id IN (${[...pending.keys()].join(',')})`);
      const now = Date.now();
      for (const { order_id } of seen) {
        const probe = pending.get(Number(order_id));
        if (!probe) continue;
        probe.latency = now - probe.committedAt;
        pending.delete(probe.id);
      }
    }
    await sleep(20);
  }
  await inserting;
  legsDone = true;
  await legs;
} finally {
  legsDone = true;
  await pool.end().catch(() => undefined);
  await ch.close();
}

const loaded = await load;
let achieved = NaN;
try {
  achieved = (JSON.parse(String(loaded.stdout)) as { achievedOrdersPerSecond: number }).achievedOrdersPerSecond;
} catch {
  console.log(`load failed (exit ${loaded.exitCode}): ${String(loaded.stderr).slice(-1000)}`);
}
console.log(`load achieved ${achieved} orders/s of ${rate} asked for ${warmup + seconds} s (${warmup} s warm-up)`);
if (!(achieved >= 0.95 * rate)) {
  console.log(`FAIL: the load ran below 95% of ${rate} orders/s, so this is not the latency at that rate`);
  failed = true;
}

const all = [...probes.values()];
// When in the run the slow probes were committed: a stall every probe waits through shows as one slow stretch.
const started = Math.min(...all.map((p) => p.committedAt));
const stretches = new Map<number, number[]>();
for (const p of all) {
  const at = Math.floor((p.committedAt - started) / 5_000) * 5;
  stretches.set(at, [...(stretches.get(at) ?? []), p.latency ?? Infinity]);
}
/** The q-th percentile (0-100) of some values; undefined for none. */
const percentile = (values: readonly number[], q: number): number | undefined => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((q / 100) * sorted.length))];
};
const leg = (name: string, of: (p: Probe) => number | undefined) => {
  const values = all.flatMap((p) => (of(p) === undefined ? [] : [of(p)!]));
  return `${name} p50 ${percentile(values, 50)} p99 ${percentile(values, 99)} (${values.length})`;
};
console.log(
  `legs ms: ${leg('commit -> CDC topic', (p) => (p.cdcAt === undefined ? undefined : p.cdcAt - p.committedAt))}; ` +
    `${leg('CDC -> processed topic', (p) => (p.cdcAt === undefined || p.processedAt === undefined ? undefined : p.processedAt - p.cdcAt))}; ` +
    `${leg('processed topic -> ClickHouse view', (p) => (p.processedAt === undefined || p.latency === undefined ? undefined : p.committedAt + p.latency - p.processedAt))}`,
);
console.log(`slowest probe per 5 s of the run: ${[...stretches].map(([at, list]) => `${at}s ${Math.max(...list)}`).join(', ')}`);
const unseen = all.filter((p) => p.latency === undefined || p.latency > UNSEEN_AFTER_MS);
const latencyOf = (p: Probe) => (p.latency === undefined || p.latency > UNSEEN_AFTER_MS ? Infinity : p.latency);
const pct = (list: readonly Probe[], q: number) => {
  const v = percentile(list.map(latencyOf), q);
  return v === undefined ? 'none' : v === Infinity ? `>${UNSEEN_AFTER_MS}` : String(v);
};
console.log(`${all.length} probes over ${partitions} partitions, ${all.length - unseen.length} seen, ${unseen.length} not seen within ${UNSEEN_AFTER_MS / 1000} s`);
for (const p of unseen) console.log(`  unseen: order ${p.id} (partition ${p.partition}), ${p.latency === undefined ? 'never seen' : `seen after ${p.latency} ms`}`);
if (unseen.length > 0 || all.length === 0) failed = true;
const perPartition = Array.from({ length: partitions }, (_, p) => all.filter((x) => x.partition === p));
console.log(`per partition p99 ms ${perPartition.map((list, p) => `${p}:${pct(list, 99)} (${list.length})`).join(' ')}`);
console.log(`e2e p50 ms ${pct(all, 50)}`);
console.log(`e2e p95 ms ${pct(all, 95)}`);
console.log(`e2e p99 ms ${pct(all, 99)}`);
if (ownStack) await dev(['down']).catch((error: unknown) => console.log(`could not stop the bench's stack: ${error instanceof Error ? error.message : String(error)}`));
process.exitCode = failed ? 1 : 0;
