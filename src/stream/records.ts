import { formatMoney, parseMoney } from '../domain/money.ts';
import type { FraudAlert, ProcessedOrder, SourceOrder } from '../domain/process-order.ts';
import { orderStatusOf, tierOf } from '../domain/rules.ts';
import { windowEndFor } from '../domain/windows.ts';
import { channelOfOrderId } from '../sources/order-input.ts';
import { isoTime } from './iso-time.ts';
import type { ContributionKey } from './fan-in-state.ts';
import type { Emission } from './order-state.ts';

/**
 * The wire format of the processor's topics. Output keys name the storage row exactly
 * (order and customer; customer and window), so a tombstone deletes exactly one row and each
 * key is written by one partition only: a sink can use the Kafka offset as the row's version.
 */

export interface EncodedRecord {
  readonly key: string;
  readonly value: string | null;
}

export function processedKey(orderId: number, customerId: number): string {
  return `{"order_id":${orderId},"customer_id":${customerId}}`;
}

/**
 * A fraud alert's key: a threshold alert's (pattern '') is byte-for-byte the key it had before
 * patterns existed, so compaction still replaces its earlier versions and tombstones; a pattern
 * alert's names its pattern too (the sink reads an absent pattern as '').
 */
export function alertKey(orderId: number, customerId: number, pattern: string): string {
  return pattern === '' ? processedKey(orderId, customerId) : `{"order_id":${orderId},"customer_id":${customerId},"pattern":${JSON.stringify(pattern)}}`;
}

/** The (order, customer) a processed-orders key names; undefined for a key of another shape. */
export function decodeProcessedKey(key: Buffer): { readonly orderId: number; readonly customerId: number } | undefined {
  try {
    const k = JSON.parse(key.toString('utf8')) as { order_id?: unknown; customer_id?: unknown };
    return typeof k.order_id === 'number' && typeof k.customer_id === 'number' ? { orderId: k.order_id, customerId: k.customer_id } : undefined;
  } catch {
    return undefined;
  }
}

export function summaryKey(customerId: number, windowStartMs: number): string {
  return `{"customer_id":${customerId},"window_start":"${windowIso(windowStartMs)}"}`;
}

/** Encodes one emission; `nowIso` stamps processed_at / alerted_at / updated_at (one value per transaction). */
export function encodeEmission(emission: Emission, nowIso: string, windowMinutes: number): EncodedRecord {
  switch (emission.kind) {
    case 'processed':
      return { key: processedKey(emission.orderId, emission.customerId), value: emission.row ? encodeProcessed(emission.row, nowIso, emission.sourceTsMs, emission.tierChangedAt ?? null) : null };
    case 'alert':
      return { key: alertKey(emission.orderId, emission.customerId, emission.pattern), value: emission.alert ? encodeAlert(emission.alert, nowIso) : null };
    case 'contribution':
      return { key: contributionKey(emission), value: emission.finalCents === null ? null : String(emission.finalCents) };
    case 'summary': {
      const s = emission.summary;
      // JSON.stringify's text of { customer_id, window_start, window_end, order_count, total_amount, total_final_amount, updated_at }.
      const value = s
        ? `{"customer_id":${num(emission.customerId)},"window_start":"${windowIso(emission.windowStartMs)}","window_end":"${windowIso(windowEndFor(emission.windowStartMs, windowMinutes))}",` +
          `"order_count":${num(s.orderCount)},"total_amount":"${formatMoney(s.totalAmountCents)}","total_final_amount":"${formatMoney(s.totalFinalCents)}","updated_at":${text(nowIso)}}`
        : null;
      return { key: summaryKey(emission.customerId, emission.windowStartMs), value };
    }
    default:
      return assertNever(emission);
  }
}

/**
 * The processed row's JSON, written as a template (field order and text exactly JSON.stringify's of
 * the same object; records.test.ts compares them): one object and one stringify per processed order
 * were a hot spot, as this runs for every order.
 */
