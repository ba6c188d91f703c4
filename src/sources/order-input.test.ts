import { describe, expect, it } from 'vitest';
import { decodeLines, fileLines } from './file-source.ts';
import { pageOf, retryAfterMs } from './http-source.ts';
import { changeRecordOf, channelOfOrderId, lineFields, csvHeader, orderIdFor, parseExternalOrder } from './order-input.ts';

const fields = { order_id: '42', customer_id: '7', product_id: '9', quantity: '2', amount: '19.90', status: 'paid', created_at: '2026-11-25T10:00:00Z' };

describe('external orders', () => {
  it('places each channel in its own key range, and reads the channel back from the key', () => {
    expect(orderIdFor('partner', 42)).toBe(1_000_000_000_042);
    expect(orderIdFor('store', 42)).toBe(2_000_000_000_042);
    expect(channelOfOrderId(42)).toBe('web');
    expect(channelOfOrderId(1_000_000_000_042)).toBe('partner');
    expect(channelOfOrderId(2_000_000_000_042)).toBe('store');
    expect(channelOfOrderId(3_000_000_000_042)).toBe('web');
  });

  it('decodes an order change into the CDC shape with its channel', () => {
    const parsed = parseExternalOrder(fields, 'store');
    expect(parsed).toEqual({ ok: true, value: { id: 2_000_000_000_042, customerId: 7, productId: 9, quantity: 2, amountCents: 1990, status: 'PAID', createdAt: Date.parse('2026-11-25T10:00:00Z') } });
    if (!parsed.ok) throw new Error('unreachable');
    const record = changeRecordOf(parsed.value, 'store', 5);
    expect(record.key).toBe('{"id":2000000000042}');
    expect(JSON.parse(record.value)).toMatchObject({ id: 2_000_000_000_042, amount: '19.90', status: 'PAID', created_at: '2026-11-25T10:00:00.000Z', channel: 'store', __source_ts_ms: 5 });
  });

  it('names what is wrong with a malformed order', () => {
    expect(parseExternalOrder({ ...fields, amount: '1.999' }, 'store')).toMatchObject({ ok: false, reason: expect.stringContaining('amount') });
    expect(parseExternalOrder({ ...fields, created_at: '2026-11-25 10:00' }, 'store')).toMatchObject({ ok: false, reason: expect.stringContaining('created_at') });
    expect(parseExternalOrder({ ...fields, status: 'LOST' }, 'partner')).toMatchObject({ ok: false, reason: 'unknown order status "LOST"' });
    expect(parseExternalOrder({ ...fields, order_id: String(1e12) }, 'partner')).toMatchObject({ ok: false });
    expect(parseExternalOrder({ ...fields, customer_id: undefined }, 'partner')).toMatchObject({ ok: false, reason: 'missing required field customer_id' });
  });

  it('splits quoted CSV fields', () => {
    const header = csvHeader('a,B , c');
    expect(header).toEqual(['a', 'b', 'c']);
    expect(lineFields('csv', '1,"x, ""y""",3', header)).toEqual({ ok: true, value: { a: '1', b: 'x, "y"', c: '3' } });
    expect(lineFields('csv', '1,2', header)).toMatchObject({ ok: false, reason: 'expected 3 CSV fields, got 2' });
  });
});

describe('store files', () => {
  it('decodes a CSV file from a line on, numbering lines as an editor does, blank lines skipped', () => {
    const lines = fileLines('order_id,customer_id,product_id,quantity,amount,status,created_at\n1,7,9,1,10.00,PLACED,2026-11-25T10:00:00Z\n\nbroken\n2,7,9,1,5.00,CANCELLED,2026-11-25T10:01:00Z\n');
    expect(lines).toHaveLength(5);
    const decoded = decodeLines('s.csv', lines, 0, lines.length, 0);
    expect(decoded.map((l) => [l.line, l.error ?? 'ok'])).toEqual([
      [2, 'ok'],
      [4, 'expected 7 CSV fields, got 1'],
      [5, 'ok'],
    ]);
    expect(decodeLines('s.csv', lines, 3, 5, 0).map((l) => l.line)).toEqual([4, 5]);
  });

  it('decodes JSON Lines', () => {
    const decoded = decodeLines('s.jsonl', [JSON.stringify(fields), '{oops'], 0, 2, 0);
    expect(decoded.map((l) => l.error ?? 'ok')).toEqual(['ok', 'not valid JSON']);
  });
});

describe('partner API pages', () => {
  it('reads a page and refuses a reply without orders', () => {
    expect(pageOf({ orders: [], next_cursor: 'c2', has_more: true })).toEqual({ orders: [], nextCursor: 'c2', hasMore: true });
    expect(pageOf({ orders: [] })).toEqual({ orders: [], nextCursor: null, hasMore: false });
    expect(pageOf({ items: [] })).toBe('the reply has no orders array');
  });

  it('reads Retry-After as seconds or a date', () => {
    expect(retryAfterMs('3', 0)).toBe(3000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(retryAfterMs(null, 0)).toBeUndefined();
  });
});
