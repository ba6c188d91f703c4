import { describe, expect, it } from 'vitest';
import { TABLE_SPECS } from './tables.ts';
import { canonicalInt, canonicalMoney, canonicalRow, canonicalTimestamp, canonicalValue, md5Hex, md5Slice, parseScaled, rowHash, rowHashSum } from './canonical.ts';

describe('canonical forms: the same text from either engine', () => {
  it('money: PostgreSQL numeric text and ClickHouse toString(Decimal) agree to two places', () => {
    // PostgreSQL numeric(12,2) prints "12.50"; a sum may print "12.5"; ClickHouse prints "12.50", "-0.50", "0.00".
    expect(canonicalMoney('12.50')).toBe('12.50');
    expect(canonicalMoney('12.5')).toBe('12.50');
    expect(canonicalMoney('12')).toBe('12.00');
    expect(canonicalMoney('-0.50')).toBe('-0.50');
    expect(canonicalMoney('-.5')).toBe('-0.50');
    expect(canonicalMoney('0.00')).toBe('0.00');
    expect(canonicalMoney('-0')).toBe('0.00');
    expect(canonicalMoney('10000.000')).toBe('10000.00');
    expect(canonicalMoney(12.5)).toBe('12.50');
  });

  it('money is never rounded: a third non-zero place is an error', () => {
    expect(() => canonicalMoney('1.005')).toThrow(/more than 2 decimal places/);
  });

  it('timestamps: a pg Date with milliseconds and ClickHouse DateTime text agree, the fraction truncated', () => {
    const fromPostgres = canonicalTimestamp(new Date('2026-11-25T12:00:01.999Z'));
    const fromClickHouse = canonicalTimestamp('2026-11-25 12:00:01');
    expect(fromPostgres).toBe('2026-11-25T12:00:01Z');
    expect(fromClickHouse).toBe(fromPostgres);
    expect(canonicalTimestamp('2026-11-25T12:00:01Z')).toBe(fromPostgres);
    expect(canonicalTimestamp('1795608001')).toBe(fromPostgres);
  });

  it('integers: pg int8 text, int4 numbers and ClickHouse Int64 strings agree', () => {
    expect(canonicalInt('0042')).toBe('42');
    expect(canonicalInt(42)).toBe('42');
    expect(canonicalInt('-9223372036854775808')).toBe('-9223372036854775808');
    expect(() => canonicalInt('4.2')).toThrow();
  });

  it('the row text length-prefixes text so no value can fake a field boundary', () => {
    const cols = [{ kind: 'int' as const }, { kind: 'text' as const }, { kind: 'text' as const }];
    const a = canonicalRow(cols, ['1', 'a|b', 'c']);
    const b = canonicalRow(cols, ['1', 'a', 'b|c']);
    expect(a).toBe('1|3:a|b|1:c');
    expect(a).not.toBe(b);
    // Byte length, as PostgreSQL octet_length and ClickHouse length count.
    expect(canonicalRow([{ kind: 'text' }], ['é'])).toBe('2:é');
  });

  it('a processed order read from each engine has one canonical text and one MD5', () => {
    const kinds = ['int', 'int', 'text', 'money', 'timestamp'] as const;
    const pgRow = ['17', 3, 'GOLD', '1234.5', new Date('2026-11-25T12:00:00.250Z')];
    const chRow = ['17', '3', 'GOLD', '1234.50', '2026-11-25 12:00:00'];
    const text = (row: readonly unknown[]) => canonicalRow(kinds.map((kind) => ({ kind })), kinds.map((k, i) => canonicalValue(k, row[i])));
    expect(text(pgRow)).toBe('17|3|4:GOLD|1234.50|2026-11-25T12:00:00Z');
    expect(md5Hex(text(pgRow))).toBe(md5Hex(text(chRow)));
  });

  it('md5Slice matches the values PostgreSQL and ClickHouse 18.16 return', () => {
    // Both engines answer -8070080442485551184 for 'abc' (checked on the local stack).
    expect(md5Slice('abc')).toBe(-8070080442485551184n);
    expect(md5Slice('a')).toBe(BigInt.asIntN(64, 0x0cc175b9c0f1b6a8n));
  });

  it('a processed_orders row has exactly this canonical text (key first, spec column order)', () => {
    const spec = TABLE_SPECS.processed_orders;
    const columns = [...spec.key, ...spec.columns];
    const values = ['1001', '7', 'GOLD', '12', 'electronics', '2', '100.00', '10.00', '9.00', '99.00', 'PAID', '2026-11-25T12:00:00Z', 'web'];
    expect(canonicalRow(columns, values)).toBe('1001|7|4:GOLD|12|11:electronics|2|100.00|10.00|9.00|99.00|4:PAID|2026-11-25T12:00:00Z|3:web');
  });

  it('the first-pass sum does not let two rows swapping a value cancel out (a sum of the column would)', () => {
    const spec = TABLE_SPECS.processed_orders;
    const columns = [...spec.key, ...spec.columns];
    const row = (id: string, final: string) => canonicalRow(columns, [id, '7', 'GOLD', '12', 'books', '1', '100.00', '10.00', '0.00', final, 'PAID', '2026-11-25T12:00:00Z', 'web']);
    const batch = [row('1', '90.00'), row('2', '95.00')];
    const swapped = [row('1', '95.00'), row('2', '90.00')];
    expect(rowHashSum(swapped)).not.toBe(rowHashSum(batch));
    // Order does not matter, and the sum stays within 64 bits.
    expect(rowHashSum([...batch].reverse())).toBe(rowHashSum(batch));
    expect(rowHashSum(batch) < 2n ** 64n).toBe(true);
  });

  it('rowHash is md5Slice read unsigned (ClickHouse reinterpretAsUInt64 of the same bytes)', () => {
    expect(rowHash('abc')).toBe(0x900150983cd24fb0n);
    expect(BigInt.asIntN(64, rowHash('abc'))).toBe(md5Slice('abc'));
  });

  it('parseScaled reads exact sums from both engines', () => {
    expect(parseScaled('123.45', 2)).toBe(12345n);
    expect(parseScaled('123.4', 2)).toBe(12340n);
    expect(parseScaled('-0.01', 2)).toBe(-1n);
    expect(parseScaled('18446744073709551617', 0)).toBe(18446744073709551617n);
  });
});
