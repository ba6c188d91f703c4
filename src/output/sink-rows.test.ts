import { describe, expect, it } from 'vitest';
import type { ConsumedRecord } from '../clients/kafka.ts';
import { decimalText, datetimeText, latestPerKey, storageColumns, toSinkRow, type SinkRow } from './sink-rows.ts';

const record = (key: string | null, value: object | string | null, offset = 7n, topic = 'processed-orders'): ConsumedRecord => ({
  topic,
  partition: 2,
  offset,
  key: key === null ? null : Buffer.from(key),
  value: value === null ? null : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
  headers: {},
  timestamp: 0,
});

const processed = {
  order_id: 12,
  customer_id: 7,
  customer_tier: 'GOLD',
  product_id: 3,
  product_category: 'electronics',
  quantity: 2,
  amount: '1234.50',
  discount: '123.45',
  tax: '111.11',
  final_amount: '1222.16',
  status: 'PAID',
  created_at: '2026-11-25T12:34:56.789Z',
  processed_at: '2026-11-25T12:34:57.999Z',
  source_ts_ms: 1795610096789,
};
const processedKey = '{"order_id":12,"customer_id":7}';
const NOW = Date.parse('2026-11-25T12:35:00.500Z');

function rowOf(table: Parameters<typeof toSinkRow>[0], r: ConsumedRecord): SinkRow {
  const converted = toSinkRow(table, r, NOW);
  if (!converted.ok) throw new Error(`expected a row, got: ${converted.reason}`);
  return converted.row;
}

function reasonOf(table: Parameters<typeof toSinkRow>[0], r: ConsumedRecord): string {
  const converted = toSinkRow(table, r, NOW);
  if (converted.ok) throw new Error(`expected a rejection, got ${converted.row.line}`);
  return converted.reason;
}

