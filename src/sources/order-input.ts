import { formatMoney, parseMoney } from '../domain/money.ts';
import type { Channel } from '../domain/output-tables.ts';
import { isOrderStatus } from '../domain/rules.ts';
import type { SourceOrder } from '../domain/process-order.ts';

/**
 * Orders from the partner API and the store files, decoded into the shape the CDC orders topic
 * carries after ExtractNewRecordState (plus `channel`), so stage 1 of the processor and the batch
 * read them with the same decoder and rules. Pure.
 *
 * Partner and store orders have id spaces of their own; each is placed in a reserved range of
 * the output key (`order_id`), so no key, table or validation changes and a web order (a
 * PostgreSQL sequence, far below 10^12) never collides with them. The channel is a function of
 * the key, which keeps it exact through every stage, the sink and validation.
 */
export const CHANNEL_ID_BASE: Readonly<Record<Channel, number>> = { web: 0, partner: 1_000_000_000_000, store: 2_000_000_000_000 };
/** External ids must be below this. */
export const MAX_EXTERNAL_ID = 1_000_000_000_000;

export function channelOfOrderId(orderId: number): Channel {
  if (orderId >= CHANNEL_ID_BASE.store && orderId < CHANNEL_ID_BASE.store + MAX_EXTERNAL_ID) return 'store';
  if (orderId >= CHANNEL_ID_BASE.partner && orderId < CHANNEL_ID_BASE.partner + MAX_EXTERNAL_ID) return 'partner';
  return 'web';
}

/** The output key of an external order. */
export function orderIdFor(channel: Channel, externalId: number): number {
  return CHANNEL_ID_BASE[channel] + externalId;
}

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

/**
 * One external order change: `order_id` (the source's own), `customer_id`, `product_id`,
 * `quantity`, `amount` (decimal text or number with at most 2 places), `status`, `created_at`
 * (ISO-8601 with a zone). A cancellation is status CANCELLED.
 */
export function parseExternalOrder(fields: Readonly<Record<string, unknown>>, channel: Channel): Parsed<SourceOrder> {
  const id = integer(fields, 'order_id');
  if (typeof id === 'string') return fail(id);
  if (id < 1 || id >= MAX_EXTERNAL_ID) return fail(`order_id ${id} is outside 1 .. ${MAX_EXTERNAL_ID - 1}`);
  const customerId = integer(fields, 'customer_id');
  if (typeof customerId === 'string') return fail(customerId);
  const productId = integer(fields, 'product_id');
  if (typeof productId === 'string') return fail(productId);
  const quantity = integer(fields, 'quantity');
  if (typeof quantity === 'string') return fail(quantity);
  if (quantity < 1) return fail(`quantity must be at least 1, got ${quantity}`);
  const status = typeof fields.status === 'string' ? fields.status.trim().toUpperCase() : fields.status;
  if (!isOrderStatus(status)) return fail(`unknown order status ${JSON.stringify(fields.status)}`);
  const amountText = typeof fields.amount === 'number' ? String(fields.amount) : fields.amount;
  if (typeof amountText !== 'string' || !/^\d{1,10}(\.\d{1,2})?$/.test(amountText.trim())) return fail(`amount must be a non-negative decimal with at most 2 places, got ${JSON.stringify(fields.amount)}`);
  const createdText = fields.created_at;
  const createdAt = typeof createdText === 'string' && /(Z|[+-]\d\d:?\d\d)$/.test(createdText.trim()) ? Date.parse(createdText.trim()) : Number.NaN;
  if (!Number.isFinite(createdAt)) return fail(`created_at must be an ISO-8601 timestamp with a zone, got ${JSON.stringify(createdText)}`);
  return { ok: true, value: { id: orderIdFor(channel, id), customerId, productId, quantity, amountCents: parseMoney(amountText.trim()), status, createdAt } };
}

/** One partner API record: a JSON object decoded as an order, anything else a reason. */
export function parsePartnerRecord(raw: unknown): Parsed<SourceOrder> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('not a JSON object');
  return parseExternalOrder(raw as Record<string, unknown>, 'partner');
}

/** The Kafka key and value of an order change, as Debezium writes the orders topic (plus `channel`). */
export function changeRecordOf(order: SourceOrder, channel: Channel, sourceTsMs: number): { readonly key: string; readonly value: string } {
  return {
    key: JSON.stringify({ id: order.id }),
    value: JSON.stringify({
      id: order.id,
      customer_id: order.customerId,
      product_id: order.productId,
      quantity: order.quantity,
      amount: formatMoney(order.amountCents),
      status: order.status,
      created_at: new Date(order.createdAt).toISOString(),
      channel,
      __source_ts_ms: sourceTsMs,
    }),
  };
}

/** The header fields of a CSV file (first line), lower-cased and trimmed. */
export function csvHeader(line: string): readonly string[] {
  return splitCsv(line).map((h) => h.trim().toLowerCase());
}

/**
 * One line of a store file as fields: a CSV line against the file's header, or a JSON Lines
 * object. Quoted CSV fields may hold commas and doubled quotes; a line never spans lines.
 */
export function lineFields(format: 'csv' | 'jsonl', line: string, header: readonly string[]): Parsed<Record<string, unknown>> {
  if (format === 'jsonl') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return fail('not valid JSON');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return fail('JSON is not an object');
    return { ok: true, value: parsed as Record<string, unknown> };
  }
  const cells = splitCsv(line);
  if (cells.length !== header.length) return fail(`expected ${header.length} CSV fields, got ${cells.length}`);
  const fields: Record<string, unknown> = {};
  header.forEach((h, i) => (fields[h] = cells[i]));
  return { ok: true, value: fields };
}

function splitCsv(line: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      cells.push(cell);
      cell = '';
    } else cell += c;
  }
  cells.push(cell);
  return cells;
}

function fail(reason: string): Parsed<never> {
  return { ok: false, reason };
}

function integer(fields: Readonly<Record<string, unknown>>, name: string): number | string {
  const value = fields[name];
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  if (typeof value === 'string' && /^\s*\d{1,15}\s*$/.test(value)) return Number(value);
  return value === undefined || value === null || value === '' ? `missing required field ${name}` : `${name} must be an integer, got ${JSON.stringify(value)}`;
}
