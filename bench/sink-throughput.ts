// The ClickHouse sink's catch-up rate: 500 000 processed-orders records (500 000 distinct keys,
// 6 partitions) are produced to a throwaway topic first, then one sink with the default batching
// (10 000 rows / 200 ms) runs until ClickHouse has acknowledged every row. A throwaway database
// and consumer group keep the shared ones untouched. Prints the sink's rows/s last (group join
// included).
import { createClickHouse } from '../src/clients/clickhouse.ts';
import { createKafkaAdmin, createProducer, type OutgoingRecord } from '../src/clients/kafka.ts';
import { loadConfig } from '../src/config/load.ts';
import { createLogger } from '../src/core/logger.ts';
import { Metrics } from '../src/core/metrics.ts';
import { Redactor } from '../src/core/redactor.ts';
import { migrateClickHouse } from '../src/output/clickhouse-migrations.ts';
import { runSink } from '../src/output/sink.ts';
import { processedKey } from '../src/stream/records.ts';

const RECORDS = 500_000;
const PARTITIONS = 6;
const { config } = loadConfig({ cwd: process.cwd() });
const id = `${process.pid}-${Date.now().toString(36)}`;
const topics = { processedOrders: `bench-sink-po-${id}`, orderSummaries: `bench-sink-os-${id}`, fraudAlerts: `bench-sink-fa-${id}` };
const deadLetterTopic = `bench-sink-dlq-${id}`;
const database = `bench_sink_${id.replace(/-/g, '_')}`;
const admin = createKafkaAdmin(config.kafka, 'bench-sink-admin', { retries: 3 });
const ch = createClickHouse(config.clickhouse, 'default');

function record(orderId: number): OutgoingRecord {
  const customerId = 1 + (orderId % 5_000);
  const cents = 1_000 + ((orderId * 7_919) % 1_000_000);
  const amount = `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
  return {
    topic: topics.processedOrders,
    key: processedKey(orderId, customerId),
    partition: customerId % PARTITIONS,
    value: JSON.stringify({
      order_id: orderId,
      customer_id: customerId,
      customer_tier: 'SILVER',
      product_id: 1 + (orderId % 200),
      product_category: 'electronics',
      quantity: 1 + (orderId % 4),
      amount,
      discount: '0.00',
      tax: '0.00',
      final_amount: amount,
      status: 'PAID',
      created_at: new Date(Date.UTC(2026, 10, 25) + orderId * 10).toISOString(),
      processed_at: new Date().toISOString(),
      source_ts_ms: Date.now(),
    }),
  };
}

try {
  await admin.createTopics([
    ...Object.values(topics).map((name) => ({ name, partitions: PARTITIONS, replicationFactor: 1 })),
    { name: deadLetterTopic, partitions: 1, replicationFactor: 1 },
  ]);
  await migrateClickHouse(ch, database);

  const fillStarted = performance.now();
  const producer = createProducer(config.kafka, 'bench-sink-fill');
  try {
    // One send at a time (the library's idempotent producer answers concurrent sends with
    // OUT_OF_ORDER_SEQUENCE_NUMBER), small enough to stay under the broker's 1 MB message limit.
    const chunk = 2_000;
    for (let start = 1; start <= RECORDS; start += chunk) {
      const records: OutgoingRecord[] = [];
      for (let orderId = start; orderId < start + chunk && orderId <= RECORDS; orderId++) records.push(record(orderId));
      await producer.send(records);
    }
  } finally {
    await producer.close();
  }
  console.log(`filled ${RECORDS} records in ${((performance.now() - fillStarted) / 1000).toFixed(1)} s`);

  const metrics = new Metrics();
  const controller = new AbortController();
  const logger = createLogger({ level: 'warn', json: false, redactor: new Redactor() });
  const started = performance.now();
  const running = runSink({ config, logger, metrics, instanceId: `bench-${id}`, signal: controller.signal, topics, deadLetterTopic, database, groupId: `bench-sink-${id}` });
  let firstRowAt: number | undefined;
  while (metrics.value('stream_migrate_sink_rows_written_total', { table: 'processed_orders' }) < RECORDS) {
    if (firstRowAt === undefined && metrics.value('stream_migrate_sink_rows_written_total', { table: 'processed_orders' }) > 0) firstRowAt = performance.now();
    const failed = await Promise.race([running.then(() => true, () => true), new Promise<false>((r) => setTimeout(() => r(false), 50))]);
    if (failed) throw new Error('the sink stopped before catching up');
  }
  const elapsed = (performance.now() - started) / 1000;
  controller.abort();
  const summary = await running;
  const [view] = await ch.query<{ live: string }>(`SELECT count() AS live FROM ${database}.processed_orders`);
  console.log(`caught up in ${elapsed.toFixed(1)} s (${summary.batches} batches, first rows after ${(((firstRowAt ?? started) - started) / 1000).toFixed(1)} s); view answers ${view?.live} live orders`);
  console.log(`sink rows/s ${Math.round(RECORDS / elapsed)}`);
} finally {
  await admin.deleteTopics([...Object.values(topics), deadLetterTopic]).catch(() => undefined);
  await ch.command(`DROP DATABASE IF EXISTS ${database}`).catch(() => undefined);
  await admin.close();
  await ch.close();
}