describe('toSinkRow', () => {
  it('turns a processed order into a versioned row with exact decimals and whole-second UTC times', () => {
    const row = rowOf('processed_orders', record(processedKey, processed, 41n));
    expect(row.key).toBe('12:7');
    expect(row.version).toBe(41n);
    expect(row.deleted).toBe(false);
    expect(row.sourceTsMs).toBe(1795610096789);
    expect(row.line).toBe(
      '{"order_id":12,"customer_id":7,"customer_tier":"GOLD","product_id":3,"product_category":"electronics","quantity":2,' +
        '"amount":1234.50,"discount":123.45,"tax":111.11,"final_amount":1222.16,"status":"PAID",' +
        '"created_at":1795610096,"processed_at":1795610097,"channel":"web","source_ts":1795610096,"ingested_at":1795610100,"version":"41","is_deleted":0}',
    );
    // Every storage column is present, in storage order: 18.16 gives omitted ones type defaults.
    expect(Object.keys(JSON.parse(row.line) as object)).toEqual(storageColumns('processed_orders'));
  });

  it("writes a record's channel, and the column's default for a record written before the column existed", () => {
    const partner = JSON.parse(rowOf('processed_orders', record(processedKey, { ...processed, channel: 'partner' })).line) as Record<string, unknown>;
    expect(partner.channel).toBe('partner');
    // `processed` has no channel: what the processor wrote before it carried one.
    expect((JSON.parse(rowOf('processed_orders', record(processedKey, processed)).line) as Record<string, unknown>).channel).toBe('web');
    expect(reasonOf('processed_orders', record(processedKey, { ...processed, channel: 7 }))).toBe('channel 7 is not a string');
  });

  it('turns a tombstone into a deleted row at its offset, keyed from the record key', () => {
    const row = rowOf('processed_orders', record(processedKey, null, 99n));
    expect(row).toMatchObject({ key: '12:7', version: 99n, deleted: true, sourceTsMs: null });
    const parsed = JSON.parse(row.line) as Record<string, unknown>;
    expect(parsed).toMatchObject({ order_id: 12, customer_id: 7, amount: 0, customer_tier: '', created_at: 0, version: '99', is_deleted: 1 });
    expect(Object.keys(parsed)).toEqual(storageColumns('processed_orders'));
  });

  it('keys summaries by customer and window start, and deletes one window with a tombstone', () => {
    const key = '{"customer_id":7,"window_start":"2026-11-25T12:30:00.000Z"}';
    const value = {
      customer_id: 7,
      window_start: '2026-11-25T12:30:00.000Z',
      window_end: '2026-11-25T12:35:00.000Z',
      order_count: 3,
      total_amount: '0.10',
      total_final_amount: '-0.00',
      updated_at: '2026-11-25T12:36:00.000Z',
    };
    const row = rowOf('order_summaries', record(key, value, 5n, 'order-summaries'));
    expect(row.key).toBe('7:1795609800');
    expect(row.line).toBe(
      '{"customer_id":7,"window_start":1795609800,"window_end":1795610100,"order_count":3,"total_amount":0.10,"total_final_amount":0.00,"version":"5","is_deleted":0}',
    );
    const tombstone = rowOf('order_summaries', record(key, null, 6n, 'order-summaries'));
    expect(tombstone.line).toBe('{"customer_id":7,"window_start":1795609800,"window_end":0,"order_count":0,"total_amount":0,"total_final_amount":0,"version":"6","is_deleted":1}');
  });

  it('converts a fraud alert', () => {
    const alert = { order_id: 12, customer_id: 7, final_amount: '10000.01', severity: 'HIGH', reason: 'final "amount" > 10000.00', created_at: '2026-11-25T12:34:56Z', alerted_at: '2026-11-25T12:35:00.001+00:00' };
    const row = rowOf('fraud_alerts', record(processedKey, alert, 3n, 'fraud-alerts'));
    // Written before fraud patterns (no pattern in key or value): a threshold alert, no window.
    expect(JSON.parse(row.line)).toEqual({ ...alert, final_amount: 10000.01, created_at: 1795610096, alerted_at: 1795610100, pattern: '', matched_order_ids: '', window_start: 0, window_end: 0, version: '3', is_deleted: 0 });
  });

  it('converts a pattern alert, whose key names its pattern', () => {
    const key = '{"order_id":12,"customer_id":7,"pattern":"velocity"}';
    const alert = { order_id: 12, customer_id: 7, final_amount: '3500.00', severity: 'MEDIUM', reason: '3 orders', created_at: '2026-11-25T12:30:00.000Z', alerted_at: '2026-11-25T12:35:00.001Z', pattern: 'velocity', matched_order_ids: '12,15,19', window_start: '2026-11-25T12:30:00.000Z', window_end: '2026-11-25T12:40:00.000Z' };
    const row = rowOf('fraud_alerts', record(key, alert, 4n, 'fraud-alerts'));
    expect(row.key).toBe('12:7:"velocity"');
    expect(JSON.parse(row.line)).toEqual({ ...alert, final_amount: 3500, created_at: 1795609800, alerted_at: 1795610100, window_start: 1795609800, window_end: 1795610400, version: '4', is_deleted: 0 });
    const threshold = rowOf('fraud_alerts', record(processedKey, { ...alert, pattern: '' }, 5n, 'fraud-alerts'));
    expect(threshold.key).toBe('12:7:""');
    expect(rowOf('fraud_alerts', record(key, null, 6n, 'fraud-alerts'))).toMatchObject({ key: '12:7:"velocity"', deleted: true });
  });

  it('counts a missing or zero source timestamp as unknown', () => {
    expect(rowOf('processed_orders', record(processedKey, { ...processed, source_ts_ms: null })).sourceTsMs).toBeNull();
    const zero = rowOf('processed_orders', record(processedKey, { ...processed, source_ts_ms: 0 }));
    expect(zero.sourceTsMs).toBeNull();
    expect(JSON.parse(zero.line)).toMatchObject({ source_ts: 0 });
  });

  it.each([
    ['a key that is not JSON', record('12', processed), /key is not a JSON object/],
    ['no key', record(null, processed), /has no key/],
    ['a key without customer_id', record('{"order_id":12}', processed), /key lacks customer_id/],
    ['a value that is not JSON', record(processedKey, '{oops'), /value is not JSON/],
    ['a value for another key', record(processedKey, { ...processed, customer_id: 8 }), /customer_id 8 but its key says 7/],
    ['a missing column', record(processedKey, { ...processed, tax: undefined }), /value lacks tax/],
    ['money as a number', record(processedKey, { ...processed, amount: 12.5 }), /amount 12.5 is not a decimal string/],
    ['three decimal places', record(processedKey, { ...processed, amount: '1.005' }), /at most 2 places/],
    ['a Decimal(18,2) overflow', record(processedKey, { ...processed, final_amount: '12345678901234567.00' }), /out of range for Decimal\(18,2\)/],
    ['a date after 2105', record(processedKey, { ...processed, created_at: '2200-01-01T00:00:00.000Z' }), /created_at 2200-01-01T00:00:00.000Z is out of range for ClickHouse DateTime/],
    ['a date before 1970', record(processedKey, { ...processed, created_at: '1969-12-31T23:59:59.999Z' }), /out of range for ClickHouse DateTime/],
    ['a timestamp without zone', record(processedKey, { ...processed, created_at: '2026-11-25 12:00:00' }), /not an ISO-8601 timestamp with a zone/],
    ['a day the calendar lacks', record(processedKey, { ...processed, created_at: '2026-02-31T12:00:00Z' }), /created_at "2026-02-31T12:00:00Z" is not a valid date/],
    ['hour 24', record(processedKey, { ...processed, created_at: '2026-02-28T24:00:00Z' }), /is not a valid date/],
    ['quantity beyond Int32', record(processedKey, { ...processed, quantity: 2 ** 31 }), /quantity 2147483648 is out of range for Int32/],
    ['an id beyond 2^53', record('{"order_id":9007199254740993,"customer_id":7}', processed), /order_id .* fits Int64 exactly/],
    ['a tier that is not a string', record(processedKey, { ...processed, customer_tier: 4 }), /customer_tier 4 is not a string/],
  ])('rejects %s with a reason', (_what, r, reason) => {
    expect(reasonOf('processed_orders', r)).toMatch(reason);
  });
});

