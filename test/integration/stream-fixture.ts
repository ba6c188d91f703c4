import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { createKafkaAdmin, createPartitionReader, createProducer, type KafkaAdmin, type KafkaProducer } from '../../src/clients/kafka.ts';
import { loadConfig } from '../../src/config/load.ts';
import { formatMoney } from '../../src/domain/money.ts';
import { fraudAlertFor, processOrder, type CustomerRow, type ProductRow, type SourceOrder } from '../../src/domain/process-order.ts';
import { compileRules, type CompiledRules, type Tier } from '../../src/domain/rules.ts';
import { PatternAccumulators } from '../../src/batch-legacy/transform.ts';
import { windowStartFor } from '../../src/domain/windows.ts';
import { alertKey, processedKey, summaryKey } from '../../src/stream/records.ts';
import { streamTopics, type StreamTopics } from '../../src/stream/topics.ts';
import { BIN } from './cli.ts';
import { writeTestConfig } from './test-env.ts';

/**
 * An isolated stream pipeline for one test: its own CDC, output and internal topics (a unique
 * prefix), its own consumer group, a working directory whose configuration points there, and a
 * model of the source tables from which the expected outputs are computed independently.
 */
export class StreamFixture {
  readonly cwd: string;
  readonly topics: StreamTopics;
  readonly admin: KafkaAdmin;
  private readonly rules: CompiledRules;
  private readonly producer: KafkaProducer;
  readonly customers = new Map<number, CustomerRow>();
  readonly products = new Map<number, ProductRow>();
  readonly orders = new Map<number, SourceOrder>();
  /** Changes produced per order id, to bound the output records an order may have. */
  readonly changesPerOrder = new Map<number, number>();
  private readonly workers = new Map<string, ResultPromise>();
  private sourceTs = Date.now();
  readonly id: string;
  readonly partitions;

  /** `extra`: more configuration for this fixture's working directory (its `processor` keys join the fixture's own). */
  constructor(id: string, partitions = 3, extra: Readonly<Record<string, unknown>> & { readonly processor?: Readonly<Record<string, unknown>> } = {}) {
    this.id = id;
    this.partitions = partitions;
    this.cwd = fs.mkdtempSync(path.join(os.tmpdir(), `sm-${id}-`));
    writeTestConfig(this.cwd, {
      connector: { topicPrefix: id },
      ...extra,
      processor: { topicPrefix: `${id}-`, groupId: `${id}-processor`, commitInterval: '100ms', missingReferenceWait: '3s', ...extra.processor },
    });
    const { config } = loadConfig({ cwd: this.cwd });
    // The rules the workers run with (fraud patterns included), so the expectation is computed alike.
    this.rules = compileRules(config.rules);
    this.topics = streamTopics(config);
    this.admin = createKafkaAdmin(config.kafka, `${id}-admin`, { retries: 3 });
    this.producer = createProducer(config.kafka, `${id}-source`);
  }

  async createTopics(): Promise<void> {
    const compact = { 'cleanup.policy': 'compact' };
    const t = this.topics;
    await this.admin.createTopics([
      { name: t.orders, partitions: this.partitions, replicationFactor: 1, configs: compact },
      { name: t.customers, partitions: 1, replicationFactor: 1, configs: compact },
      { name: t.products, partitions: 1, replicationFactor: 1, configs: compact },
      { name: t.ordersByCustomer, partitions: this.partitions, replicationFactor: 1 },
      { name: t.ordersByProduct, partitions: this.partitions, replicationFactor: 1, configs: compact },
      { name: t.changelog, partitions: this.partitions, replicationFactor: 1, configs: compact },
      { name: t.processedOrders, partitions: this.partitions, replicationFactor: 1, configs: compact },
      { name: t.orderSummaries, partitions: this.partitions, replicationFactor: 1, configs: compact },
      { name: t.fraudAlerts, partitions: this.partitions, replicationFactor: 1, configs: compact },
      { name: t.deadLetter, partitions: 1, replicationFactor: 1 },
    ]);
  }

  async cleanup(): Promise<void> {
    for (const name of [...this.workers.keys()]) await this.stopWorker(name, 'SIGKILL');
    const t = this.topics;
    await this.admin.deleteTopics([t.orders, t.customers, t.products, t.ordersByCustomer, t.ordersByProduct, t.changelog, t.processedOrders, t.orderSummaries, t.fraudAlerts, t.deadLetter]);
    await this.producer.close();
    await this.admin.close();
  }

