/**
 * Dead letters as the processor writes them (src/stream/dead-letter.ts): the original key and
 * value, with `dlq.*` headers saying why, at which stage and where from. Pure: parsing,
 * classifying, filtering and planning a replay; the reading and writing is in service.ts.
 */
import { createHash } from 'node:crypto';
import type { ConsumedRecord } from '../clients/kafka.ts';
import type { StreamTopics } from '../stream/topics.ts';

export type ReasonClass = 'missing-customer' | 'missing-product' | 'invalid-json' | 'invalid-row' | 'invalid-reference' | 'undecodable' | 'other';

export type SourceTable = 'orders' | 'customers' | 'products';

export interface DeadLetter {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  /** When the processor dead-lettered it (`dlq.at`), ISO-8601; null when the header is missing. */
  readonly at: string | null;
  readonly stage: string;
  readonly reason: string;
  readonly reasonClass: ReasonClass;
  readonly source: { readonly topic: string | null; readonly partition: number | null; readonly offset: string | null };
  /** Which source table the record is a change of, from its source topic (null: unknown). */
  readonly table: SourceTable | null;
  readonly orderId: number | null;
  readonly customerId: number | null;
  readonly productId: number | null;
}

/** `topic/partition/offset`: a dead letter's identity, in the state store too. */
export function coordinates(d: Pick<DeadLetter, 'topic' | 'partition' | 'offset'>): string {
  return `${d.topic}/${d.partition}/${d.offset}`;
}

/** The reason's kind, for counting and for `--reason`. */
export function classifyReason(reason: string): ReasonClass {
  if (/^customer \d+ of order \d+ not found/.test(reason)) return 'missing-customer';
  if (/^product \d+ of order \d+ not found/.test(reason)) return 'missing-product';
  if (reason === 'not valid JSON' || reason === 'JSON is not an object' || reason.startsWith('key: ')) return 'invalid-json';
  if (/^unknown customer tier|^missing product category/.test(reason)) return 'invalid-reference';
  if (/^unknown order status|^missing required field|must be|^amount /.test(reason)) return 'invalid-row';
  if (/undecodable/.test(reason)) return 'undecodable';
  return 'other';
}

type Topics = Pick<StreamTopics, 'orders' | 'ordersByCustomer' | 'customers' | 'products'>;

/** One dead-letter record, with the order (and its customer and product) read from its key and value where they can be. */
export function parseDeadLetter(record: ConsumedRecord, topics: Topics): DeadLetter {
  const h = record.headers;
  const reason = h['dlq.reason'] ?? '(no reason recorded)';
  const sourceTopic = h['dlq.source.topic'] ?? null;
  const sourcePartition = h['dlq.source.partition'] !== undefined && /^\d+$/.test(h['dlq.source.partition']) ? Number(h['dlq.source.partition']) : null;
  const stage = h['dlq.stage'] ?? 'unknown';
  const table: SourceTable | null =
    sourceTopic === topics.orders || sourceTopic === topics.ordersByCustomer ? 'orders' : sourceTopic === topics.customers ? 'customers' : sourceTopic === topics.products ? 'products' : null;
  const ids = sourceTopic === topics.ordersByCustomer || (sourceTopic === null && stage === 'join') ? routedIds(record) : table === 'orders' || table === null ? cdcOrderIds(record) : noIds;
  return {
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    at: h['dlq.at'] ?? null,
    stage,
    reason,
    reasonClass: classifyReason(reason),
    source: { topic: sourceTopic, partition: sourcePartition, offset: h['dlq.source.offset'] ?? null },
    table,
    ...(table === 'orders' || table === null ? ids : noIds),
  };
}

interface Ids {
  readonly orderId: number | null;
  readonly customerId: number | null;
  readonly productId: number | null;
}

const noIds: Ids = { orderId: null, customerId: null, productId: null };

/** Repartition records: key `id`; value `u|id|customer|product|...` or `d|id|[customer|]ts`. */
function routedIds(record: ConsumedRecord): Ids {
  const fields = record.value?.toString('latin1').split('|') ?? [];
  const fromKey = integer(record.key?.toString('utf8'));
  if (fields[0] === 'u') return { orderId: integer(fields[1]) ?? fromKey, customerId: integer(fields[2]), productId: integer(fields[3]) };
  if (fields[0] === 'd') return { orderId: integer(fields[1]) ?? fromKey, customerId: fields.length === 4 ? integer(fields[2]) : null, productId: null };
  return { ...noIds, orderId: fromKey };
}

