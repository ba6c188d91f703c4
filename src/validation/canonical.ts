/**
 * The canonical text of an output row: the one form both engines produce for the same values, so
 * that an MD5 computed inside PostgreSQL equals the one computed inside ClickHouse. The SQL that
 * builds it lives in fingerprint-sql.ts; these pure functions are its specification (what a value
 * read from either engine canonicalises to) and are what the unit tests hold both formats against.
 *
 * - int: decimal digits with an optional minus sign;
 * - money: a fixed two-place decimal ("12.50", "-0.50", "0.00");
 * - timestamp: UTC ISO-8601 to the second, the fraction truncated ("2026-11-25T12:00:01Z"),
 *   because ClickHouse DateTime holds whole seconds and the sink truncates;
 * - text (enums too): its UTF-8 byte length, ":", then the text, so that no value can fake a
 *   field boundary.
 * Fields are joined with "|".
 */
import { createHash } from 'node:crypto';
import { assertNever } from '../core/assert-never.ts';
import type { CanonicalKind } from '../domain/output-tables.ts';

/** The kinds of src/domain/output-tables.ts. */
export type ColumnKind = CanonicalKind;

/** PostgreSQL's `('x'||substr(md5(s),1,16))::bit(64)::bigint` = ClickHouse's `reinterpretAsInt64(reverse(substring(MD5(s),1,8)))`. */
export function md5Slice(text: string): bigint {
  return BigInt.asIntN(64, BigInt(`0x${md5Hex(text).slice(0, 16)}`));
}

/** A row's 64-bit hash as the first pass sums it: the same 8 bytes as md5Slice, unsigned. */
export function rowHash(text: string): bigint {
  return BigInt.asUintN(64, md5Slice(text));
}

/** The first pass's fingerprint of a set of rows: their hashes summed modulo 2^64 (commutative, so scan order is irrelevant). */
export function rowHashSum(texts: readonly string[]): bigint {
  return BigInt.asUintN(64, texts.reduce((sum, t) => sum + rowHash(t), 0n));
}

export function md5Hex(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

/** An integer as PostgreSQL (bigint text, int4 number) or ClickHouse (Int64 string, Int32 number) returns it. */
export function canonicalInt(value: string | number | bigint): string {
  const text = typeof value === 'string' ? value.trim() : typeof value === 'number' ? integerText(value) : value.toString();
  if (!/^-?\d+$/.test(text)) throw new Error(`not an integer: ${String(value)}`);
  return BigInt(text).toString();
}

function integerText(value: number): string {
  if (!Number.isSafeInteger(value)) throw new Error(`not a safe integer: ${value}`);
  return String(value);
}

/**
 * A decimal as PostgreSQL numeric text ("12.5", "12.50") or ClickHouse `toString(Decimal)`
 * ("12.50") to two places. Digits beyond the second must be zeros: money is never rounded here.
 */
export function canonicalMoney(value: string | number): string {
  return formatScaled(parseScaled(typeof value === 'number' ? value.toFixed(2) : value, 2), 2);
}

/** An exact decimal text as an integer count of 10^-scale units; throws when it has finer non-zero digits. */
export function parseScaled(text: string, scale: number): bigint {
  const match = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(text.trim());
  if (!match || (match[2] === '' && (match[3] ?? '') === '')) throw new Error(`not a decimal: ${text}`);
  const [, sign, whole = '', fraction = ''] = match;
  if (fraction.length > scale && /[1-9]/.test(fraction.slice(scale))) throw new Error(`${text} has more than ${scale} decimal places`);
  const units = BigInt((whole || '0') + fraction.slice(0, scale).padEnd(scale, '0'));
  return sign === '-' ? -units : units;
}

export function formatScaled(units: bigint, scale: number): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, '0');
  const text = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return negative ? `-${text}` : text;
}

/** A timestamp as `pg` returns it (a Date), ClickHouse text ("YYYY-MM-DD hh:mm:ss", UTC) or ISO text. */
export function canonicalTimestamp(value: Date | string): string {
  const ms = value instanceof Date ? value.getTime() : parseTimestampText(value);
  if (!Number.isFinite(ms)) throw new Error(`not a timestamp: ${String(value)}`);
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19) + 'Z';
}

function parseTimestampText(text: string): number {
  const trimmed = text.trim();
  // ClickHouse DateTime text carries no zone; the server (and every query here) speaks UTC.
  if (/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(trimmed)) return Date.parse(`${trimmed.replace(' ', 'T')}Z`);
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  return Date.parse(trimmed);
}

/** Whole seconds since the epoch, floored, from a canonical timestamp. */
export function epochSeconds(canonical: string): number {
  return Math.floor(Date.parse(canonical) / 1000);
}

export function canonicalText(value: string): string {
  return value;
}

export function canonicalValue(kind: ColumnKind, value: unknown): string {
  switch (kind) {
    case 'int':
      return canonicalInt(value as string | number);
    case 'money':
      return canonicalMoney(value as string | number);
    case 'timestamp':
      return canonicalTimestamp(value as Date | string);
    case 'text':
      return canonicalText(String(value));
    default:
      return assertNever(kind);
  }
}

/** One field of the row text: text is length-prefixed (bytes), the rest are self-delimiting. */
export function fieldText(kind: ColumnKind, canonical: string): string {
  return kind === 'text' ? `${Buffer.byteLength(canonical, 'utf8')}:${canonical}` : canonical;
}

export const FIELD_SEPARATOR = '|';

/** The canonical text of a row from its columns' kinds and canonical values, in column order. */
export function canonicalRow(columns: readonly { readonly kind: ColumnKind }[], values: readonly string[]): string {
  return columns.map((c, i) => fieldText(c.kind, values[i] ?? '')).join(FIELD_SEPARATOR);
}
