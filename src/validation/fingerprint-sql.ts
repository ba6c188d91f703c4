/**
 * Every SQL statement `validate` sends, for both engines, generated from the table specs. The two
 * dialects must compute the SAME numbers and the SAME text for the same rows:
 *
 * - bucket ids with integer arithmetic whose intermediates stay below 2^52 (tables.ts), with
 *   truncating `%` in both;
 * - the canonical row text of canonical.ts, hashed with MD5 on both sides: per bucket, a row count
 *   and the sum modulo 2^64 of each row's 64-bit hash (first pass); per row, the whole MD5
 *   (drill-down). Sums are returned as text so no JSON number loses digits.
 *
 * ClickHouse 18.16 takes no query parameters, so values are inlined: numbers we computed, and text
 * through `quote`. Names are inlined too and must be plain identifiers.
 *
 * The stream side is read from the versioned storage table with FINAL (ReplacingMergeTree keeps
 * the highest version per key; is_deleted = 0 drops tombstones), which answers exactly what the
 * views answer but merges sorted parts instead of hashing every key into an argMax GROUP BY: on
 * 10M rows 1.5 s instead of 10.6 s. `streamRead: 'view'` reads the views themselves.
 */
import { quote } from '../clients/clickhouse.ts';
import { UsageError } from '../core/errors.ts';
import { assertNever } from '../core/assert-never.ts';
import { CHANNEL_ID_BASE, MAX_EXTERNAL_ID } from '../sources/order-input.ts';
import type { ColumnSpec, TableSpec } from './tables.ts';

export type StreamRead = 'final' | 'view';

/** Where each side's tables are: the PostgreSQL schema and the ClickHouse database. */
export interface SqlTarget {
  readonly schema: string;
  readonly database: string;
  readonly streamRead: StreamRead;
}

/** The compared window [from, to) in whole epoch seconds (so PostgreSQL's millisecond timestamps and ClickHouse's seconds agree on it). */
export interface EpochWindow {
  readonly fromSec: number;
  readonly toSec: number;
}

