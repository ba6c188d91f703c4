import { parseMoney } from '../domain/money.ts';
import type { CustomerRow, ProductRow, SourceOrder } from '../domain/process-order.ts';
import { orderStatusOf, tierOf } from '../domain/rules.ts';

/**
 * Decoding of Debezium change records (after ExtractNewRecordState: flat row JSON, decimals as
 * strings, timestamps as ISO-8601 UTC, `__deleted` on deletes, a null value for a tombstone).
 * Every problem is a reason string, so the caller can send the record to the dead-letter topic.
 */
export type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

export type RowChange<Row> =
  | { readonly kind: 'upsert'; readonly row: Row; readonly sourceTsMs: number | null }
  | { readonly kind: 'delete'; readonly id: number; readonly sourceTsMs: number | null };

export type OrderChange = RowChange<SourceOrder>;

const ok = <T>(value: T): Decoded<T> => ({ ok: true, value });
const fail = (reason: string): Decoded<never> => ({ ok: false, reason });

export function decodeOrder(key: Buffer | null, value: Buffer | null): Decoded<OrderChange> {
  return decodeChange(key, value, (row) => {
    const id = integer(row, 'id');
    const customerId = integer(row, 'customer_id');
    const productId = integer(row, 'product_id');
    const quantity = integer(row, 'quantity');
    if (typeof id === 'string') return fail(id);
    if (typeof customerId === 'string') return fail(customerId);
    if (typeof productId === 'string') return fail(productId);
    if (typeof quantity === 'string') return fail(quantity);
    const status = orderStatusOf(row.status);
    if (status === undefined) return fail(`unknown order status ${JSON.stringify(row.status)}`);
    const amount = row.amount;
    if (typeof amount !== 'string') return fail(`amount must be a decimal string, got ${JSON.stringify(amount)}`);
    let amountCents: number;
    try {
      amountCents = parseMoney(amount);
    } catch (error) {
      return fail(`amount ${JSON.stringify(amount)}: ${(error as Error).message}`);
    }
    const createdAt = timestamp(row, 'created_at');
    if (typeof createdAt === 'string') return fail(createdAt);
    return ok({ id, customerId, productId, quantity, amountCents, status, createdAt });
  });
}

export function decodeCustomer(key: Buffer | null, value: Buffer | null): Decoded<RowChange<CustomerRow>> {
  return decodeChange(key, value, (row) => {
    const id = integer(row, 'id');
    if (typeof id === 'string') return fail(id);
    const tier = tierOf(row.tier);
    if (tier === undefined) return fail(`unknown customer tier ${JSON.stringify(row.tier)}`);
    // Absent on a source without the column (migrations/source/0002), null when the tier never changed.
    if (row.tier_changed_at === undefined || row.tier_changed_at === null) return ok({ id, tier });
    const tierChangedAt = timestamp(row, 'tier_changed_at');
    if (typeof tierChangedAt === 'string') return fail(tierChangedAt);
    return ok({ id, tier, tierChangedAt });
  });
}

export function decodeProduct(key: Buffer | null, value: Buffer | null): Decoded<RowChange<ProductRow>> {
  return decodeChange(key, value, (row) => {
    const id = integer(row, 'id');
    if (typeof id === 'string') return fail(id);
    if (typeof row.category !== 'string' || row.category.trim() === '') return fail(`missing product category`);
    return ok({ id, category: row.category });
  });
}

function decodeChange<Row>(key: Buffer | null, value: Buffer | null, decodeRow: (row: Record<string, unknown>) => Decoded<Row>): Decoded<RowChange<Row>> {
  if (value === null || value.length === 0) {
    // A tombstone: the key alone says which row is gone. After a rewritten delete it is a repeat, which is harmless.
    const id = decodeKeyId(key);
    return typeof id === 'string' ? fail(id) : ok({ kind: 'delete', id, sourceTsMs: null });
  }
  const row = parseObject(value);
  if (typeof row === 'string') return fail(row);
  const mismatch = keyMismatch(key, row);
  if (mismatch !== undefined) return fail(mismatch);
  const sourceTsMs = typeof row.__source_ts_ms === 'number' ? row.__source_ts_ms : null;
  if (row.__deleted === 'true' || row.__deleted === true || row.__op === 'd') {
    const id = integer(row, 'id');
    const fromKey = decodeKeyId(key);
    const resolved = typeof id === 'number' ? id : fromKey;
    return typeof resolved === 'string' ? fail(resolved) : ok({ kind: 'delete', id: resolved, sourceTsMs });
  }
  const decoded = decodeRow(row);
  return decoded.ok ? ok({ kind: 'upsert', row: decoded.value, sourceTsMs }) : decoded;
}