describe('decimalText', () => {
  it.each([
    ['0', '0.00'],
    ['12', '12.00'],
    ['12.5', '12.50'],
    ['-0.01', '-0.01'],
    ['-0.00', '0.00'],
    ['007.10', '7.10'],
    ['9999999999999999.99', '9999999999999999.99'],
    ['-9999999999999999.99', '-9999999999999999.99'],
    // Exact where a JS number is not: 2^53 + 1 cents.
    ['90071992547409.93', '90071992547409.93'],
  ])('%s becomes %s', (input, expected) => {
    expect(decimalText(input, 'amount')).toBe(expected);
  });

  it('refuses 17 integer digits', () => {
    expect(() => decimalText('10000000000000000.00', 'amount')).toThrow(/out of range for Decimal\(18,2\)/);
  });
});

describe('datetimeText', () => {
  it('truncates fractions and converts offsets to UTC', () => {
    expect(datetimeText('2026-11-25T12:00:00.999Z', 'created_at')).toBe('2026-11-25 12:00:00');
    expect(datetimeText('2026-11-25T14:00:00.5+02:00', 'created_at')).toBe('2026-11-25 12:00:00');
    expect(datetimeText('2026-11-25T00:30:00-01:00', 'created_at')).toBe('2026-11-25 01:30:00');
    expect(datetimeText('2024-02-29T00:00:00+00:00', 'created_at')).toBe('2024-02-29 00:00:00');
  });

  it('accepts the edges of DateTime and refuses what lies beyond', () => {
    expect(datetimeText('1970-01-01T00:00:00.000Z', 'x')).toBe('1970-01-01 00:00:00');
    expect(datetimeText('2105-12-31T23:59:59.999Z', 'x')).toBe('2105-12-31 23:59:59');
    expect(() => datetimeText('2106-01-01T00:00:00.000Z', 'x')).toThrow(/out of range/);
    expect(() => datetimeText('1970-01-01T00:30:00+01:00', 'x')).toThrow(/out of range/);
    expect(() => datetimeText('2105-12-31T23:00:00-01:00', 'x')).toThrow(/out of range/);
  });

  it('refuses days the calendar lacks', () => {
    expect(() => datetimeText('2026-02-29T00:00:00Z', 'x')).toThrow(/not a valid date/);
    expect(() => datetimeText('2100-02-29T00:00:00Z', 'x')).toThrow(/not a valid date/);
    expect(() => datetimeText('2026-04-31T00:00:00Z', 'x')).toThrow(/not a valid date/);
    expect(() => datetimeText('2026-13-01T00:00:00Z', 'x')).toThrow(/not a valid date/);
  });
});

describe('latestPerKey', () => {
  it('keeps the highest offset of each key, tombstones included', () => {
    const rows = [
      rowOf('processed_orders', record(processedKey, processed, 10n)),
      rowOf('processed_orders', record('{"order_id":13,"customer_id":7}', { ...processed, order_id: 13 }, 11n)),
      rowOf('processed_orders', record(processedKey, null, 12n)),
      rowOf('processed_orders', record(processedKey, { ...processed, amount: '1.00' }, 9n)),
    ];
    expect(latestPerKey(rows).map((r) => [r.key, r.version, r.deleted])).toEqual([
      ['12:7', 12n, true],
      ['13:7', 11n, false],
    ]);
  });
});
