import { describe, expect, it } from 'vitest';
import { decodeProcessed, decodeProcessedKey, decodeRouted, encodeEmission, encodeRouted } from './records.ts';

describe('the repartition format', () => {
  it('carries the customer a delete retracts', () => {
    const line = encodeRouted({ op: 'delete', id: 42, customerId: 7, ts: 1700000000123 });
    expect(line).toBe('d|42|7|1700000000123');
    expect(decodeRouted(Buffer.from(line))).toEqual({ op: 'delete', id: 42, customerId: 7, ts: 1700000000123 });
  });

  it('reads deletes written before the customer was carried (customer unknown)', () => {
    expect(decodeRouted(Buffer.from('d|42|1700000000123'))).toEqual({ op: 'delete', id: 42, customerId: null, ts: 1700000000123 });
    expect(decodeRouted(Buffer.from('d|42||'))).toEqual({ op: 'delete', id: 42, customerId: null, ts: null });
  });

  it('round-trips an upsert and refuses malformed lines', () => {
    const order = { id: 1, customerId: 2, productId: 3, quantity: 4, amountCents: 12345, status: 'PAID' as const, createdAt: 1764000000000 };
    expect(encodeRouted({ op: 'upsert', order, ts: null })).toBe('u|1|2|3|4|12345|PAID|1764000000000|');
    expect(decodeRouted(Buffer.from('u|1|2|3|4|12345|PAID|1764000000000|'))).toEqual({ op: 'upsert', order, ts: null });
    expect(decodeRouted(Buffer.from('d|x|7|1'))).toBeUndefined();
    expect(decodeRouted(Buffer.from('u|1|2|3|4|12345|LOST|1764000000000|'))).toBeUndefined();
  });
});

describe('decodeProcessedKey', () => {
  it('reads the order and customer a processed-orders key names, and nothing from other shapes', () => {
    expect(decodeProcessedKey(Buffer.from('{"order_id":1000000000007,"customer_id":42}'))).toEqual({ orderId: 1000000000007, customerId: 42 });
    expect(decodeProcessedKey(Buffer.from('{"customer_id":42,"window_start":"2026-11-30T10:00:00.000Z"}'))).toBeUndefined();
    expect(decodeProcessedKey(Buffer.from('not json'))).toBeUndefined();
  });
});

describe('processed-orders records', () => {
  it('carry the tier change time the escalation was evaluated with; records written before it read as unknown', () => {
    const row = { orderId: 7, customerId: 3, customerTier: 'GOLD', productId: 2, productCategory: 'books', quantity: 1, amountCents: 250_000, discountCents: 25_000, taxCents: 0, finalCents: 225_000, status: 'PLACED', createdAt: Date.UTC(2026, 10, 30, 10, 0) } as const;
    const encoded = encodeEmission({ kind: 'processed', orderId: 7, customerId: 3, row, sourceTsMs: null, tierChangedAt: Date.UTC(2026, 10, 30, 9, 50) }, '2026-11-30T10:00:01.000Z', 5);
    expect(JSON.parse(encoded.value!).tier_changed_at_ms).toBe(Date.UTC(2026, 10, 30, 9, 50));
    expect(decodeProcessed(Buffer.from(encoded.value!))?.tierChangedAt).toBe(Date.UTC(2026, 10, 30, 9, 50));
    const older = { ...JSON.parse(encoded.value!) };
    delete older.tier_changed_at_ms;
    expect(decodeProcessed(Buffer.from(JSON.stringify(older)))?.tierChangedAt).toBeUndefined();
  });
});

describe('the output JSON', () => {
  const money = (cents: number) => `${cents < 0 ? '-' : ''}${Math.floor(Math.abs(cents) / 100)}.${String(Math.abs(cents) % 100).padStart(2, '0')}`;
  const categories = ['books', 'garden & "outdoor"', 'caf\u00e9 \\ back', 'emoji \u{1F600}', 'tab\there', ''];
  const statuses = ['PLACED', 'PAID', 'SHIPPED'] as const;
  const tiers = ['NEW', 'SILVER', 'GOLD'] as const;

  it('writes a processed row as the text JSON.stringify gives the same object, field for field', () => {
    for (let i = 0; i < 500; i++) {
      const orderId = i % 7 === 0 ? 1_000_000_000_000 + i : 1_000 + i; // partner orders' ids start at 10^12
      const row = {
        orderId, customerId: 1 + (i % 97), customerTier: tiers[i % 3]!, productId: i % 200, productCategory: categories[i % categories.length]!,
        quantity: 1 + (i % 5), amountCents: i * 1_337, discountCents: i % 11 === 0 ? -5 : i * 13, taxCents: i, finalCents: i * 1_300, status: statuses[i % 3]!,
        createdAt: Date.UTC(2026, 10, 30) + i * 61_001,
      };
      const sourceTsMs = i % 4 === 0 ? null : row.createdAt + 5;
      const tierChangedAt = i % 3 === 0 ? null : row.createdAt - 1;
      const nowIso = '2026-12-01T11:00:00.123Z';
      const encoded = encodeEmission({ kind: 'processed', orderId, customerId: row.customerId, row, sourceTsMs, tierChangedAt }, nowIso, 5);
      const expected = JSON.stringify({
        order_id: row.orderId, customer_id: row.customerId, customer_tier: row.customerTier, product_id: row.productId, product_category: row.productCategory,
        quantity: row.quantity, amount: money(row.amountCents), discount: money(row.discountCents), tax: money(row.taxCents), final_amount: money(row.finalCents),
        status: row.status, created_at: new Date(row.createdAt).toISOString(), processed_at: nowIso, channel: i % 7 === 0 ? 'partner' : 'web',
        source_ts_ms: sourceTsMs, tier_changed_at_ms: tierChangedAt,
      });
      expect(encoded.value).toBe(expected);
    }
  });

  it('writes a summary as the text JSON.stringify gives the same object', () => {
    const windowStartMs = Date.UTC(2026, 10, 30, 10, 5);
    const encoded = encodeEmission({ kind: 'summary', customerId: 42, windowStartMs, summary: { orderCount: 3, totalAmountCents: 123_456, totalFinalCents: -7 } }, '2026-12-01T11:00:00.000Z', 5);
    expect(encoded.value).toBe(
      JSON.stringify({ customer_id: 42, window_start: '2026-11-30T10:05:00.000Z', window_end: '2026-11-30T10:10:00.000Z', order_count: 3, total_amount: '1234.56', total_final_amount: '-0.07', updated_at: '2026-12-01T11:00:00.000Z' }),
    );
  });
});