/**
 * Why the record's key and its value's id disagree, if they do. The key decides the partition and
 * what compaction keeps, so a value filed under another row's key must not be applied to either.
 * A keyless record is judged by its value alone.
 */
function keyMismatch(key: Buffer | null, row: Record<string, unknown>): string | undefined {
  if (key === null) return undefined;
  const keyId = decodeKeyId(key);
  if (typeof keyId === 'string') return `key does not match value: ${keyId}`;
  const rowId = integer(row, 'id');
  // A value without a usable id is reported by the row's own decoder (or, for a delete, read from the key).
  if (typeof rowId === 'number' && rowId !== keyId) return `key does not match value: key id ${keyId}, value id ${rowId}`;
  return undefined;
}

/** The row id a change record's key names, or why it names none. */
export function decodeKeyId(key: Buffer | null): number | string {
  if (key === null) return 'record has neither a key nor a value';
  const plain = plainIdKey(key);
  if (plain !== undefined) return plain;
  const parsed = parseObject(key);
  if (typeof parsed === 'string') return `key: ${parsed}`;
  return integer(parsed, 'id');
}

function parseObject(buffer: Buffer): Record<string, unknown> | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(buffer.toString('utf8'));
  } catch {
    return 'not valid JSON';
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'JSON is not an object';
  return parsed as Record<string, unknown>;
}

function integer(row: Record<string, unknown>, field: string): number | string {
  const value = row[field];
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  if (typeof value === 'string' && /^-?\d{1,15}$/.test(value)) return Number(value);
  return value === undefined || value === null ? `missing required field ${field}` : `${field} must be an integer, got ${JSON.stringify(value)}`;
}

function timestamp(row: Record<string, unknown>, field: string): number | string {
  const value = row[field];
  if (typeof value === 'string') {
    const ms = Date.parse(value);
    if (Number.isFinite(ms) && /(Z|[+-]\d\d:?\d\d)$/.test(value)) return ms;
    return `${field} must be an ISO-8601 timestamp with a zone, got ${JSON.stringify(value)}`;
  }
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  return value === undefined || value === null ? `missing required field ${field}` : `${field} must be a timestamp, got ${JSON.stringify(value)}`;
}

const ID_KEY_PREFIX = Buffer.from('{"id":', 'latin1');
const [MINUS, ZERO, NINE, CLOSE] = [0x2d, 0x30, 0x39, 0x7d];

/**
 * The id of a key that is exactly `{"id":<integer>}`, Debezium's key for a one-column primary key
 * (up to 15 digits, the safe integers `integer` accepts from a string too); undefined for any other
 * shape, which then goes through JSON.parse. Read from the bytes: a string and a parsed object per
 * order record, only to read one number, were measurable on the processor's hottest path.
 */
function plainIdKey(key: Buffer): number | undefined {
  const end = key.length - 1;
  if (end < ID_KEY_PREFIX.length || key[end] !== CLOSE || key.compare(ID_KEY_PREFIX, 0, ID_KEY_PREFIX.length, 0, ID_KEY_PREFIX.length) !== 0) return undefined;
  let i = ID_KEY_PREFIX.length;
  const negative = key[i] === MINUS;
  if (negative) i++;
  const digits = end - i;
  if (digits < 1 || digits > 15) return undefined;
  let id = 0;
  for (; i < end; i++) {
    const c = key[i] as number;
    if (c < ZERO || c > NINE) return undefined;
    id = id * 10 + (c - ZERO);
  }
  // JSON has no leading zeros; such a key is left to JSON.parse, which refuses it.
  if (digits > 1 && key[end - digits] === ZERO) return undefined;
  return negative ? -id : id;
}
