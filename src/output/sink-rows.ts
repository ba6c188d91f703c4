import type { ConsumedRecord } from '../clients/kafka.ts';
import { column, OUTPUT_TABLES as DEFINITION, TYPES, type OutputTable as TableDefinition, type OutputTableName, type SinkKind } from '../domain/output-tables.ts';

/**
 * The pure part of the ClickHouse sink: one output-topic record (src/stream/records.ts) becomes
 * one JSONEachRow line of a versioned storage table, or a reason to dead-letter it. No I/O and no
 * binary floating point: money goes from its decimal string to a JSON number by text, so
 * Decimal(18,2) receives exactly the cents the processor computed.
 */

export type OutputTable = OutputTableName;

/** The output topics the sink reads, one per table. */
export interface SinkTopics {
  readonly processedOrders: string;
  readonly orderSummaries: string;
  readonly fraudAlerts: string;
}

export function tableOfTopic(topics: SinkTopics, topic: string): OutputTable | undefined {
  if (topic === topics.processedOrders) return 'processed_orders';
  if (topic === topics.orderSummaries) return 'order_summaries';
  if (topic === topics.fraudAlerts) return 'fraud_alerts';
  return undefined;
}

/** The storage table holding every version of a table's rows; the table's own name is its view. */
export function versionsTable(table: OutputTable): string {
  return `${table}_versions`;
}

type ColumnKind = SinkKind;

interface Column {
  readonly name: string;
  readonly kind: ColumnKind;
  /** `"name":`, built once: rows are assembled as text. */
  readonly prefix: string;
  /** The JSON written when a record lacks the column: one produced before the column was added. */
  readonly absent?: string;
}

interface TableShape {
  /** Key columns: read from the record key (which names the row) and checked against the value. */
  readonly key: readonly Column[];
  /** Value columns, in storage order. */
  readonly value: readonly Column[];
  /** Storage-only columns the sink fills (source_ts, ingested_at). */
  readonly extras: readonly string[];
}

/** A table's shape in the sink, from its definition in src/domain/output-tables.ts. */
export function sinkShape(table: TableDefinition): TableShape {
  const col = (name: string): Column => {
    const c = column(table, name);
    const older = c.default ?? c.olderRecords;
    const kind = TYPES[c.type].sink;
    // A timestamp goes to DateTime as epoch seconds, like every other value of it.
    const absent = older === undefined ? undefined : kind === 'datetime' ? String(Math.floor(Date.parse(older) / 1000)) : JSON.stringify(older);
    return { name, kind, prefix: `${JSON.stringify(name)}:`, ...(absent === undefined ? {} : { absent }) };
  };
  return {
    key: table.streamKey.map(col),
    value: table.columns.filter((c) => !table.streamKey.includes(c.name)).map((c) => col(c.name)),
    extras: table.storageExtras.map((e) => e.name),
  };
}

const SHAPES: Readonly<Record<OutputTable, TableShape>> = {
  processed_orders: sinkShape(DEFINITION.processed_orders),
  order_summaries: sinkShape(DEFINITION.order_summaries),
  fraud_alerts: sinkShape(DEFINITION.fraud_alerts),
};

/** Column names of a storage table in insert order (key, values, extras, version, is_deleted). */
export function storageColumns(table: OutputTable): readonly string[] {
  const shape = SHAPES[table];
  return [...shape.key.map((c) => c.name), ...shape.value.map((c) => c.name), ...shape.extras, 'version', 'is_deleted'];
}

/** One row ready for `INSERT ... FORMAT JSONEachRow`. */
export interface SinkRow {
  readonly table: OutputTable;
  /** The storage key as text (e.g. `12:7`), to keep only the latest version of a key within a batch. */
  readonly key: string;
  /** The Kafka offset: the row's version. */
  readonly version: bigint;
  readonly deleted: boolean;
  /** The JSONEachRow line, every column present (18.16 ignores DEFAULT expressions for omitted ones). */
  readonly line: string;
  /** Source commit time of a processed order, for end-to-end latency; null when unknown or not applicable. */
  readonly sourceTsMs: number | null;
}

export type Conversion = { readonly ok: true; readonly row: SinkRow } | { readonly ok: false; readonly reason: string };

/** ClickHouse DateTime holds whole seconds from 1970-01-01 00:00:00 to 2105-12-31 23:59:59 (values outside wrap silently). */
export const DATETIME_MAX_SECONDS = 4_291_747_199;
/** Decimal(18,2): at most 16 digits before the point. */
const DECIMAL_INTEGER_DIGITS = 16;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

