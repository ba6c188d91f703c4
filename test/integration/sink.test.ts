import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouse, type ClickHouse } from '../../src/clients/clickhouse.ts';
import {
  createConsumer,
  createKafkaAdmin,
  createProducer,
  createTransactionalProducer,
  type ConsumedRecord,
  type KafkaAdmin,
  type KafkaProducer,
  type OutgoingRecord,
} from '../../src/clients/kafka.ts';
import type { Config } from '../../src/config/schema.ts';
import { createLogger } from '../../src/core/logger.ts';
import { Metrics } from '../../src/core/metrics.ts';
import { Redactor } from '../../src/core/redactor.ts';
import { migrateClickHouse, readClickHouseMigrations } from '../../src/output/clickhouse-migrations.ts';
import { duplicateKeysSql } from '../../src/output/clickhouse-sql.ts';
import { runSink, type SinkOptions, type SinkSummary } from '../../src/output/sink.ts';
import type { OutputTable, SinkTopics } from '../../src/output/sink-rows.ts';
import { processedKey, summaryKey } from '../../src/stream/records.ts';
import { jsonOf, runCli } from './cli.ts';
import { testConfig, writeTestConfig } from './test-env.ts';

const { config: baseConfig } = testConfig();
const config: Config = { ...baseConfig, sink: { ...baseConfig.sink, batchWait: '100ms', retryMax: '1s' } };
const PARTITIONS = 3;
const suffix = (): string => `${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

interface Scenario {
  readonly topics: SinkTopics;
  readonly deadLetterTopic: string;
  readonly database: string;
  readonly groupId: string;
}

/** Unique topics, dead-letter topic, consumer group and ClickHouse database (migrated) for one test. */
async function scenario(admin: KafkaAdmin, cleanup: Scenario[]): Promise<Scenario> {
  const id = suffix();
  const s: Scenario = {
    topics: { processedOrders: `it-sink-po-${id}`, orderSummaries: `it-sink-os-${id}`, fraudAlerts: `it-sink-fa-${id}` },
    deadLetterTopic: `it-sink-dlq-${id}`,
    database: `it_sink_${id.replace(/-/g, '_')}`,
    groupId: `it-sink-${id}`,
  };
  cleanup.push(s);
  await admin.createTopics([
    ...Object.values(s.topics).map((name) => ({ name, partitions: PARTITIONS, replicationFactor: 1, configs: { 'cleanup.policy': 'compact' } })),
    { name: s.deadLetterTopic, partitions: 1, replicationFactor: 1 },
  ]);
  const ch = createClickHouse(config.clickhouse, 'default');
  try {
    await migrateClickHouse(ch, s.database);
  } finally {
    await ch.close();
  }
  return s;
}

/** A processed-orders value in the wire format of src/stream/records.ts. */
function processedValue(orderId: number, customerId: number, amount: string, finalAmount: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    order_id: orderId,
    customer_id: customerId,
    customer_tier: 'GOLD',
    product_id: 5,
    product_category: 'books',
    quantity: 1,
    amount,
    discount: '0.00',
    tax: '0.00',
    final_amount: finalAmount,
    status: 'PAID',
    created_at: '2026-11-25T12:01:02.345Z',
    processed_at: '2026-11-25T12:01:03.999Z',
    source_ts_ms: Date.now() - 1_000,
    ...extra,
  });
}

/** Records go to partition customer % PARTITIONS, as the processor routes them: one partition per key. */
const po = (s: Scenario, orderId: number, customerId: number, value: string | null): OutgoingRecord => ({
  topic: s.topics.processedOrders,
  key: processedKey(orderId, customerId),
  value,
  partition: customerId % PARTITIONS,
});

interface Running {
  readonly done: Promise<SinkSummary>;
  readonly metrics: Metrics;
  readonly logs: string[];
  stop(): Promise<SinkSummary>;
}

function startSink(s: Scenario, overrides: Partial<SinkOptions> = {}): Running {
  const controller = new AbortController();
  const metrics = new Metrics();
  const logs: string[] = [];
  const logger = createLogger({ level: 'info', json: false, redactor: new Redactor(), write: (line) => logs.push(line) });
  const done = runSink({
    config,
    logger,
    metrics,
    instanceId: `it-${suffix()}`,
    signal: controller.signal,
    topics: s.topics,
    deadLetterTopic: s.deadLetterTopic,
    database: s.database,
    groupId: s.groupId,
    initialRetryDelayMs: 50,
    ...overrides,
  });
  done.catch(() => undefined);
  return {
    done,
    metrics,
    logs,
    stop: async () => {
      controller.abort();
      return done;
    },
  };
}

async function until<T>(what: string, probe: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await probe();
  while (!accept(last)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 200));
    last = await probe();
  }
  return last;
}

const rowsWritten = (metrics: Metrics, table: OutputTable): number => metrics.value('stream_migrate_sink_rows_written_total', { table });

describe('the ClickHouse sink against the local stack', () => {
  let admin: KafkaAdmin;
  let producer: KafkaProducer;
  let ch: ClickHouse;
  const cleanup: Scenario[] = [];

  beforeAll(() => {
    admin = createKafkaAdmin(config.kafka, 'it-sink-admin', { retries: 3 });
    producer = createProducer(config.kafka, 'it-sink-producer');
    ch = createClickHouse(config.clickhouse, 'default');
  });
  afterAll(async () => {
    for (const s of cleanup) {
      await admin.deleteTopics([...Object.values(s.topics), s.deadLetterTopic].filter((t) => t !== '')).catch(() => undefined);
      await ch.command(`DROP DATABASE IF EXISTS ${s.database}`).catch(() => undefined);
    }
    await producer.close();
    await admin.close();
    await ch.close();
  });

  const processedRows = (s: Scenario) =>
    ch.query<{ order_id: string; customer_id: string; amount: string; final_amount: string; quantity: number; created_at: string }>(
      `SELECT order_id, customer_id, toString(amount) AS amount, toString(final_amount) AS final_amount, quantity, toString(created_at) AS created_at FROM ${s.database}.processed_orders ORDER BY order_id, customer_id`,
    );

  it('answers each live key once, at its latest version, with retracted and moved keys absent and cents exact', async () => {
    const s = await scenario(admin, cleanup);
    const windowA = Date.parse('2026-11-25T12:00:00Z');
    const windowB = Date.parse('2026-11-25T12:05:00Z');
    const summary = (customerId: number, start: number, count: number, total: string) =>
      JSON.stringify({
        customer_id: customerId,
        window_start: new Date(start).toISOString(),
        window_end: new Date(start + 300_000).toISOString(),
        order_count: count,
        total_amount: total,
        total_final_amount: total,
        updated_at: new Date().toISOString(),
      });
    const alert = (orderId: number, customerId: number, severity: string) =>
      JSON.stringify({ order_id: orderId, customer_id: customerId, final_amount: '10000.01', severity, reason: 'final above 10000.00', created_at: '2026-11-25T12:01:02.345Z', alerted_at: '2026-11-25T12:01:04.000Z' });

    await producer.send([
      // Order 1: inserted, then updated (same key twice).
      po(s, 1, 10, processedValue(1, 10, '100.10', '100.10')),
      // Order 2: inserted, then retracted.
      po(s, 2, 11, processedValue(2, 11, '20.00', '20.00')),
      // Order 3 moves from customer 10 (partition 1) to customer 12 (partition 0).
      po(s, 3, 10, processedValue(3, 10, '30.00', '30.00')),
      // Beyond what a double holds exactly: Decimal(18,2)'s largest value.
      po(s, 4, 13, processedValue(4, 13, '9999999999999999.99', '0.01')),
    ]);
    await producer.send([
      po(s, 1, 10, processedValue(1, 10, '100.10', '90.09', { quantity: 3 })),
      po(s, 2, 11, null),
      po(s, 3, 10, null),
      po(s, 3, 12, processedValue(3, 12, '30.00', '27.00')),
      { topic: s.topics.orderSummaries, key: summaryKey(10, windowA), value: summary(10, windowA, 1, '100.10'), partition: 1 },
      { topic: s.topics.orderSummaries, key: summaryKey(10, windowA), value: summary(10, windowA, 2, '130.10'), partition: 1 },
      { topic: s.topics.orderSummaries, key: summaryKey(11, windowB), value: summary(11, windowB, 1, '20.00'), partition: 2 },
      { topic: s.topics.orderSummaries, key: summaryKey(11, windowB), value: null, partition: 2 },
      { topic: s.topics.fraudAlerts, key: processedKey(1, 10), value: alert(1, 10, 'HIGH'), partition: 1 },
      { topic: s.topics.fraudAlerts, key: processedKey(2, 11), value: alert(2, 11, 'MEDIUM'), partition: 2 },
      { topic: s.topics.fraudAlerts, key: processedKey(2, 11), value: null, partition: 2 },
    ]);
    // An aborted transaction: a read_committed sink never sees it.
    const tx = createTransactionalProducer(config.kafka, { transactionalId: `it-sink-tx-${suffix()}` });
    try {
      await tx.init();
      await tx.begin();
      await tx.send([po(s, 99, 10, processedValue(99, 10, '1.00', '1.00')), po(s, 1, 10, processedValue(1, 10, '666.66', '666.66'))]);
      await tx.abort();
    } finally {
      await tx.close();
    }
    await producer.send([{ topic: s.topics.processedOrders, key: processedKey(5, 13), value: processedValue(5, 13, '5.55', '5.55'), partition: 1 }]);

    const sink = startSink(s);
    await until('the last processed order', () => processedRows(s), (rows) => rows.some((r) => r.order_id === '5'));
    await until('all tables written', async () => sink.metrics, (m) => rowsWritten(m, 'order_summaries') >= 1 && rowsWritten(m, 'fraud_alerts') >= 1);
    const summaryAtStop = await sink.stop();
    expect(summaryAtStop.deadLettered).toBe(0);

    expect(await processedRows(s)).toEqual([
      { order_id: '1', customer_id: '10', amount: '100.10', final_amount: '90.09', quantity: 3, created_at: '2026-11-25 12:01:02' },
      { order_id: '3', customer_id: '12', amount: '30.00', final_amount: '27.00', quantity: 1, created_at: '2026-11-25 12:01:02' },
      { order_id: '4', customer_id: '13', amount: '9999999999999999.99', final_amount: '0.01', quantity: 1, created_at: '2026-11-25 12:01:02' },
      { order_id: '5', customer_id: '13', amount: '5.55', final_amount: '5.55', quantity: 1, created_at: '2026-11-25 12:01:02' },
    ]);
    expect(
      await ch.query(`SELECT customer_id, toString(window_start) AS ws, toString(window_end) AS we, order_count, toString(total_amount) AS total FROM ${s.database}.order_summaries ORDER BY customer_id`),
    ).toEqual([{ customer_id: '10', ws: '2026-11-25 12:00:00', we: '2026-11-25 12:05:00', order_count: '2', total: '130.10' }]);
    expect(await ch.query(`SELECT order_id, customer_id, severity FROM ${s.database}.fraud_alerts`)).toEqual([{ order_id: '1', customer_id: '10', severity: 'HIGH' }]);
    for (const table of ['processed_orders', 'order_summaries', 'fraud_alerts'] as const) expect(await ch.query(duplicateKeysSql(s.database, table))).toEqual([]);
    // Storage keeps the tombstones the views hide.
    expect(await ch.query(`SELECT order_id, customer_id FROM ${s.database}.processed_orders_versions FINAL WHERE is_deleted = 1 ORDER BY order_id`)).toEqual([
      { order_id: '2', customer_id: '11' },
      { order_id: '3', customer_id: '10' },
    ]);
  });

  it('replays a batch written but not committed (a crash) without changing what the views answer', async () => {
    const s = await scenario(admin, cleanup);
    const records: OutgoingRecord[] = [];
    for (let round = 0; round < 3; round++) {
      for (let order = 1; order <= 40; order++) records.push(po(s, order, 100 + (order % 7), processedValue(order, 100 + (order % 7), `${order}.0${round}`, `${order}.0${round}`)));
    }
    for (let order = 1; order <= 40; order += 5) records.push(po(s, order, 100 + (order % 7), null));
    await producer.send(records);

    let crashes = 0;
    const crashing = startSink(s, {
      beforeCommit: () => {
        crashes++;
        throw new Error('simulated crash between the ClickHouse acknowledgement and the offset commit');
      },
    });
    await expect(crashing.done).rejects.toThrow(/simulated crash/);
    expect(crashes).toBe(1);
    const writtenBeforeCrash = rowsWritten(crashing.metrics, 'processed_orders');
    expect(writtenBeforeCrash).toBeGreaterThan(0);
    expect(await admin.groupLag(s.groupId)).toEqual([]);

    const expected = Array.from({ length: 40 }, (_, i) => i + 1)
      .filter((order) => (order - 1) % 5 !== 0)
      .map((order) => ({ order_id: String(order), amount: `${order}.02` }));
    const sink = startSink(s);
    const view = () => ch.query<{ order_id: string; amount: string }>(`SELECT order_id, toString(amount) AS amount FROM ${s.database}.processed_orders ORDER BY order_id`);
    await until('the latest versions', view, (rows) => JSON.stringify(rows.sort((a, b) => Number(a.order_id) - Number(b.order_id))) === JSON.stringify(expected));
    await until('the commit', () => admin.groupLag(s.groupId), (lags) => lags.length > 0 && lags.every((l) => l.lag === 0n));
    const second = await sink.stop();
    // Nothing had been committed: the second run read everything again, the crashed batch included.
    expect(second.records).toBe(records.length);
    expect(await ch.query(duplicateKeysSql(s.database, 'processed_orders'))).toEqual([]);
    const [counts] = await ch.query<{ live: string; versions: string }>(`SELECT (SELECT count() FROM ${s.database}.processed_orders) AS live, (SELECT uniqExact(order_id, customer_id) FROM ${s.database}.processed_orders_versions) AS versions`);
    expect(counts).toEqual({ live: '32', versions: '40' });
  });

  it('dead-letters records that cannot be rows or that ClickHouse refuses, with the reason, and writes the rest', async () => {
    const s = await scenario(admin, cleanup);
    const good = Array.from({ length: 30 }, (_, i) => po(s, i + 1, 200 + (i % 3), processedValue(i + 1, 200 + (i % 3), '10.00', '10.00')));
    const overflow = po(s, 101, 200, processedValue(101, 200, '12345678901234567.00', '1.00'));
    const farFuture = po(s, 102, 201, processedValue(102, 201, '1.00', '1.00', { created_at: '2200-01-01T00:00:00.000Z' }));
    const garbage = po(s, 103, 202, '{not json');
    // Passes the sink's checks but not ClickHouse's parser (a lone surrogate escape): found by bisection.
    const refused = po(s, 104, 200, processedValue(104, 200, '1.00', '1.00').replace('"GOLD"', '"\\ud800"'));
    await producer.send([...good.slice(0, 10), overflow, ...good.slice(10, 20), farFuture, garbage, refused, ...good.slice(20)]);

    const sink = startSink(s);
    await until('the good rows', () => processedRows(s), (rows) => rows.length >= 30);
    const summary = await until('four dead letters', async () => sink.metrics, (m) => m.value('stream_migrate_sink_dead_letters_total', { reason: 'invalid' }) + m.value('stream_migrate_sink_dead_letters_total', { reason: 'rejected' }) >= 4).then(() => sink.stop());
    expect(summary.deadLettered).toBe(4);
    expect(sink.metrics.value('stream_migrate_sink_dead_letters_total', { reason: 'rejected' })).toBe(1);
    expect((await processedRows(s)).map((r) => Number(r.order_id))).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));

    const reader = createConsumer(config.kafka, { groupId: `it-sink-dlq-reader-${suffix()}`, topics: [s.deadLetterTopic] });
    const dead: ConsumedRecord[] = [];
    try {
      const deadline = Date.now() + 30_000;
      while (dead.length < 4 && Date.now() < deadline) dead.push(...(await reader.poll({ maxWaitMs: 200 })).records);
    } finally {
      await reader.close();
    }
    const byKey = new Map(dead.map((d) => [d.key?.toString(), d]));
    expect(dead).toHaveLength(4);
    expect(byKey.get(processedKey(101, 200))?.headers['dlq.reason']).toMatch(/final_amount|amount 12345678901234567.00 is out of range for Decimal\(18,2\)/);
    expect(byKey.get(processedKey(102, 201))?.headers['dlq.reason']).toMatch(/created_at 2200-01-01T00:00:00.000Z is out of range for ClickHouse DateTime/);
    expect(byKey.get(processedKey(103, 202))?.headers['dlq.reason']).toMatch(/value is not JSON/);
    expect(byKey.get(processedKey(104, 200))?.headers['dlq.reason']).toMatch(/ClickHouse rejected the row: .*surrogate/);
    const refusedDead = byKey.get(processedKey(104, 200))!;
    expect(refusedDead.value?.toString()).toContain('\\ud800');
    expect(refusedDead.headers).toMatchObject({ 'dlq.stage': 'sink', 'dlq.source.topic': s.topics.processedOrders, 'dlq.source.partition': '2' });
    expect(Number(refusedDead.headers['dlq.source.offset'])).toBeGreaterThanOrEqual(0);
  });

  it('waits out an unreachable ClickHouse with backoff, shows it, loses nothing and catches up', async () => {
    const s = await scenario(admin, cleanup);
    // A proxy in front of the real ClickHouse that can drop every connection: the sink sees the
    // network fail while the shared server keeps running for everyone else.
    let reachable = false;
    const target = new URL(config.clickhouse.url);
    const proxy = net.createServer((client) => {
      if (!reachable) return void client.destroy();
      const upstream = net.connect(Number(target.port), target.hostname);
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const port = (proxy.address() as net.AddressInfo).port;
    try {
      const records = Array.from({ length: 200 }, (_, i) => po(s, i + 1, 300 + (i % 5), processedValue(i + 1, 300 + (i % 5), '1.25', '1.25')));
      await producer.send(records.slice(0, 100));
      const sink = startSink(s, { clickhouse: { ...config.clickhouse, url: `http://127.0.0.1:${port}` } });
      await until('retries', async () => sink.metrics, (m) => m.value('stream_migrate_sink_clickhouse_retries_total') >= 3, 30_000);
      expect(sink.metrics.value('stream_migrate_sink_clickhouse_up')).toBe(0);
      expect(sink.logs.some((l) => /writing \d+ processed_orders rows failed: ClickHouse at http:\/\/127\.0\.0\.1:\d+ is unreachable.*retry \d+ in \d+ ms/.test(l))).toBe(true);
      expect(sink.metrics.render()).toMatch(/^stream_migrate_sink_clickhouse_up 0$/m);
      // More records arrive during the outage.
      await producer.send(records.slice(100));
      await new Promise((r) => setTimeout(r, 1_500));
      expect(await processedRows(s)).toEqual([]);
      expect(await admin.groupLag(s.groupId)).toEqual([]);

      reachable = true;
      await until('catching up', () => processedRows(s), (rows) => rows.length === 200);
      await until('the commit', () => admin.groupLag(s.groupId), (lags) => lags.length > 0 && lags.every((l) => l.lag === 0n));
      const summary = await sink.stop();
      expect(sink.metrics.value('stream_migrate_sink_clickhouse_up')).toBe(1);
      expect(summary.deadLettered).toBe(0);
      expect(summary.clickhouseRetries).toBeGreaterThanOrEqual(3);
      expect(sink.logs.some((l) => /ClickHouse accepted the batch again after \d+ s; catching up/.test(l))).toBe(true);
      expect(await ch.query(duplicateKeysSql(s.database, 'processed_orders'))).toEqual([]);
    } finally {
      proxy.close();
    }
  });

  it('gives up a failing batch on stop without committing it', async () => {
    const s = await scenario(admin, cleanup);
    await producer.send([po(s, 1, 1, processedValue(1, 1, '1.00', '1.00'))]);
    const sink = startSink(s, { clickhouse: { ...config.clickhouse, url: 'http://127.0.0.1:9' } });
    await until('a retry', async () => sink.metrics, (m) => m.value('stream_migrate_sink_clickhouse_retries_total') >= 1, 30_000);
    const started = Date.now();
    const summary = await sink.stop();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(summary.batches).toBe(0);
    expect(await admin.groupLag(s.groupId)).toEqual([]);
  });

  it('applies the migrations once however many appliers race, and `sink migrate` reports it', async () => {
    const database = `it_sink_mig_${suffix().replace(/-/g, '_')}`;
    cleanup.push({ topics: { processedOrders: '', orderSummaries: '', fraudAlerts: '' }, deadLetterTopic: '', database, groupId: '' });
    const clients = Array.from({ length: 4 }, () => createClickHouse(config.clickhouse, 'default'));
    try {
      const results = await Promise.all(clients.map((c) => migrateClickHouse(c, database)));
      expect(new Set(results.flatMap((r) => r.applied)).size).toBe(readClickHouseMigrations().length);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
    expect(await ch.query(`SELECT name FROM system.tables WHERE database = '${database}' ORDER BY name`)).toEqual(
      ['fraud_alerts', 'fraud_alerts_versions', 'order_summaries', 'order_summaries_versions', 'processed_orders', 'processed_orders_versions', 'schema_migrations'].map((name) => ({ name })),
    );

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'it-sink-'));
    writeTestConfig(dir, { clickhouse: { database } });
    const again = await runCli(['sink', 'migrate', '--json'], { cwd: dir });
    expect(again.exitCode).toBe(0);
    expect(jsonOf(again)).toEqual({ database, applied: [], alreadyApplied: readClickHouseMigrations().length });

    const fresh = `${database}_cli`;
    cleanup.push({ topics: { processedOrders: '', orderSummaries: '', fraudAlerts: '' }, deadLetterTopic: '', database: fresh, groupId: '' });
    writeTestConfig(dir, { clickhouse: { database: fresh } });
    const first = await runCli(['sink', 'migrate'], { cwd: dir });
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toMatch(new RegExp(`ClickHouse ${fresh}: applied 0001_processed_orders_versions.sql, .*${readClickHouseMigrations().at(-1)!.name}; 0 already applied`));

    writeTestConfig(dir, { clickhouse: { url: 'http://127.0.0.1:9', database: fresh } });
    const unreachable = await runCli(['sink', 'migrate'], { cwd: dir });
    expect(unreachable.exitCode).toBe(3);
    expect(unreachable.stderr).toMatch(/^error: ClickHouse at http:\/\/127\.0\.0\.1:9 is unreachable: .*stream-migrate dev up/m);
  });
});
