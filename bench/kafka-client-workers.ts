/**
 * The shared parts of bench/kafka-client.ts and bench/kafka-client-sigkill.ts: the CDC-order
 * workload, topic setup, and the same transactional consume→transform→produce loop written once
 * per client. kafkajs is imported here only to compare it; the product uses src/clients/kafka.ts.
 */
import kafkajs from 'kafkajs';
import { loadConfig } from '../src/config/load.ts';
import {
  createConsumer,
  createKafkaAdmin,
  createProducer,
  createTransactionalProducer,
  type KafkaSettings,
  type OutgoingRecord,
} from '../src/clients/kafka.ts';

export type ClientName = 'kafkajs' | 'platformatic';
export const CLIENTS: readonly ClientName[] = ['kafkajs', 'platformatic'];
export const PARTITIONS = 6;
/** Records per transaction: kafkajs hands over one fetched partition batch (~1 MB ≈ 2 400 records); platformatic polls the same. */
export const TRANSACTION_RECORDS = 2_500;

export function kafkaSettings(): KafkaSettings {
  return loadConfig({ cwd: process.cwd() }).config.kafka;
}

export function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

export function parseClient(value: string | undefined): ClientName | undefined {
  if (value === undefined) return undefined;
  if (value === 'kafkajs' || value === 'platformatic') return value;
  throw new Error(`--client must be kafkajs or platformatic, not ${value}`);
}

const STATUSES = ['PLACED', 'PAID', 'SHIPPED', 'CANCELLED'] as const;

/** One orders row as Debezium's flattened CDC value would carry it (~400 bytes of JSON). */
export function orderRecord(id: number): string {
  const created = new Date(Date.UTC(2026, 10, 25, 0, 0, 0) + id * 997);
  const cents = 1_000 + ((id * 7_919) % 2_500_000);
  return JSON.stringify({
    id,
    customer_id: 1 + ((id * 31) % 50_000),
    product_id: 1 + ((id * 17) % 5_000),
    quantity: 1 + (id % 9),
    amount: `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`,
    status: STATUSES[id % STATUSES.length],
    created_at: created.toISOString(),
    updated_at: new Date(created.getTime() + 60_000).toISOString(),
    __source_ts_ms: created.getTime() + 61_000,
    __op: 'c',
    __table: 'orders',
    __lsn: 23_000_000 + id * 128,
    note: 'x'.repeat(96),
  });
}

/** The small per-record work of the benchmark: parse, compute a discounted amount in integer cents, serialise. */
export function transform(value: Buffer): string {
  const order: unknown = JSON.parse(value.toString('utf8'));
  if (typeof order !== 'object' || order === null) throw new Error('not an order');
  const amount = Reflect.get(order, 'amount');
  const id = Reflect.get(order, 'id');
  if (typeof amount !== 'string' || typeof id !== 'number') throw new Error('order without id or amount');
  const [units = '0', fraction = '0'] = amount.split('.');
  const cents = BigInt(units) * 100n + BigInt(fraction.padEnd(2, '0').slice(0, 2));
  const discount = (cents * 5n + 50n) / 100n;
  const final = cents - discount;
  return JSON.stringify({ order_id: id, amount, discount: `${discount / 100n}.${String(discount % 100n).padStart(2, '0')}`, final_amount: `${final / 100n}.${String(final % 100n).padStart(2, '0')}` });
}

export interface BenchTopics {
  readonly input: string;
  readonly output: string;
}

export function uniqueTopics(tag: string): BenchTopics {
  const base = `kc-bench-${tag}-${Math.random().toString(36).slice(2, 8)}`;
  return { input: `${base}-in`, output: `${base}-out` };
}

/** Creates input and output topics and pre-produces `records` orders, keyed by id, across the input's partitions. */
export async function prepare(kafka: KafkaSettings, topics: BenchTopics, records: number): Promise<void> {
  const admin = createKafkaAdmin(kafka, 'bench-admin', { retries: 3 });
  try {
    await admin.createTopics([
      { name: topics.input, partitions: PARTITIONS, replicationFactor: 1 },
      { name: topics.output, partitions: PARTITIONS, replicationFactor: 1 },
    ]);
  } finally {
    await admin.close();
  }
  const producer = createProducer(kafka, 'bench-loader');
  try {
    const chunk = 5_000;
    for (let from = 0; from < records; from += chunk) {
      const batch: OutgoingRecord[] = [];
      for (let id = from; id < Math.min(records, from + chunk); id++) batch.push({ topic: topics.input, key: String(id), value: orderRecord(id) });
      await producer.send(batch);
    }
  } finally {
    await producer.close();
  }
}