/** The per-table choice of the first pass: how many buckets the keys are spread over. */
export interface FirstPassPlan {
  readonly buckets: number;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function identifier(name: string): string {
  if (!IDENTIFIER.test(name)) throw new UsageError(`name ${JSON.stringify(name)} is not a plain identifier (letters, digits, _)`);
  return name;
}

function int(n: number): string {
  if (!Number.isSafeInteger(n)) throw new Error(`not a safe integer: ${n}`);
  return String(n);
}

/** PostgreSQL string literal; the session sets standard_conforming_strings = on. */
export function pgQuote(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

// ---- PostgreSQL -----------------------------------------------------------------------------

const pgTable = (spec: TableSpec, t: SqlTarget) => `${identifier(t.schema)}.${identifier(spec.name)}`;
const pgWindow = (spec: TableSpec, w: EpochWindow) =>
  `${identifier(spec.eventTime)} >= to_timestamp(${int(w.fromSec)}) AND ${identifier(spec.eventTime)} < to_timestamp(${int(w.toSec)})`;
const pgEpoch = (c: string) => `floor(date_part('epoch', ${c}))::bigint`;
const pgMd5Slice = (c: string) => `('x' || substr(md5(${c}), 1, 16))::bit(64)::bigint`;

function pgKeyComponent(c: ColumnSpec): string {
  const name = identifier(c.name);
  return c.kind === 'timestamp' ? pgEpoch(name) : c.kind === 'int' ? name : pgMd5Slice(name);
}

export function pgKeyHash(spec: TableSpec): string {
  const [first, ...rest] = spec.key.map(pgKeyComponent);
  return rest.reduce((h, c) => `((${h} % 2147483647) * 1000003 + (${c} % 2147483647))`, first ?? '0');
}

const pgPositiveMod = (x: string, m: number) => `((${x} % ${int(m)}) + ${int(m)}) % ${int(m)}`;

export function pgCanonical(c: ColumnSpec): string {
  const name = identifier(c.name);
  switch (c.kind) {
    case 'int':
      return `(${name})::text`;
    case 'money':
      return `(${name})::numeric(38,2)::text`;
    case 'timestamp':
      return `to_char(${name} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`;
    case 'text':
      return name;
    default:
      return assertNever(c.kind);
  }
}

/** The row text of canonical.ts: text fields length-prefixed in bytes. */
export function pgRowText(spec: TableSpec): string {
  const field = (c: ColumnSpec) => (c.kind === 'text' ? `octet_length(${identifier(c.name)})::text || ':' || ${identifier(c.name)}` : pgCanonical(c));
  return [...spec.key, ...spec.columns].map(field).join(` || '|' || `);
}

/** A key component in a form both sides sort the same way and JS compares: ints and epoch seconds as text, text as is. */
function pgSortable(c: ColumnSpec): string {
  const name = identifier(c.name);
  return c.kind === 'timestamp' ? `${pgEpoch(name)}::text` : c.kind === 'text' ? name : `(${name})::text`;
}

function pgOrderBy(spec: TableSpec): string {
  return spec.key.map((c) => (c.kind === 'text' ? `${identifier(c.name)} COLLATE "C"` : identifier(c.name))).join(', ');
}

export interface Fingerprint {
  readonly name: string;
  /** `exact`: an integer both engines compute exactly; `mod64`: a sum reduced modulo 2^64 (ClickHouse's UInt64 sum wraps, PostgreSQL's numeric sum is reduced by the caller). */
  readonly reduce: 'exact' | 'mod64';
  readonly pg: string;
  readonly ch: string;
}

/**
 * The first-pass fingerprints of a bucket: the row count, and the sum modulo 2^64 of a 64-bit hash
 * of each row's canonical text (the first 8 bytes of its MD5, big-endian; key and every compared
 * column). A sum is commutative, so the engines may scan rows in any order; and because each row
 * contributes a hash of all its values together, two rows that swap a value change the sum
 * (sums of column values would not: the swap cancels). PostgreSQL sums the signed bigint slices
 * into an exact numeric, reduced here; ClickHouse sums the unsigned slices in UInt64, which wraps:
 * both are the same residue modulo 2^64.
 */
export function fingerprints(spec: TableSpec): readonly Fingerprint[] {
  return [
    { name: 'rows', reduce: 'exact', pg: 'count(*)::text', ch: 'toString(count())' },
    { name: 'row hash sum', reduce: 'mod64', pg: `sum(${pgMd5Slice(pgRowText(spec))})::text`, ch: `toString(sum(${chRowHash(chRowText(spec))}))` },
  ];
}

/** A block range of the heap, so that several connections can each aggregate a part (the parts' sums add up). */
export interface PageRange {
  readonly fromPage: number;
  /** Exclusive; null means to the end, including pages added since the table was measured. */
  readonly toPage: number | null;
}

export function pgFirstPassSql(spec: TableSpec, t: SqlTarget, w: EpochWindow, plan: FirstPassPlan, pages?: PageRange): string {
  const fps = fingerprints(spec).map((f, i) => `${f.pg} AS f${i}`);
  const range = pages
    ? ` AND ctid >= '(${int(pages.fromPage)},0)'::tid${pages.toPage === null ? '' : ` AND ctid < '(${int(pages.toPage)},0)'::tid`}`
    : '';
  return `SELECT (${pgPositiveMod(pgKeyHash(spec), plan.buckets)})::int AS b, ${fps.join(', ')}
FROM ${pgTable(spec, t)} WHERE ${pgWindow(spec, w)}${range} GROUP BY 1`;
}

/** Per row of the given buckets (null: all): the sortable key and the MD5 of the canonical row, in key order. */
export function pgDrillSql(spec: TableSpec, t: SqlTarget, w: EpochWindow, buckets: number, only: readonly number[] | null): string {
  const keys = spec.key.map((c, i) => `${pgSortable(c)} AS k${i}`);
  const filter = only === null ? '' : ` AND (${pgPositiveMod(pgKeyHash(spec), buckets)})::int = ANY('{${only.map(int).join(',')}}'::int[])`;
  return `SELECT ${keys.join(', ')}, md5(${pgRowText(spec)}) AS h
FROM ${pgTable(spec, t)} WHERE ${pgWindow(spec, w)}${filter} ORDER BY ${pgOrderBy(spec)}`;
}

/** Keys as sortable components (what the drill-down returns). */
export type SortableKey = readonly string[];

function pgKeyLiteral(c: ColumnSpec, v: string): string {
  if (c.kind === 'timestamp') return `to_timestamp(${int(Number(v))})`;
  if (c.kind === 'int') return sqlInteger(v);
  return pgQuote(v);
}

function sqlInteger(v: string): string {
  if (!/^-?\d+$/.test(v)) throw new Error(`not an integer key: ${v}`);
  return v;
}

function keyList(spec: TableSpec, keys: readonly SortableKey[], literal: (c: ColumnSpec, v: string) => string): string {
  const tuple = (k: SortableKey) => spec.key.map((c, i) => literal(c, k[i] ?? '')).join(', ');
  const lhs = spec.key.length === 1 ? identifier(spec.key[0]!.name) : `(${spec.key.map((c) => identifier(c.name)).join(', ')})`;
  return `${lhs} IN (${keys.map((k) => (spec.key.length === 1 ? tuple(k) : `(${tuple(k)})`)).join(', ')})`;
}

/** The canonical value of every key and compared column, for the given keys within the window. */
export function pgDetailSql(spec: TableSpec, t: SqlTarget, w: EpochWindow, keys: readonly SortableKey[]): string {
  const keyCols = spec.key.map((c, i) => `${pgSortable(c)} AS k${i}`);
  const cols = spec.columns.map((c, i) => `${pgCanonical(c)} AS c${i}`);
  return `SELECT ${[...keyCols, ...cols].join(', ')} FROM ${pgTable(spec, t)} WHERE ${pgWindow(spec, w)} AND ${keyList(spec, keys, pgKeyLiteral)}`;
}

/** The planner's row estimate for the window (cheap, from statistics) and the heap's size in pages. */
export function pgEstimateSql(spec: TableSpec, t: SqlTarget, w: EpochWindow): string {
  return `EXPLAIN (FORMAT JSON) SELECT 1 FROM ${pgTable(spec, t)} WHERE ${pgWindow(spec, w)}`;
}

export function pgPagesSql(spec: TableSpec, t: SqlTarget): string {
  return `SELECT (pg_relation_size(${pgQuote(pgTable(spec, t))}) / current_setting('block_size')::int)::bigint AS pages`;
}

// ---- ClickHouse -----------------------------------------------------------------------------

const chStorage = (spec: TableSpec, t: SqlTarget) => `${identifier(t.database)}.${identifier(spec.name)}_versions`;

function chSource(spec: TableSpec, t: SqlTarget): { readonly from: string; readonly live: string } {
  return t.streamRead === 'final'
    ? { from: `${chStorage(spec, t)} FINAL`, live: 'is_deleted = 0 AND ' }
    : { from: `${identifier(t.database)}.${identifier(spec.name)}`, live: '' };
}

const chWindow = (spec: TableSpec, w: EpochWindow) =>
  `${identifier(spec.eventTime)} >= toDateTime(${int(w.fromSec)}) AND ${identifier(spec.eventTime)} < toDateTime(${int(w.toSec)})`;
const chMd5Slice = (c: string) => `reinterpretAsInt64(reverse(substring(MD5(${c}), 1, 8)))`;
/** The same 8 bytes as an unsigned integer, so that ClickHouse's sum wraps modulo 2^64 instead of overflowing a signed type. */
const chRowHash = (c: string) => `reinterpretAsUInt64(reverse(substring(MD5(${c}), 1, 8)))`;

function chKeyComponent(c: ColumnSpec): string {
  const name = identifier(c.name);
  return c.kind === 'timestamp' ? `toInt64(toUnixTimestamp(${name}))` : c.kind === 'int' ? `toInt64(${name})` : chMd5Slice(name);
}

export function chKeyHash(spec: TableSpec): string {
  const [first, ...rest] = spec.key.map(chKeyComponent);
  return rest.reduce((h, c) => `((${h} % toInt64(2147483647)) * toInt64(1000003) + (${c} % toInt64(2147483647)))`, first ?? 'toInt64(0)');
}

const chPositiveMod = (x: string, m: number) => `((${x} % toInt64(${int(m)})) + toInt64(${int(m)})) % toInt64(${int(m)})`;

export function chCanonical(c: ColumnSpec): string {
  const name = identifier(c.name);
  switch (c.kind) {
    case 'int':
      return `toString(${name})`;
    case 'money': {
      // From integer cents, because toString(Decimal) drops trailing zeros on current releases ("12.5")
      // where 18.16 keeps them; the Decimal128 product cannot overflow for any Decimal(18,2).
      const cents = `toInt64(toDecimal128(${name}, 2) * 100)`;
      return `concat(if(${cents} < 0, '-', ''), toString(intDiv(abs(${cents}), 100)), '.', substring(toString(100 + abs(${cents}) % 100), 2, 2))`;
    }
    case 'timestamp':
      // Not formatDateTime: its %M is the minute on 18.16 and the month's name on current releases.
      // The epoch (a threshold alert's "no window") is 0000-00-00 00:00:00 as text on 18.16.
      return `if(toUInt32(${name}) = 0, '1970-01-01T00:00:00Z', concat(replaceOne(toString(${name}, 'UTC'), ' ', 'T'), 'Z'))`;
    case 'text':
      return name;
    default:
      return assertNever(c.kind);
  }
}

/** The row text of canonical.ts: text fields length-prefixed in bytes (ClickHouse length() counts bytes). */
export function chRowText(spec: TableSpec): string {
  const field = (c: ColumnSpec) => (c.kind === 'text' ? `concat(toString(length(${identifier(c.name)})), ':', ${identifier(c.name)})` : chCanonical(c));
  return `concat(${[...spec.key, ...spec.columns].map(field).join(`, '|', `)})`;
}

function chSortable(c: ColumnSpec): string {
  const name = identifier(c.name);
  return c.kind === 'timestamp' ? `toString(toUnixTimestamp(${name}))` : c.kind === 'text' ? name : `toString(${name})`;
}

export function chFirstPassSql(spec: TableSpec, t: SqlTarget, w: EpochWindow, plan: FirstPassPlan): string {
  const src = chSource(spec, t);
  const fps = fingerprints(spec).map((f, i) => `${f.ch} AS f${i}`);
  return `SELECT toInt64(${chPositiveMod(chKeyHash(spec), plan.buckets)}) AS b, ${fps.join(', ')}
FROM ${src.from} WHERE ${src.live}${chWindow(spec, w)} GROUP BY b`;
}

export function chDrillSql(spec: TableSpec, t: SqlTarget, w: EpochWindow, buckets: number, only: readonly number[] | null): string {
  const src = chSource(spec, t);
  const keys = spec.key.map((c, i) => `${chSortable(c)} AS k${i}`);
  const filter = only === null ? '' : ` AND ${chPositiveMod(chKeyHash(spec), buckets)} IN (${only.map(int).join(', ')})`;
  return `SELECT ${keys.join(', ')}, lower(hex(MD5(${chRowText(spec)}))) AS h
FROM ${src.from} WHERE ${src.live}${chWindow(spec, w)}${filter} ORDER BY ${spec.key.map((c) => identifier(c.name)).join(', ')}`;
}

function chKeyLiteral(c: ColumnSpec, v: string): string {
  if (c.kind === 'timestamp') return `toDateTime(${int(Number(v))})`;
  if (c.kind === 'int') return sqlInteger(v);
  return quote(v);
}

export function chDetailSql(spec: TableSpec, t: SqlTarget, w: EpochWindow, keys: readonly SortableKey[]): string {
  const src = chSource(spec, t);
  const keyCols = spec.key.map((c, i) => `${chSortable(c)} AS k${i}`);
  const cols = spec.columns.map((c, i) => `${chCanonical(c)} AS c${i}`);
  return `SELECT ${[...keyCols, ...cols].join(', ')} FROM ${src.from} WHERE ${src.live}${chWindow(spec, w)} AND ${keyList(spec, keys, chKeyLiteral)}`;
}

/** Versions stored for the window: an upper bound of the live rows, read without merging (fast). */
export function chEstimateSql(spec: TableSpec, t: SqlTarget, w: EpochWindow): string {
  return `SELECT toString(count()) AS n FROM ${chStorage(spec, t)} WHERE ${chWindow(spec, w)}`;
}

/**
 * End-to-end latency of the window's processed orders: sink write (ingested_at) minus source commit
 * (source_ts), over every stored version whose source time is known. Both are whole seconds.
 */
export function chLatencySql(t: SqlTarget, w: EpochWindow): string {
  return `SELECT toString(count()) AS n, arrayMap(x -> toString(x), quantiles(0.5, 0.95, 0.99)(toInt64(ingested_at) - toInt64(source_ts))) AS q
FROM ${identifier(t.database)}.processed_orders_versions
WHERE is_deleted = 0 AND toUnixTimestamp(source_ts) > 0 AND created_at >= toDateTime(${int(w.fromSec)}) AND created_at < toDateTime(${int(w.toSec)})`;
}

// ---- Channels -------------------------------------------------------------------------------

/** The channel of an order key, by the ranges src/sources/order-input.ts assigns (the same text on both databases). */
function channelCase(column: string): string {
  const range = (base: number) => `${column} >= ${int(base)} AND ${column} < ${int(base + MAX_EXTERNAL_ID)}`;
  return `CASE WHEN ${range(CHANNEL_ID_BASE.store)} THEN 'store' WHEN ${range(CHANNEL_ID_BASE.partner)} THEN 'partner' ELSE 'web' END`;
}

/**
 * What a report breaks a table's rows down by: the channel of its order (a table keyed by
 * order_id) or its fraud pattern ('' for the per-order thresholds; a table keyed by pattern).
 */
export type RowGroup = 'channel' | 'pattern';

function groupExpression(by: RowGroup): string {
  return by === 'channel' ? channelCase('order_id') : 'pattern';
}

/** Rows of the window per group, as `g` and `n` (text). */
export function pgRowsPerSql(spec: TableSpec, t: SqlTarget, w: EpochWindow, by: RowGroup): string {
  return `SELECT ${groupExpression(by)} AS g, count(*)::text AS n FROM ${pgTable(spec, t)} WHERE ${pgWindow(spec, w)} GROUP BY 1`;
}

export function chRowsPerSql(spec: TableSpec, t: SqlTarget, w: EpochWindow, by: RowGroup): string {
  const source = chSource(spec, t);
  return `SELECT ${groupExpression(by)} AS g, toString(count()) AS n FROM ${source.from} WHERE ${source.live}${chWindow(spec, w)} GROUP BY g`;
}