class Rejected extends Error {}

/**
 * Converts one consumed record of `table`'s topic into its storage row. A null value (tombstone)
 * becomes a row with is_deleted = 1 and type defaults. `nowMs` stamps ingested_at.
 */
export function toSinkRow(table: OutputTable, record: ConsumedRecord, nowMs: number): Conversion {
  try {
    return { ok: true, row: convert(table, record, nowMs) };
  } catch (error) {
    if (error instanceof Rejected) return { ok: false, reason: error.message };
    throw error;
  }
}

function convert(table: OutputTable, record: ConsumedRecord, nowMs: number): SinkRow {
  const shape = SHAPES[table];
  if (record.key === null) throw new Rejected(`${table} record has no key`);
  const keyObject = parseObject(record.key, 'key');
  // Built as one string: this runs for every record, and the sink is CPU-bound on it.
  let key = '';
  let line = '{';
  // Each key cell's text, kept to compare with the value's copy below; a key column added later
  // (fraud_alerts.pattern) is absent from keys written before it, and from threshold alerts' keys.
  const keyCells: string[] = [];
  for (const c of shape.key) {
    const json = cellOrAbsent(c, keyObject[c.name], 'key');
    keyCells.push(json);
    key += key === '' ? json : `:${json}`;
    line += `${c.prefix}${json},`;
  }
  let sourceTsMs: number | null = null;
  if (record.value === null) {
    for (const c of shape.value) line += `${c.prefix}${DEFAULTS[c.kind]},`;
    if (table === 'processed_orders') line += `"source_ts":0,"ingested_at":${Math.floor(nowMs / 1000)},`;
  } else {
    const value = parseObject(record.value, 'value');
    for (let i = 0; i < shape.key.length; i++) {
      const c = shape.key[i]!;
      const inValue = value[c.name];
      const inKey = keyObject[c.name];
      if (inValue === undefined || inValue === null || inKey === undefined) continue;
      const valueCell = cellJson(c, inValue, 'value');
      // A null key cell stood in for an absent one above; against a value it is refused as missing.
      if (valueCell !== (inKey === null ? cellJson(c, inKey, 'key') : keyCells[i])) {
        throw new Rejected(`${table} value has ${c.name} ${JSON.stringify(inValue)} but its key says ${JSON.stringify(inKey)}`);
      }
    }
    for (const c of shape.value) line += `${c.prefix}${cellOrAbsent(c, value[c.name], 'value')},`;
    if (table === 'processed_orders') {
      sourceTsMs = sourceTimestamp(value.source_ts_ms);
      const sourceSeconds = sourceTsMs === null ? 0 : Math.floor(sourceTsMs / 1000);
      line += `"source_ts":${sourceSeconds},"ingested_at":${Math.floor(nowMs / 1000)},`;
    }
  }
  // UInt64 as a JSON string: exact beyond 2^53.
  line += `"version":"${record.offset}","is_deleted":${record.value === null ? 1 : 0}}`;
  return { table, key, version: record.offset, deleted: record.value === null, line, sourceTsMs };
}

const DEFAULTS: Readonly<Record<ColumnKind, string>> = { int64: '0', int32: '0', money: '0', string: '""', datetime: '0' };

