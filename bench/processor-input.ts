/**
 * The processor benches' input and their own check of the result (bench/processor.ts,
 * bench/restart.ts). The input is deterministic: order rows are a function of the order id, only
 * the status changes, so the model kept while producing is small (final status per order, final
 * tier per customer). The expected outputs are computed here with this file's own arithmetic from
 * the default rules written in DESIGN.md, not with src/domain: a bench that checked the processor
 * with the processor's own functions would agree with any bug they have.
 */
import { createPartitionReader, type KafkaProducer, type OutgoingRecord } from '../src/clients/kafka.ts';
import type { Config } from '../src/config/schema.ts';
import type { StreamTopics } from '../src/stream/topics.ts';

export const PARTITIONS = 6;
const CUSTOMERS = 10_000;
const PRODUCTS = 200;
const CATEGORIES = ['books', 'electronics', 'groceries', 'garden'] as const;
const TIER_NAMES = ['NEW', 'BRONZE', 'SILVER', 'GOLD', 'PLATINUM'] as const;
type TierName = (typeof TIER_NAMES)[number];

// DESIGN.md "Default business rules", in millionths.
const DISCOUNT: Record<TierName, number> = { NEW: 0, BRONZE: 20_000, SILVER: 50_000, GOLD: 100_000, PLATINUM: 150_000 };
const TAX: Record<string, number> = { books: 0, electronics: 100_000, groceries: 50_000 };
const DEFAULT_TAX = 80_000;
const WINDOW_MS = 5 * 60_000;

const T0 = Date.UTC(2026, 10, 25, 0, 0, 0);
const amountCents = (id: number) => 1_000 + ((id * 7919) % 500_000);
const customerOf = (id: number) => 1 + (id % CUSTOMERS);
const productOf = (id: number) => 1 + (id % PRODUCTS);
const categoryOf = (product: number) => CATEGORIES[product % 4] ?? 'garden';
const createdAtOf = (id: number) => T0 + id * 60;
const cents = (c: number) => `${Math.trunc(c / 100)}.${String(c % 100).padStart(2, '0')}`;

/** What was produced: the last status of every order and the last tier of every customer. */
export interface ProducedInput {
  readonly orderRecords: number;
  readonly tierChanges: number;
  readonly status: Map<number, string>;
  readonly tier: Map<number, TierName>;
}

/**
 * Produces the customers and products, then `total` order changes (~93% new orders, ~5% updates
 * to PAID, ~2% cancellations, and a tier change every 3 000 records), ~330-byte rows shaped like
 * Debezium's flat output.
 */