  /** Debezium's shape after ExtractNewRecordState: flat row, decimals as strings, ISO UTC times. */
  async upsertCustomer(id: number, tier: Tier): Promise<void> {
    this.customers.set(id, { id, tier });
    await this.producer.send([{ topic: this.topics.customers, key: JSON.stringify({ id }), value: JSON.stringify({ id, name: `c${id}`, tier, __op: 'u', __source_ts_ms: this.tick() }) }]);
  }

  async upsertProduct(id: number, category: string): Promise<void> {
    this.products.set(id, { id, category });
    await this.producer.send([{ topic: this.topics.products, key: JSON.stringify({ id }), value: JSON.stringify({ id, name: `p${id}`, category, price: '10.00', __op: 'u', __source_ts_ms: this.tick() }) }]);
  }

  async upsertOrders(orders: readonly SourceOrder[]): Promise<void> {
    const records = orders.map((o) => {
      this.orders.set(o.id, o);
      this.changesPerOrder.set(o.id, (this.changesPerOrder.get(o.id) ?? 0) + 1);
      const row = {
        id: o.id,
        customer_id: o.customerId,
        product_id: o.productId,
        quantity: o.quantity,
        amount: formatMoney(o.amountCents),
        status: o.status,
        created_at: new Date(o.createdAt).toISOString(),
        updated_at: new Date().toISOString(),
        __op: 'u',
        __source_ts_ms: this.tick(),
        __deleted: 'false',
      };
      return { topic: this.topics.orders, key: JSON.stringify({ id: o.id }), value: JSON.stringify(row), partition: o.id % this.partitions };
    });
    await this.producer.send(records);
  }

  async deleteOrder(id: number): Promise<void> {
    this.orders.delete(id);
    this.changesPerOrder.set(id, (this.changesPerOrder.get(id) ?? 0) + 1);
    const key = JSON.stringify({ id });
    await this.producer.send([
      { topic: this.topics.orders, key, value: JSON.stringify({ id, __op: 'd', __deleted: 'true', __source_ts_ms: this.tick() }), partition: id % this.partitions },
      { topic: this.topics.orders, key, value: null, partition: id % this.partitions },
    ]);
  }

  async sendRaw(topic: string, key: string | null, value: string | null, partition = 0): Promise<void> {
    await this.producer.send([{ topic, key, value, partition }]);
  }

  startWorker(instance: string): void {
    const child = execa(BIN, ['processor', 'run', '--instance', instance, '--metrics-port', '0'], {
      cwd: this.cwd,
      reject: false,
      all: true,
      env: { ...process.env },
    });
    child.all?.on('data', (chunk: Buffer) => {
      if (process.env.SM_TEST_VERBOSE) process.stderr.write(`[${instance}] ${chunk.toString()}`);
    });
    this.workers.set(instance, child);
  }

