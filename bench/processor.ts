/**
 * Processor throughput: 1 000 000 pre-produced CDC-shaped order records (~5% updates, ~2%
 * cancellations, a few hundred tier changes) through one worker, exactly-once on.
 * The default rules.patterns (fraud patterns over time) are evaluated; `--no-patterns` runs the
 * same workload without them, to state what they cost.
 * Prints the worker's peak RSS and, last, `processor records/s N`.
 *
 *   npx tsx bench/processor.ts [--records 1000000] [--no-patterns]
 */
import fs from 'node:fs';
import { execa } from 'execa';
import { createKafkaAdmin, createProducer, type OutgoingRecord } from '../src/clients/kafka.ts';
import { formatMoney } from '../src/domain/money.ts';
import { TIERS } from '../src/domain/rules.ts';
import { StreamFixture } from '../test/integration/stream-fixture.ts';
import { BIN_ENTRY } from '../test/integration/cli.ts';

const total = Number(process.argv[process.argv.indexOf('--records') + 1] || 1_000_000) || 1_000_000;
const partitions = 6;
const customers = 10_000;
const products = 200;

const withPatterns = !process.argv.includes('--no-patterns');
const fixture = new StreamFixture(`bench${Date.now().toString(36)}`, partitions, withPatterns ? {} : { rules: { patterns: [] } });
await fixture.createTopics();
const { config } = await import('../src/config/load.ts').then((m) => m.loadConfig({ cwd: fixture.cwd }));
const producer = createProducer(config.kafka, 'bench-producer');
const admin = createKafkaAdmin(config.kafka, 'bench-admin', { retries: 3 });

try {
  const customerRecords: OutgoingRecord[] = [];
  for (let c = 1; c <= customers; c++) {
    customerRecords.push({ topic: fixture.topics.customers, key: `{"id":${c}}`, value: JSON.stringify({ id: c, name: `customer ${c}`, tier: TIERS[c % 5], created_at: '2026-11-01T00:00:00Z', updated_at: '2026-11-01T00:00:00Z', __op: 'r', __source_ts_ms: Date.now() }) });
  }
  await producer.send(customerRecords);
  const productRecords: OutgoingRecord[] = [];
  for (let p = 1; p <= products; p++) {
    productRecords.push({ topic: fixture.topics.products, key: `{"id":${p}}`, value: JSON.stringify({ id: p, name: `product ${p}`, category: ['books', 'electronics', 'groceries', 'garden'][p % 4], price: '19.99', updated_at: '2026-11-01T00:00:00Z', __op: 'r', __source_ts_ms: Date.now() }) });
  }
  await producer.send(productRecords);

  // Realistic record size: the flat Debezium row with its metadata fields (~330 bytes).
  const started = Date.now();
  const t0 = Date.UTC(2026, 10, 25, 0, 0, 0);
  let produced = 0;
  let orderId = 0;
  let batch: OutgoingRecord[] = [];
  const flush = async () => {
    if (batch.length > 0) await producer.send(batch);
    batch = [];
  };
  while (produced < total) {
    const roll = produced % 100;
    let id: number;
    let status = 'PLACED';
    if (roll < 5 && orderId > 100) {
      id = orderId - 50;
      status = 'PAID';
    } else if (roll < 7 && orderId > 100) {
      id = orderId - 80;
      status = 'CANCELLED';
    } else {
      id = ++orderId;
    }
    const row = {
      id,
      customer_id: 1 + (id % customers),
      product_id: 1 + (id % products),
      quantity: 1 + (id % 5),
      amount: formatMoney(1_000 + ((id * 7919) % 500_000)),
      status,
      created_at: new Date(t0 + id * 60).toISOString(),
      updated_at: new Date(t0 + id * 60 + 1000).toISOString(),
      __op: status === 'PLACED' ? 'c' : 'u',
      __source_ts_ms: Date.now(),
      __lsn: 1_000_000 + produced,
      __deleted: 'false',
    };
    batch.push({ topic: fixture.topics.orders, key: `{"id":${id}}`, value: JSON.stringify(row), partition: id % partitions });
    produced++;
    if (produced % 3_000 === 0) {
      // A few hundred tier changes spread through the stream.
      const c = 1 + (produced % customers);
      batch.push({ topic: fixture.topics.customers, key: `{"id":${c}}`, value: JSON.stringify({ id: c, name: `customer ${c}`, tier: TIERS[(c + produced) % 5], __op: 'u', __source_ts_ms: Date.now() }) });
    }
    if (batch.length >= 5_000) await flush();
  }
  await flush();
  console.log(`produced ${total} order records in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  const workerStarted = Date.now();
  // BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the worker.
  // The heap cap the supervisor gives every worker.
  const nodeArgs = ['--max-old-space-size=768', ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean)];
  const worker = execa(process.execPath, [...nodeArgs, BIN_ENTRY, 'processor', 'run', '--instance', 'bench', '--metrics-port', '0'], { cwd: fixture.cwd, reject: false });
  let peakRss = 0;
  const sampler = setInterval(() => {
    try {
      const status = fs.readFileSync(`/proc/${worker.pid}/status`, 'utf8');
      const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
      peakRss = Math.max(peakRss, hwm);
    } catch {
      // The worker may not have started yet.
    }
  }, 250);
  // Done when the group has consumed both stages to the end.
  for (;;) {
    await new Promise((r) => setTimeout(r, 1_000));
    const lags = await admin.groupLag(config.processor.groupId).catch(() => []);
    const orders = lags.filter((l) => l.topic === fixture.topics.orders);
    const routed = lags.filter((l) => l.topic === fixture.topics.ordersByCustomer);
    // A transactional topic ends with a commit marker the consumer never returns: lag 1 there is "caught up".
    const lag = orders.reduce((n, l) => n + l.lag, 0n) + routed.reduce((n, l) => n + (l.lag > 1n ? l.lag : 0n), 0n);
    if (orders.length === partitions && routed.length === partitions && lag === 0n) break;
    if (process.env.BENCH_VERBOSE) console.log(`lag ${lag}`);
  }
  const seconds = (Date.now() - workerStarted) / 1000;
  clearInterval(sampler);
  worker.kill('SIGTERM');
  await worker;
  const alerts = await fixture.latest(fixture.topics.fraudAlerts);
  const patternAlerts = [...alerts.keys()].filter((k) => k.includes('"pattern"')).length;
  console.log(`fraud patterns ${withPatterns ? config.rules.patterns.map((p) => p.name).join(', ') : 'off'}: ${patternAlerts} live pattern alerts, ${alerts.size - patternAlerts} threshold alerts`);
  console.log(`worker peak RSS ${(peakRss / 1024 / 1024).toFixed(0)} MiB`);
  console.log(`processed ${total} records in ${seconds.toFixed(1)} s (including start-up and restore)`);
  console.log(`processor records/s ${Math.round(total / seconds)}`);
} finally {
  await producer.close();
  await admin.close();
  await fixture.cleanup();
}
