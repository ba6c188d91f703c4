import { describe, expect, it } from 'vitest';
import { decodeCustomer, decodeKeyId, decodeOrder, decodeProduct } from './cdc-decode.ts';

const key = (id: number) => Buffer.from(JSON.stringify({ id }));
const value = (row: Record<string, unknown>) => Buffer.from(JSON.stringify(row));
const row = { id: 7, customer_id: 1, product_id: 2, quantity: 3, amount: '12.34', status: 'PAID', created_at: '2026-11-25T10:00:00.123456Z', updated_at: '2026-11-25T10:00:01Z', __op: 'u', __source_ts_ms: 1764064801000 };

describe('decodeOrder', () => {
  it('decodes an upsert with exact money, UTC time and the source time', () => {
    expect(decodeOrder(key(7), value(row))).toEqual({
      ok: true,
      value: {
        kind: 'upsert',
        sourceTsMs: 1764064801000,
        row: { id: 7, customerId: 1, productId: 2, quantity: 3, amountCents: 1234, status: 'PAID', createdAt: Date.UTC(2026, 10, 25, 10, 0, 0, 123) },
      },
    });
  });

  it('reads a rewritten delete and a tombstone as deletes by key', () => {
    expect(decodeOrder(key(7), value({ id: 7, __deleted: 'true', __op: 'd', __source_ts_ms: 5 }))).toEqual({ ok: true, value: { kind: 'delete', id: 7, sourceTsMs: 5 } });
    expect(decodeOrder(key(7), null)).toEqual({ ok: true, value: { kind: 'delete', id: 7, sourceTsMs: null } });
  });

  it('ignores new nullable columns', () => {
    expect(decodeOrder(key(7), value({ ...row, coupon_code: null })).ok).toBe(true);
  });

  it.each([
    ['undecodable JSON', Buffer.from('{nope'), 'not valid JSON'],
    ['a missing field', value({ ...row, customer_id: undefined }), 'missing required field customer_id'],
    ['an unknown status', value({ ...row, status: 'LOST' }), 'unknown order status "LOST"'],
    ['a binary-encoded decimal', value({ ...row, amount: 'AQI=' }), 'amount "AQI="'],
    ['a timestamp without zone', value({ ...row, created_at: '2026-11-25 10:00:00' }), 'created_at must be an ISO-8601 timestamp with a zone'],
  ])('rejects %s with a reason', (_name, body, reason) => {
    const decoded = decodeOrder(key(7), body);
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) expect(decoded.reason).toContain(reason);
  });
});

describe('tables', () => {
  it('decodes customers and products, rejecting unknown tiers', () => {
    expect(decodeCustomer(key(1), value({ id: 1, name: 'a', tier: 'GOLD' }))).toEqual({ ok: true, value: { kind: 'upsert', row: { id: 1, tier: 'GOLD' }, sourceTsMs: null } });
    expect(decodeCustomer(key(1), value({ id: 1, tier: 'DIAMOND' }))).toEqual({ ok: false, reason: 'unknown customer tier "DIAMOND"' });
    // When the tier last changed (escalation): ISO-8601 with a zone, milliseconds truncated like created_at.
    expect(decodeCustomer(key(1), value({ id: 1, tier: 'GOLD', tier_changed_at: '2026-11-25T10:00:00.123456Z' }))).toEqual({ ok: true, value: { kind: 'upsert', row: { id: 1, tier: 'GOLD', tierChangedAt: Date.UTC(2026, 10, 25, 10, 0, 0, 123) }, sourceTsMs: null } });
    expect(decodeCustomer(key(1), value({ id: 1, tier: 'GOLD', tier_changed_at: null }))).toEqual({ ok: true, value: { kind: 'upsert', row: { id: 1, tier: 'GOLD' }, sourceTsMs: null } });
    expect(decodeCustomer(key(1), value({ id: 1, tier: 'GOLD', tier_changed_at: 'yesterday' }))).toEqual({ ok: false, reason: 'tier_changed_at must be an ISO-8601 timestamp with a zone, got "yesterday"' });
    expect(decodeProduct(key(2), value({ id: 2, category: 'books', price: '9.99' }))).toEqual({ ok: true, value: { kind: 'upsert', row: { id: 2, category: 'books' }, sourceTsMs: null } });
  });
});

describe('a key that does not match its value', () => {
  it('is refused for upserts and deletes of every table, naming both ids', () => {
    const reason = 'key does not match value: key id 8, value id 7';
    expect(decodeOrder(key(8), value(row))).toEqual({ ok: false, reason });
    expect(decodeOrder(key(8), value({ id: 7, __deleted: 'true', __op: 'd' }))).toEqual({ ok: false, reason });
    expect(decodeCustomer(key(8), value({ id: 7, tier: 'GOLD' }))).toEqual({ ok: false, reason });
    expect(decodeProduct(key(8), value({ id: 7, category: 'books' }))).toEqual({ ok: false, reason });
  });

  it('is refused when the key is not an id at all', () => {
    expect(decodeOrder(Buffer.from([0xff, 0x00, 0x13]), value(row))).toEqual({ ok: false, reason: 'key does not match value: key: not valid JSON' });
    expect(decodeOrder(Buffer.from('{"order":7}'), value(row))).toEqual({ ok: false, reason: 'key does not match value: missing required field id' });
  });

  it('leaves keyless records and the key-only delete alone', () => {
    expect(decodeOrder(null, value(row)).ok).toBe(true);
    expect(decodeOrder(key(7), value({ __deleted: 'true', __op: 'd' }))).toEqual({ ok: true, value: { kind: 'delete', id: 7, sourceTsMs: null } });
    expect(decodeOrder(key(7), Buffer.from('7')).ok).toBe(false);
  });
});

describe('decodeKeyId', () => {
  it('reads the id of every key shape, plain `{"id":n}` keys and all others alike', () => {
    const cases: [string, number | string][] = [
      ['{"id":7}', 7],
      ['{"id":0}', 0],
      ['{"id":-12}', -12],
      ['{"id":123456789012345}', 123_456_789_012_345],
      ['{"id":9007199254740991}', 9_007_199_254_740_991], // 16 digits: past the byte reader, still a safe integer
      ['{"id":9007199254740993}', 'id must be an integer, got 9007199254740992'],
      ['{"id": 8}', 8],
      ['{"id":"42"}', 42],
      ['{"id":5,"tenant":1}', 5],
      ['{"id":007}', 'key: not valid JSON'],
      ['{"id":1.5}', 'id must be an integer, got 1.5'],
      ['{"id":}', 'key: not valid JSON'],
      ['{"id":-}', 'key: not valid JSON'],
      ['{"id":null}', 'missing required field id'],
      ['{"other":3}', 'missing required field id'],
      ['[1]', 'key: JSON is not an object'],
    ];
    for (const [key, expected] of cases) expect([key, decodeKeyId(Buffer.from(key))]).toEqual([key, expected]);
    expect(decodeKeyId(null)).toBe('record has neither a key nor a value');
  });
});