  async stopWorker(instance: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<{ exitCode: number | undefined; output: string }> {
    const child = this.workers.get(instance);
    if (!child) return { exitCode: undefined, output: '' };
    this.workers.delete(instance);
    child.kill(signal);
    const result = await child;
    return { exitCode: result.exitCode, output: String(result.all ?? '') };
  }

  /** The latest committed value of every key of a topic (tombstones remove the key). */
  async latest(topic: string): Promise<Map<string, string>> {
    const { config } = loadConfig({ cwd: this.cwd });
    const reader = createPartitionReader(config.kafka, { topic, clientSuffix: `${this.id}-check` });
    const latest = new Map<string, string>();
    try {
      await reader.readToEnd((records) => {
        for (const r of records) {
          const key = r.key?.toString('utf8') ?? '';
          if (r.value === null) latest.delete(key);
          else latest.set(key, r.value.toString('utf8'));
        }
      });
    } finally {
      await reader.close();
    }
    return latest;
  }

  /** Every committed record of a topic, in partition order (for counting versions per key). */
  async all(topic: string): Promise<{ key: string; value: string | null; headers: Record<string, string> }[]> {
    const { config } = loadConfig({ cwd: this.cwd });
    const reader = createPartitionReader(config.kafka, { topic, clientSuffix: `${this.id}-all` });
    const all: { key: string; value: string | null; headers: Record<string, string> }[] = [];
    try {
      await reader.readToEnd((records) => {
        for (const r of records) all.push({ key: r.key?.toString('utf8') ?? '', value: r.value?.toString('utf8') ?? null, headers: r.headers });
      });
    } finally {
      await reader.close();
    }
    return all;
  }

  /** What the outputs must be, computed from the final source rows with the domain rules. */
  expected(): { processed: Map<string, Record<string, unknown>>; summaries: Map<string, Record<string, unknown>>; alerts: Map<string, Record<string, unknown>> } {
    const processed = new Map<string, Record<string, unknown>>();
    const alerts = new Map<string, Record<string, unknown>>();
    const sums = new Map<string, { customerId: number; windowStart: number; count: number; amount: number; final: number }>();
    const rules = this.rules;
    // The batch's pattern evaluation, fed in event-time order as the batch extracts.
    const patterns = new PatternAccumulators(rules.patterns);
    for (const order of [...this.orders.values()].sort((a, b) => a.createdAt - b.createdAt)) {
      const customer = this.customers.get(order.customerId);
      const product = this.products.get(order.productId);
      if (!customer || !product) continue;
      const row = processOrder(order, customer, product, rules);
      if (!row) continue;
      processed.set(processedKey(order.id, order.customerId), {
        customer_tier: row.customerTier,
        product_category: row.productCategory,
        amount: formatMoney(row.amountCents),
        discount: formatMoney(row.discountCents),
        tax: formatMoney(row.taxCents),
        final_amount: formatMoney(row.finalCents),
        status: row.status,
      });
      const alert = fraudAlertFor(row, rules);
      if (alert) alerts.set(processedKey(order.id, order.customerId), { severity: alert.severity, final_amount: formatMoney(alert.finalCents), matched_order_ids: '' });
      patterns.add(row);
      const windowStart = windowStartFor(row.createdAt, rules.windowMinutes);
      const key = summaryKey(order.customerId, windowStart);
      const acc = sums.get(key) ?? { customerId: order.customerId, windowStart, count: 0, amount: 0, final: 0 };
      acc.count++;
      acc.amount += row.amountCents;
      acc.final += row.finalCents;
      sums.set(key, acc);
    }
    for (const a of patterns.takeAll()) alerts.set(alertKey(a.orderId, a.customerId, a.pattern), { severity: a.severity, final_amount: formatMoney(a.finalCents), matched_order_ids: a.matchedOrderIds });
    const summaries = new Map<string, Record<string, unknown>>();
    for (const [key, s] of sums) summaries.set(key, { order_count: s.count, total_amount: formatMoney(s.amount), total_final_amount: formatMoney(s.final) });
    return { processed, summaries, alerts };
  }

  /** The committed outputs projected onto the fields `expected()` computes. */
  async actual(): Promise<ReturnType<StreamFixture['expected']>> {
    const pick = (json: string, fields: readonly string[]) => {
      const v = JSON.parse(json) as Record<string, unknown>;
      return Object.fromEntries(fields.map((f) => [f, v[f]]));
    };
    const project = async (topic: string, fields: readonly string[]) =>
      new Map([...(await this.latest(topic))].map(([k, v]) => [k, pick(v, fields)] as const));
    return {
      processed: await project(this.topics.processedOrders, ['customer_tier', 'product_category', 'amount', 'discount', 'tax', 'final_amount', 'status']),
      summaries: await project(this.topics.orderSummaries, ['order_count', 'total_amount', 'total_final_amount']),
      alerts: await project(this.topics.fraudAlerts, ['severity', 'final_amount', 'matched_order_ids']),
    };
  }

  /** Waits until the committed outputs equal the expectation, or returns the last difference. */
  async converge(timeoutMs = 60_000): Promise<string | undefined> {
    const deadline = Date.now() + timeoutMs;
    let difference: string | undefined = 'not checked';
    while (Date.now() < deadline) {
      difference = diff(this.expected(), await this.actual());
      if (!difference) return undefined;
      await new Promise((r) => setTimeout(r, 500));
    }
    return difference;
  }

  private tick(): number {
    this.sourceTs = Math.max(this.sourceTs + 1, Date.now());
    return this.sourceTs;
  }
}

function diff(expected: ReturnType<StreamFixture['expected']>, actual: ReturnType<StreamFixture['expected']>): string | undefined {
  for (const name of ['processed', 'summaries', 'alerts'] as const) {
    const e = expected[name];
    const a = actual[name];
    for (const [key, value] of e) {
      const got = a.get(key);
      if (!got) return `${name}: missing ${key} (expected ${JSON.stringify(value)}); ${a.size}/${e.size} keys present`;
      if (JSON.stringify(got) !== JSON.stringify(value)) return `${name}: ${key} is ${JSON.stringify(got)}, expected ${JSON.stringify(value)}`;
    }
    for (const key of a.keys()) if (!e.has(key)) return `${name}: unexpected ${key} = ${JSON.stringify(a.get(key))}`;
  }
  return undefined;
}