/** Debezium records: key `{"id":N}`, value the flat row (which may be what could not be decoded). */
function cdcOrderIds(record: ConsumedRecord): Ids {
  const key = jsonObject(record.key);
  const value = jsonObject(record.value);
  return {
    orderId: integer(key?.id) ?? integer(value?.id),
    customerId: integer(value?.customer_id),
    productId: integer(value?.product_id),
  };
}

function jsonObject(buffer: Buffer | null): Record<string, unknown> | undefined {
  if (buffer === null) return undefined;
  try {
    const parsed: unknown = JSON.parse(buffer.toString('utf8'));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function integer(value: unknown): number | null {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  if (typeof value === 'string' && /^-?\d{1,15}$/.test(value)) return Number(value);
  return null;
}

export interface DeadLetterFilter {
  /** A reason class (`missing-customer`) or text the reason contains, case-insensitive. */
  readonly reason?: string | undefined;
  /** Only dead letters written at or after this instant (ms). */
  readonly sinceMs?: number | undefined;
}

export function matchesFilter(d: DeadLetter, filter: DeadLetterFilter): boolean {
  if (filter.reason !== undefined) {
    const wanted = filter.reason.toLowerCase();
    if (d.reasonClass !== wanted && !d.reason.toLowerCase().includes(wanted)) return false;
  }
  if (filter.sinceMs !== undefined) {
    const at = d.at === null ? Number.NaN : Date.parse(d.at);
    if (!(at >= filter.sinceMs)) return false;
  }
  return true;
}

/** Dead letters per reason class, largest first. */
export function countByReason(list: readonly DeadLetter[]): readonly { readonly reason: ReasonClass; readonly count: number }[] {
  const counts = new Map<ReasonClass, number>();
  for (const d of list) counts.set(d.reasonClass, (counts.get(d.reasonClass) ?? 0) + 1);
  return [...counts].map(([reason, count]) => ({ reason, count })).sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
}

/** What the source holds now for an order a dead letter names. */
export interface OrderFacts {
  readonly customerId: number;
  readonly productId: number;
  readonly customerExists: boolean;
  readonly productExists: boolean;
}

export interface SkippedDeadLetter {
  readonly deadLetter: DeadLetter;
  readonly reason: string;
}

export interface ReplayPlan {
  /** Dead letters whose order is re-sent, each recorded as replayed. */
  readonly replay: readonly DeadLetter[];
  /** The distinct orders re-sent (several dead letters may name one). */
  readonly orderIds: readonly number[];
  readonly skipped: readonly SkippedDeadLetter[];
  readonly alreadyReplayed: readonly DeadLetter[];
}

/**
 * Which dead letters can be replayed now: those naming an order that still exists in the source,
 * whose customer and product exist there too, and that no earlier replay took. `facts` holds
 * the source's answer per order id (absent: the order is gone).
 */
export function planReplay(deadLetters: readonly DeadLetter[], replayed: ReadonlySet<string>, facts: ReadonlyMap<number, OrderFacts>): ReplayPlan {
  const replay: DeadLetter[] = [];
  const skipped: SkippedDeadLetter[] = [];
  const alreadyReplayed: DeadLetter[] = [];
  for (const d of deadLetters) {
    if (replayed.has(coordinates(d))) {
      alreadyReplayed.push(d);
      continue;
    }
    const skip = (reason: string) => skipped.push({ deadLetter: d, reason });
    if (d.table === 'customers' || d.table === 'products') {
      skip(`a ${d.table.slice(0, -1)} record, not an order: fix the row at the source and its next change is streamed`);
      continue;
    }
    if (d.orderId === null) {
      skip('names no order (its key and value cannot be read)');
      continue;
    }
    const order = facts.get(d.orderId);
    if (!order) skip(`order ${d.orderId} no longer exists in the source`);
    else if (!order.customerExists) skip(`customer ${order.customerId} of order ${d.orderId} still missing in the source`);
    else if (!order.productExists) skip(`product ${order.productId} of order ${d.orderId} still missing in the source`);
    else replay.push(d);
  }
  const orderIds = [...new Set(replay.map((d) => d.orderId!))].sort((a, b) => a - b);
  return { replay, orderIds, skipped, alreadyReplayed };
}

/**
 * The signal id of a replay: derived from exactly the dead letters it replays, so a replay retried
 * after a crash between sending the signal and recording it finds its signal already sent.
 */
export function replaySignalId(replay: readonly DeadLetter[]): string {
  const hash = createHash('sha256');
  for (const key of replay.map(coordinates).sort()) hash.update(`${key}\n`);
  return `dlq-replay-${hash.digest('hex').slice(0, 32)}`;
}