export async function produceInput(producer: KafkaProducer, topics: StreamTopics, total: number): Promise<ProducedInput> {
  const tier = new Map<number, TierName>();
  const status = new Map<number, string>();
  const customerRecords: OutgoingRecord[] = [];
  for (let c = 1; c <= CUSTOMERS; c++) {
    const t = TIER_NAMES[c % 5] ?? 'NEW';
    tier.set(c, t);
    customerRecords.push({ topic: topics.customers, key: `{"id":${c}}`, value: JSON.stringify({ id: c, name: `customer ${c}`, tier: t, created_at: '2026-11-01T00:00:00Z', updated_at: '2026-11-01T00:00:00Z', __op: 'r', __source_ts_ms: Date.now() }) });
  }
  await producer.send(customerRecords);
  const productRecords: OutgoingRecord[] = [];
  for (let p = 1; p <= PRODUCTS; p++) {
    productRecords.push({ topic: topics.products, key: `{"id":${p}}`, value: JSON.stringify({ id: p, name: `product ${p}`, category: categoryOf(p), price: '19.99', updated_at: '2026-11-01T00:00:00Z', __op: 'r', __source_ts_ms: Date.now() }) });
  }
  await producer.send(productRecords);

  let produced = 0;
  let tierChanges = 0;
  let orderId = 0;
  let batch: OutgoingRecord[] = [];
  while (produced < total) {
    const roll = produced % 100;
    let id: number;
    let state = 'PLACED';
    if (roll < 5 && orderId > 100) {
      id = orderId - 50;
      state = 'PAID';
    } else if (roll < 7 && orderId > 100) {
      id = orderId - 80;
      state = 'CANCELLED';
    } else {
      id = ++orderId;
    }
    status.set(id, state);
    const row = {
      id,
      customer_id: customerOf(id),
      product_id: productOf(id),
      quantity: 1 + (id % 5),
      amount: cents(amountCents(id)),
      status: state,
      created_at: new Date(createdAtOf(id)).toISOString(),
      updated_at: new Date(createdAtOf(id) + 1000).toISOString(),
      __op: state === 'PLACED' ? 'c' : 'u',
      __source_ts_ms: Date.now(),
      __lsn: 1_000_000 + produced,
      __deleted: 'false',
    };
    batch.push({ topic: topics.orders, key: `{"id":${id}}`, value: JSON.stringify(row), partition: id % PARTITIONS });
    produced++;
    if (produced % 3_000 === 0) {
      // A few hundred tier changes spread through the stream.
      const c = 1 + (produced % CUSTOMERS);
      // Always a different tier than the customer has (the previous input's formula never changed one).
      const current = TIER_NAMES.indexOf(tier.get(c) ?? 'NEW');
      const t = TIER_NAMES[(current + 1 + ((produced / 3_000) % 4)) % 5] ?? 'NEW';
      tierChanges++;
      tier.set(c, t);
      batch.push({ topic: topics.customers, key: `{"id":${c}}`, value: JSON.stringify({ id: c, name: `customer ${c}`, tier: t, __op: 'u', __source_ts_ms: Date.now() }) });
    }
    if (batch.length >= 5_000) {
      await producer.send(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await producer.send(batch);
  return { orderRecords: total, tierChanges, status, tier };
}

/** Half-even rounding of cents × rate (millionths): all operands are non-negative here. */
function applyMillionths(amount: number, rate: number): number {
  const n = amount * rate;
  const q = Math.floor(n / 1_000_000);
  const r = n - q * 1_000_000;
  if (r * 2 > 1_000_000) return q + 1;
  if (r * 2 === 1_000_000) return q % 2 === 0 ? q : q + 1;
  return q;
}

interface Expected {
  /** order id → "tier|category|amount|discount|tax|final|status" */
  readonly processed: Map<number, string>;
  /** "customer|windowStartMs" → "count|amount|final" */
  readonly summaries: Map<string, string>;
  /** order id → "severity|final" of its threshold alert (the pattern alerts are not modelled) */
  readonly alerts: Map<number, string>;
}

/** The final outputs the input must produce: live (not CANCELLED) orders priced with the final tiers. */
export function expectedOutputs(input: ProducedInput): Expected {
  const processed = new Map<number, string>();
  const alerts = new Map<number, string>();
  const sums = new Map<string, [number, number, number]>();
  for (const [id, state] of input.status) {
    if (state === 'CANCELLED') continue;
    const customer = customerOf(id);
    const tier = input.tier.get(customer) ?? 'NEW';
    const category = categoryOf(productOf(id));
    const amount = amountCents(id);
    const discount = applyMillionths(amount, DISCOUNT[tier]);
    const tax = applyMillionths(amount - discount, TAX[category] ?? DEFAULT_TAX);
    const final = amount - discount + tax;
    processed.set(id, [tier, category, cents(amount), cents(discount), cents(tax), cents(final), state].join('|'));
    // DESIGN.md: HIGH above 10 000.00 final; MEDIUM for tier NEW above 1 000.00 final.
    if (final > 1_000_000) alerts.set(id, `HIGH|${cents(final)}`);
    else if (tier === 'NEW' && final > 100_000) alerts.set(id, `MEDIUM|${cents(final)}`);
    const window = Math.floor(createdAtOf(id) / WINDOW_MS) * WINDOW_MS;
    const key = `${customer}|${window}`;
    const acc = sums.get(key) ?? [0, 0, 0];
    acc[0] += 1;
    acc[1] += amount;
    acc[2] += final;
    sums.set(key, acc);
  }
  const summaries = new Map<string, string>();
  for (const [key, [count, amount, final]] of sums) summaries.set(key, `${count}|${cents(amount)}|${cents(final)}`);
  return { processed, summaries, alerts };
}

/** The latest committed value of every key of a topic, projected by `project` (tombstones remove the key; undefined: left out). */
async function latest<K>(config: Config, topic: string, project: (key: string, value: Record<string, unknown>) => [K, string] | undefined): Promise<Map<K, string>> {
  const reader = createPartitionReader(config.kafka, { topic, clientSuffix: 'bench-check', maxBytesPerFetch: 1024 * 1024 });
  const out = new Map<K, string>();
  try {
    await reader.readToEnd((records) => {
      for (const r of records) {
        const key = r.key?.toString('utf8') ?? '';
        const k = JSON.parse(key) as Record<string, unknown>;
        if (r.value === null) {
          const gone = project(key, k);
          if (gone) out.delete(gone[0]);
          continue;
        }
        const v = JSON.parse(r.value.toString('utf8')) as Record<string, unknown>;
        const projected = project(key, { ...k, ...v });
        if (projected) out.set(projected[0], projected[1]);
      }
    });
  } finally {
    await reader.close();
  }
  return out;
}

async function countRecords(config: Config, topic: string): Promise<number> {
  const reader = createPartitionReader(config.kafka, { topic, clientSuffix: 'bench-dlq' });
  try {
    return await reader.readToEnd(() => undefined);
  } finally {
    await reader.close();
  }
}

/**
 * Compares the committed outputs with `expectedOutputs` and counts dead letters; returns the
 * differences (at most a few examples each), empty when the result is right.
 */
export async function checkOutputs(config: Config, topics: StreamTopics, input: ProducedInput): Promise<{ problems: string[]; summary: string }> {
  const expected = expectedOutputs(input);
  const problems: string[] = [];
  const deadLetters = await countRecords(config, topics.deadLetter);
  if (deadLetters !== 0) problems.push(`${deadLetters} dead letters in ${topics.deadLetter} (expected 0)`);
  const str = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : JSON.stringify(v));

  const processed = await latest(config, topics.processedOrders, (_key, v) => [
    Number(v.order_id),
    [v.customer_tier, v.product_category, v.amount, v.discount, v.tax, v.final_amount, v.status].map(str).join('|'),
  ]);
  const summaries = await latest(config, topics.orderSummaries, (_key, v) => [
    `${str(v.customer_id)}|${Date.parse(str(v.window_start))}`,
    [v.order_count, v.total_amount, v.total_final_amount].map(str).join('|'),
  ]);
  // Keys of pattern alerts carry the pattern's name; the rest are threshold alerts.
  const alerts = await latest(config, topics.fraudAlerts, (key, v) => (key.includes('"pattern"') ? undefined : [Number(v.order_id), [v.severity, v.final_amount].map(str).join('|')]));
  compare('processed orders', expected.processed, processed, problems);
  compare('summaries', expected.summaries, summaries, problems);
  compare('threshold alerts', expected.alerts, alerts, problems);
  return {
    problems,
    summary: `${processed.size} live processed orders (expected ${expected.processed.size}), ${summaries.size} summaries (expected ${expected.summaries.size}), ${alerts.size} threshold alerts (expected ${expected.alerts.size}), ${deadLetters} dead letters`,
  };
}

function compare<K>(what: string, expected: Map<K, string>, actual: Map<K, string>, problems: string[]): void {
  let missing = 0;
  let wrong = 0;
  let extra = 0;
  const examples: string[] = [];
  for (const [key, value] of expected) {
    const got = actual.get(key);
    if (got === undefined) missing++;
    else if (got !== value) wrong++;
    else continue;
    if (examples.length < 3) examples.push(`${String(key)}: got ${got ?? 'nothing'}, expected ${value}`);
  }
  for (const key of actual.keys()) {
    if (expected.has(key)) continue;
    extra++;
    if (examples.length < 3) examples.push(`${String(key)}: got ${actual.get(key) ?? ''}, expected nothing`);
  }
  if (missing + wrong + extra > 0) problems.push(`${what}: ${missing} missing, ${wrong} different, ${extra} unexpected (e.g. ${examples.join('; ')})`);
}