function encodeProcessed(row: ProcessedOrder, nowIso: string, sourceTsMs: number | null, tierChangedAt: number | null): string {
  // The channel is a function of the key: partner and store orders have reserved id ranges.
  // tier_changed_at_ms: the customer's tier change time the escalation alerts of this row were evaluated
  // with; a restore needs it to know which alerts exist (the row alone does not say, e.g. after A → B → A).
  return (
    `{"order_id":${num(row.orderId)},"customer_id":${num(row.customerId)},"customer_tier":${text(row.customerTier)},"product_id":${num(row.productId)},` +
    `"product_category":${text(row.productCategory)},"quantity":${num(row.quantity)},"amount":"${formatMoney(row.amountCents)}","discount":"${formatMoney(row.discountCents)}",` +
    `"tax":"${formatMoney(row.taxCents)}","final_amount":"${formatMoney(row.finalCents)}","status":${text(row.status)},"created_at":"${isoTime(row.createdAt)}",` +
    `"processed_at":${text(nowIso)},"channel":${text(channelOfOrderId(row.orderId))},"source_ts_ms":${nullableNum(sourceTsMs)},"tier_changed_at_ms":${nullableNum(tierChangedAt)}}`
  );
}

/** A number as JSON writes it (a non-finite one as null). */
function num(value: number): string {
  return Number.isFinite(value) ? String(value) : 'null';
}

function nullableNum(value: number | null): string {
  return value === null ? 'null' : num(value);
}

/** A string as JSON writes it; the few values that recur (tiers, statuses, channels, categories) are quoted once. */
const quoted = new Map<string, string>();
function text(value: string): string {
  let json = quoted.get(value);
  if (json === undefined) {
    json = JSON.stringify(value);
    if (value.length <= 64) {
      if (quoted.size >= 10_000) quoted.clear();
      quoted.set(value, json);
    }
  }
  return json;
}

function encodeAlert(alert: FraudAlert, nowIso: string): string {
  return JSON.stringify({
    order_id: alert.orderId,
    customer_id: alert.customerId,
    final_amount: formatMoney(alert.finalCents),
    severity: alert.severity,
    reason: alert.reason,
    created_at: isoTime(alert.createdAt),
    alerted_at: nowIso,
    pattern: alert.pattern,
    matched_order_ids: alert.matchedOrderIds,
    window_start: windowIso(alert.windowStartMs),
    window_end: windowIso(alert.windowEndMs),
  });
}

/** A processed-orders record read back to restore state: its processed row. */
export interface RestoredOrder {
  readonly processed: ProcessedOrder;
  /** The tier change time its escalation was evaluated with; undefined in records written before it was carried. */
  readonly tierChangedAt: number | null | undefined;
}

export function decodeProcessed(value: Buffer): RestoredOrder | undefined {
  const v = JSON.parse(value.toString('utf8')) as Record<string, unknown>;
  const { order_id, customer_id, product_id, quantity } = v;
  // The shared constant strings, not the decoded copies: a restored worker holds every row.
  const status = orderStatusOf(v.status);
  const customer_tier = tierOf(v.customer_tier);
  const product_category = typeof v.product_category === 'string' ? internCategory(v.product_category) : undefined;
  if (typeof order_id !== 'number' || typeof customer_id !== 'number' || typeof product_id !== 'number' || typeof quantity !== 'number') return undefined;
  if (status === undefined || status === 'CANCELLED' || customer_tier === undefined || product_category === undefined) return undefined;
  if (typeof v.amount !== 'string' || typeof v.discount !== 'string' || typeof v.tax !== 'string' || typeof v.final_amount !== 'string' || typeof v.created_at !== 'string') return undefined;
  const createdAt = Date.parse(v.created_at);
  const amountCents = parseMoney(v.amount);
  const processed: ProcessedOrder = {
    orderId: order_id,
    customerId: customer_id,
    customerTier: customer_tier,
    productId: product_id,
    productCategory: product_category,
    quantity,
    amountCents,
    discountCents: parseMoney(v.discount),
    taxCents: parseMoney(v.tax),
    finalCents: parseMoney(v.final_amount),
    status,
    createdAt,
  };
  const tierChangedAt = typeof v.tier_changed_at_ms === 'number' ? v.tier_changed_at_ms : v.tier_changed_at_ms === null ? null : undefined;
  return { processed, tierChangedAt };
}

/**
 * Stage 2 → stage 3: one NEW-tier order's part in fan-in, on the internal product-keyed changelog.
 * Key `product|order|customer|createdAtMs` (every field that places it, so a tombstone names its
 * windows), value the final amount in cents; a tombstone retracts it.
 */
