/**
 * Every SQL statement `validate` sends, for both engines, generated from the table specs. The two
 * dialects must compute the SAME numbers and the SAME text for the same rows:
 *
 * - bucket ids and key weights with integer arithmetic whose intermediates stay below 2^52
 *   (tables.ts), with truncating `%` in both;
 * - first-pass fingerprints as exact sums: PostgreSQL sums bigint/numeric into numeric (no
 *   overflow), ClickHouse sums into Decimal128 (its Int64 sums wrap silently and 18.16 has no
 *   Int128), all returned as text so no JSON number loses digits;
 * - the canonical row text of canonical.ts, hashed with MD5 on both sides, only in drill-down.
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
import { assertNever, type ColumnKind } from './canonical.ts';
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

/** The per-table choices of the first pass: bucket count and the dictionaries of dictionary columns. */
export interface FirstPassPlan {
  readonly buckets: number;
  /** Column name → its distinct stream values (code = index + 1); absent when the column has too many (then MD5). */
  readonly dictionaries: ReadonlyMap<string, readonly string[]>;
}

/** A dictionary column with more distinct values than this falls back to an MD5 slice. */
export const MAX_DICTIONARY = 256;

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
  /** Decimal places of the exact sum (0 for integers, 2 for money). */
  readonly scale: number;
  readonly pg: string;
  readonly ch: string;
}

/**
 * The first-pass fingerprints of a bucket: the row count, one exact sum per compared column, and
 * one key-weighted sum of an integer column (so that values swapped between two rows of a bucket
 * show). Every sum is exact in both engines and cheap where it matters (PostgreSQL):
 * - ints reduced modulo 2^31 − 1 first, so ClickHouse's Int64 sum cannot wrap;
 * - money summed as it is: numeric in PostgreSQL, Decimal(38,2) in ClickHouse;
 * - timestamps as epoch seconds (ClickHouse sums UInt32 into UInt64);
 * - dictionary text as its 1-based index in the stream's distinct values, 0 when absent
 *   (PostgreSQL CASE, ClickHouse indexOf): exact, no hash, unknown batch values show;
 * - other text as an MD5 slice modulo 2^31 − 1 (the only per-row hash of the first pass; used for
 *   fraud_alerts.reason, a table of few rows).
 * Measured on 10M rows, PostgreSQL 15 with JIT, one process: scan 1.5 s, each CASE +1.0 s, each
 * numeric sum +0.7 s, epoch seconds +2.2 s; a key-weighted numeric product would add 2.6 s,
 * which is why the weighted term multiplies integers.
 */
export function fingerprints(spec: TableSpec, plan: FirstPassPlan): readonly Fingerprint[] {
  const list: Fingerprint[] = [{ name: 'rows', scale: 0, pg: 'count(*)::text', ch: 'toString(count())' }];
  for (const c of spec.columns) {
    const name = identifier(c.name);
    const dictionary = plan.dictionaries.get(c.name);
    if (c.kind === 'text' && c.dictionary && dictionary) {
      const pgCase = dictionary.length === 0 ? '0' : `CASE ${name} ${dictionary.map((v, i) => `WHEN ${pgQuote(v)} THEN ${i + 1}`).join(' ')} ELSE 0 END`;
      const chCode = dictionary.length === 0 ? 'toUInt64(0)' : `indexOf([${dictionary.map(quote).join(', ')}], ${name})`;
      list.push({ name: c.name, scale: 0, pg: `sum(${pgCase})::text`, ch: `toString(sum(${chCode}))` });
      continue;
    }
    list.push(columnSum(c));
  }
  const w = identifier(spec.weighted);
  list.push({
    name: `weighted(${spec.weighted})`,
    scale: 0,
    pg: `sum((${pgPositiveMod(pgKeyHash(spec), 65_521)}) * (${pgPositiveMod(w, 65_521)}))::text`,
    ch: `toString(sum((${chPositiveMod(chKeyHash(spec), 65_521)}) * (${chPositiveMod(`toInt64(${w})`, 65_521)})))`,
  });
  return list;
}

function columnSum(c: ColumnSpec): Fingerprint {
  const name = identifier(c.name);
  const kind: ColumnKind = c.kind;
  switch (kind) {
    case 'int':
      return { name: c.name, scale: 0, pg: `sum(${name} % 2147483647)::text`, ch: `toString(sum(toInt64(${name}) % toInt64(2147483647)))` };
    case 'money':
      return { name: c.name, scale: 2, pg: `sum(${name})::text`, ch: `toString(sum(${name}))` };
    case 'timestamp':
      return { name: c.name, scale: 0, pg: `sum(${pgEpoch(name)})::text`, ch: `toString(sum(toUnixTimestamp(${name})))` };
    case 'text':
      return { name: c.name, scale: 0, pg: `sum(${pgMd5Slice(name)} % 2147483647)::text`, ch: `toString(sum(${chMd5Slice(name)} % toInt64(2147483647)))` };
    default:
      return assertNever(kind);
  }
}

/** A block range of the heap, so that several connections can each aggregate a part (the parts' sums add up). */
export interface PageRange {
  readonly fromPage: number;
  /** Exclusive; null means to the end, including pages added since the table was measured. */
  readonly toPage: number | null;
}

export function pgFirstPassSql(spec: TableSpec, t: SqlTarget, w: EpochWindow, plan: FirstPassPlan, pages?: PageRange): string {
  const fps = fingerprints(spec, plan).map((f, i) => `${f.pg} AS f${i}`);
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
    case 'money':
      return `toString(toDecimal128(${name}, 2))`;
    case 'timestamp':
      return `formatDateTime(${name}, '%Y-%m-%dT%H:%M:%SZ', 'UTC')`;
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
  const fps = fingerprints(spec, plan).map((f, i) => `${f.ch} AS f${i}`);
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

/** The distinct values of a dictionary column among the window's stored versions (a superset of the live ones). */
export function chDictionarySql(spec: TableSpec, t: SqlTarget, w: EpochWindow, column: string): string {
  const name = identifier(column);
  return `SELECT DISTINCT ${name} AS v FROM ${chStorage(spec, t)} WHERE is_deleted = 0 AND ${chWindow(spec, w)} ORDER BY v LIMIT ${MAX_DICTIONARY + 1}`;
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
