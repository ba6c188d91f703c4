import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../source/random.ts';
import { storeFileName } from './demo-channels.ts';
import { ExternalOrderBook, externalIdBase, ORDERS_PER_RUN } from './external-order-book.ts';

const catalogue = {
  customers: [{ id: 7, tier: 'SILVER' as const }],
  products: [{ id: 3, priceCents: 1_250 }],
};
const T = Date.UTC(2026, 10, 30, 10, 0, 0);

describe('ExternalOrderBook', () => {
  it('hands out ids from its base and prices quantity × price', () => {
    const book = new ExternalOrderBook(catalogue, mulberry32(1), 500);
    const a = book.create(T)!;
    const b = book.create(T + 1000)!;
    expect([a.order_id, b.order_id]).toEqual([500, 501]);
    expect(a).toMatchObject({ customer_id: 7, product_id: 3, created_at: '2026-11-30T10:00:00.000Z' });
    // 12.50 a piece.
    expect(a.amount).toBe((a.quantity * 12.5).toFixed(2));
    expect(book.idRange).toEqual({ from: 500, to: 500 + ORDERS_PER_RUN });
  });

  it('a correction changes the quantity and amount of the same order; a cancel removes it from the live orders', () => {
    const book = new ExternalOrderBook(catalogue, mulberry32(2), 1);
    const first = book.create(T)!;
    const second = book.create(T)!;
    const corrected = book.correct(first.order_id)!;
    expect(corrected).toMatchObject({ order_id: first.order_id, created_at: first.created_at, status: first.status });
    expect(corrected.quantity).not.toBe(first.quantity);
    expect(corrected.amount).toBe((corrected.quantity * 12.5).toFixed(2));
    expect(book.cancel(second.order_id)).toMatchObject({ order_id: second.order_id, status: 'CANCELLED' });
    // A cancelled order is neither corrected nor cancelled again.
    expect(book.cancel(second.order_id)).toBeUndefined();
    expect(book.correct(second.order_id)).toBeUndefined();
    expect(book.live()).toEqual({ orders: 1, quantity: corrected.quantity });
  });

  it('stops at the end of its id block', () => {
    const book = new ExternalOrderBook(catalogue, mulberry32(3), 1_000_000_000_000 - 2);
    expect(book.create(T)?.order_id).toBe(999_999_999_998);
    expect(book.create(T)?.order_id).toBe(999_999_999_999);
    expect(book.create(T)).toBeUndefined();
  });

  it('runs a minute apart get disjoint id blocks below the external id limit', () => {
    const now = Date.UTC(2026, 10, 30, 10, 0, 30);
    // 2020-01-01 .. 2026-11-30T10:00 is 3 636 600 minutes (2525 days).
    expect(externalIdBase(now)).toBe(3_636_600 * 100_000);
    expect(externalIdBase(now + 60_000) - externalIdBase(now)).toBe(ORDERS_PER_RUN);
    expect(externalIdBase(Date.UTC(2039, 0, 1))).toBeLessThan(1_000_000_000_000);
  });
});

describe('storeFileName', () => {
  it('names files by time so name order is arrival order, alternating CSV and JSON Lines', () => {
    expect(storeFileName(T, 0)).toBe('pos-20261130T100000000Z-001.csv');
    expect(storeFileName(T + 8_000, 1)).toBe('pos-20261130T100008000Z-002.jsonl');
    expect(storeFileName(T, 0) < storeFileName(T + 8_000, 1)).toBe(true);
  });
});
