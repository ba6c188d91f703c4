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