export async function cleanup(kafka: KafkaSettings, topics: BenchTopics): Promise<void> {
  const admin = createKafkaAdmin(kafka, 'bench-admin', { retries: 3 });
  try {
    await admin.deleteTopics([topics.input, topics.output]);
  } finally {
    await admin.close();
  }
}

export interface WorkerOptions {
  readonly topics: BenchTopics;
  readonly groupId: string;
  readonly transactionalId: string;
  /** Called after each committed transaction with its record count. */
  readonly onCommit: (records: number) => void;
  /** Checked after each transaction; the loop ends when it returns true. */
  readonly done: () => boolean;
  /** Called once the transactional id is registered (previous incarnation fenced, its transaction aborted). */
  readonly onInit?: () => void;
}

/** The transactional loop on kafkajs: one transaction per fetched partition batch (its eachBatch model). */
export async function runKafkajsWorker(kafka: KafkaSettings, options: WorkerOptions): Promise<void> {
  const client = new kafkajs.Kafka({ clientId: `${kafka.clientId}-bench-kafkajs`, brokers: [...kafka.brokers], logLevel: kafkajs.logLevel.ERROR });
  const producer = client.producer({ transactionalId: options.transactionalId, idempotent: true, maxInFlightRequests: 1, transactionTimeout: 60_000 });
  await producer.connect();
  // The first transaction() sends InitProducerId, which fences a previous incarnation and aborts its open transaction.
  await (await producer.transaction()).abort();
  options.onInit?.();
  const consumer = client.consumer({ groupId: options.groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000, readUncommitted: false, maxWaitTimeInMs: 500 });
  await consumer.connect();
  await consumer.subscribe({ topic: options.topics.input, fromBeginning: true });
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  // eachBatch only runs when records arrive; this ends an idle worker too.
  const idleCheck = setInterval(() => options.done() && finish(), 200);
  let failure: unknown;
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
      const last = batch.messages.at(-1);
      if (!last || options.done()) return;
      const tx = await producer.transaction();
      try {
        await tx.send({
          topic: options.topics.output,
          messages: batch.messages.map((m) => ({ key: m.key, value: m.value === null ? null : transform(m.value) })),
        });
        await tx.sendOffsets({
          consumerGroupId: options.groupId,
          topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: String(BigInt(last.offset) + 1n) }] }],
        });
        await tx.commit();
      } catch (error) {
        await tx.abort().catch(() => undefined);
        failure = error;
        finish();
        throw error;
      }
      resolveOffset(last.offset);
      options.onCommit(batch.messages.length);
      await heartbeat();
      if (options.done()) finish();
    },
  });
  await finished;
  clearInterval(idleCheck);
  await consumer.disconnect();
  await producer.disconnect();
  if (failure !== undefined) throw failure;
}

/** The same loop on @platformatic/kafka, through the product's adapter. */
export async function runPlatformaticWorker(kafka: KafkaSettings, options: WorkerOptions): Promise<void> {
  const producer = createTransactionalProducer(kafka, { transactionalId: options.transactionalId, clientSuffix: 'bench-tx' });
  // Fence the previous incarnation (and abort its open transaction) before reading committed offsets.
  await producer.init();
  options.onInit?.();
  const consumer = createConsumer(kafka, {
    groupId: options.groupId,
    topics: [options.topics.input],
    groupInstanceId: `${options.groupId}-0`,
    clientSuffix: 'bench-consumer',
  });
  try {
    while (!options.done()) {
      const batch = await consumer.poll({ maxRecords: TRANSACTION_RECORDS, maxWaitMs: 100 });
      const group = batch.group;
      if (batch.records.length === 0 || group === null) continue;
      await producer.runTransaction(async (tx) => {
        await tx.send(batch.records.map((r) => ({ topic: options.topics.output, key: r.key, value: r.value === null ? null : transform(r.value) })));
        await tx.sendOffsets(group, batch.nextOffsets);
      });
      options.onCommit(batch.records.length);
    }
  } finally {
    await consumer.close();
    await producer.close();
  }
}

export function runWorker(client: ClientName, kafka: KafkaSettings, options: WorkerOptions): Promise<void> {
  return client === 'kafkajs' ? runKafkajsWorker(kafka, options) : runPlatformaticWorker(kafka, options);
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : Math.round((sorted[mid - 1]! + sorted[mid]!) / 2);
}