function parseObject(bytes: Buffer, what: 'key' | 'value'): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new Rejected(`${what} is not JSON: ${JSON.stringify(bytes.toString('utf8').slice(0, 80))}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Rejected(`${what} is not a JSON object`);
  return parsed as Record<string, unknown>;
}

/** cellJson, or the column's `absent` text when the record lacks it (a record written before the column existed). */
function cellOrAbsent(column: Column, raw: unknown, where: 'key' | 'value'): string {
  return (raw === undefined || raw === null) && column.absent !== undefined ? column.absent : cellJson(column, raw, where);
}

/** The JSON text of one column's value as ClickHouse takes it; equal texts mean equal values. */
function cellJson(column: Column, raw: unknown, where: 'key' | 'value'): string {
  if (raw === undefined || raw === null) throw new Rejected(`${where} lacks ${column.name}`);
  switch (column.kind) {
    case 'int64':
      if (typeof raw !== 'number' || !Number.isSafeInteger(raw)) throw new Rejected(`${column.name} ${JSON.stringify(raw)} is not an integer that fits Int64 exactly`);
      return String(raw);
    case 'int32':
      if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < INT32_MIN || raw > INT32_MAX) throw new Rejected(`${column.name} ${JSON.stringify(raw)} is out of range for Int32`);
      return String(raw);
    case 'money':
      return decimalText(raw, column.name);
    case 'string':
      if (typeof raw !== 'string') throw new Rejected(`${column.name} ${JSON.stringify(raw)} is not a string`);
      return JSON.stringify(raw);
    case 'datetime':
      return String(datetimeSeconds(raw, column.name));
    default:
      return assertNever(column.kind);
  }
}

const MONEY = /^(-?)(\d+)(?:\.(\d{1,2}))?$/;

/**
 * A money string ("1234.5", "-0.01", "12") as the JSON number text Decimal(18,2) accepts: two
 * places, no leading zeros, "-0.00" as "0.00". Done on text, so no value is ever rounded.
 */
export function decimalText(raw: unknown, name: string): string {
  if (typeof raw !== 'string') throw new Rejected(`${name} ${JSON.stringify(raw)} is not a decimal string`);
  const match = MONEY.exec(raw);
  if (!match) throw new Rejected(`${name} ${JSON.stringify(raw)} is not a decimal with at most 2 places`);
  const [, sign = '', whole = '', fraction = ''] = match;
  const integer = whole.replace(/^0+(?=\d)/, '');
  if (integer.length > DECIMAL_INTEGER_DIGITS) throw new Rejected(`${name} ${raw} is out of range for Decimal(18,2) (at most ${DECIMAL_INTEGER_DIGITS} digits before the point)`);
  const cents = fraction.padEnd(2, '0');
  const zero = integer === '0' && cents === '00';
  return `${zero ? '' : sign}${integer}.${cents}`;
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const UTC_ZONES = new Set(['Z', '+00:00', '-00:00']);

/**
 * An ISO-8601 timestamp with a zone as whole seconds since the epoch (the fraction truncated:
 * DateTime holds whole seconds), checked against the calendar (Date.parse would roll 2026-02-31
 * over into March) and against DateTime's range. The sink writes DateTime values as these numbers,
 * which ClickHouse (18.16 and current) reads as instants whatever the column's or server's zone;
 * text would be read in the column's zone, and a column without one takes the server's.
 */
export function datetimeSeconds(raw: unknown, name: string): number {
  const match = typeof raw === 'string' ? ISO.exec(raw) : null;
  if (!match) throw new Rejected(`${name} ${JSON.stringify(raw)} is not an ISO-8601 timestamp with a zone`);
  const [, y = '', mo = '', d = '', h = '', mi = '', s = '', zone = ''] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) {
    throw new Rejected(`${name} ${JSON.stringify(raw)} is not a valid date`);
  }
  const seconds = UTC_ZONES.has(zone) ? Date.UTC(year, month - 1, day, Number(h), Number(mi), Number(s)) / 1000 : Math.floor(Date.parse(match[0]) / 1000);
  if (!(seconds >= 0 && seconds <= DATETIME_MAX_SECONDS)) throw dateOutOfRange(name, match[0]);
  return seconds;
}

/** The same instant as UTC DateTime text, "YYYY-MM-DD hh:mm:ss" (for messages and tests). */
export function datetimeText(raw: unknown, name: string): string {
  return utcText(datetimeSeconds(raw, name));
}

function dateOutOfRange(name: string, text: string): Rejected {
  return new Rejected(`${name} ${text} is out of range for ClickHouse DateTime (1970-01-01T00:00:00Z to 2105-12-31T23:59:59Z)`);
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function utcText(seconds: number): string {
  return new Date(seconds * 1000).toISOString().slice(0, 19).replace('T', ' ');
}

/** source_ts_ms may be absent, null or 0 (unknown); anything unusable counts as unknown rather than losing the row. */
function sourceTimestamp(raw: unknown): number | null {
  if (typeof raw !== 'number' || !Number.isSafeInteger(raw) || raw <= 0 || raw / 1000 > DATETIME_MAX_SECONDS) return null;
  return raw;
}

/** Keeps the highest version of each key (a batch may hold several updates of one key). */
export function latestPerKey(rows: readonly SinkRow[]): SinkRow[] {
  const latest = new Map<string, SinkRow>();
  for (const row of rows) {
    const seen = latest.get(row.key);
    if (!seen || seen.version < row.version) latest.set(row.key, row);
  }
  return [...latest.values()];
}

function assertNever(value: never): never {
  throw new Error(`unexpected column kind ${String(value)}`);
}