export function contributionKey(key: ContributionKey): string {
  return `${key.productId}|${key.orderId}|${key.customerId}|${key.createdAt}`;
}

/** A contribution record read back; undefined for a key or value of another shape. */
export function decodeContribution(key: Buffer | null, value: Buffer | null): { readonly key: ContributionKey; readonly finalCents: number | null } | undefined {
  const f = key?.toString('latin1').split('|');
  if (f?.length !== 4) return undefined;
  const [productId, orderId, customerId, createdAt] = f.map(Number) as [number, number, number, number];
  if (![productId, orderId, customerId, createdAt].every(Number.isSafeInteger)) return undefined;
  const finalCents = value === null ? null : Number(value.toString('latin1'));
  if (finalCents !== null && !Number.isSafeInteger(finalCents)) return undefined;
  return { key: { productId, orderId, customerId, createdAt }, finalCents };
}

/** Stage 1 → stage 2: an order change routed to the task of its customer. */
export type RoutedChange =
  | { readonly op: 'upsert'; readonly order: SourceOrder; readonly ts: number | null }
  /** customerId: the customer whose row is retracted; null in records written before it was carried. */
  | { readonly op: 'delete'; readonly id: number; readonly customerId: number | null; readonly ts: number | null };

/**
 * The repartition topic is internal: a compact `|`-separated line is several times cheaper to
 * write and read than JSON on the processor's hottest path.
 * upsert: `u|id|customer|product|quantity|cents|status|createdAtMs|ts`; delete: `d|id|customer|ts`
 * (the customer names the exact row a move or delete retracts; older deletes were `d|id|ts`).
 */
export function encodeRouted(change: RoutedChange): string {
  const ts = change.ts ?? '';
  if (change.op === 'delete') return `d|${change.id}|${change.customerId ?? ''}|${ts}`;
  const o = change.order;
  return `u|${o.id}|${o.customerId}|${o.productId}|${o.quantity}|${o.amountCents}|${o.status}|${o.createdAt}|${ts}`;
}

export function decodeRouted(value: Buffer): RoutedChange | undefined {
  const f = value.toString('latin1').split('|');
  const ts = f.at(-1) === '' ? null : Number(f.at(-1));
  if (f[0] === 'd' && (f.length === 4 || f.length === 3)) {
    const id = Number(f[1]);
    const customerId = f.length === 4 && f[2] !== '' ? Number(f[2]) : null;
    if (!Number.isSafeInteger(id) || (customerId !== null && !Number.isSafeInteger(customerId))) return undefined;
    return { op: 'delete', id, customerId, ts };
  }
  if (f[0] !== 'u' || f.length !== 9) return undefined;
  const status = orderStatusOf(f[6]);
  if (status === undefined) return undefined;
  const order: SourceOrder = { id: Number(f[1]), customerId: Number(f[2]), productId: Number(f[3]), quantity: Number(f[4]), amountCents: Number(f[5]), status, createdAt: Number(f[7]) };
  return Number.isSafeInteger(order.id) && Number.isSafeInteger(order.amountCents) ? { op: 'upsert', order, ts } : undefined;
}

/** Product categories seen, so restored rows share one string per category; bounded, as categories are few. */
const categories = new Map<string, string>();
const MAX_INTERNED_CATEGORIES = 10_000;

function internCategory(category: string): string {
  const known = categories.get(category);
  if (known !== undefined) return known;
  if (categories.size < MAX_INTERNED_CATEGORIES) categories.set(category, category);
  return category;
}

/**
 * ISO text of window bounds, which recur on every change of a window: formatting dates was one of
 * the processor's top costs. Bounded: cleared when it grows past the windows of a busy day.
 */
const windowIsoCache = new Map<number, string>();
function windowIso(ms: number): string {
  let text = windowIsoCache.get(ms);
  if (text === undefined) {
    if (windowIsoCache.size >= 50_000) windowIsoCache.clear();
    text = isoTime(ms);
    windowIsoCache.set(ms, text);
  }
  return text;
}

function assertNever(value: never): never {
  throw new Error(`unexpected emission ${JSON.stringify(value)}`);
}
