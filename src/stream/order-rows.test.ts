import { describe, expect, it } from 'vitest';
import type { ProcessedOrder, SourceOrder } from '../domain/process-order.ts';
import { OrderRows } from './order-rows.ts';

const T0 = Date.UTC(2026, 10, 25, 10);

function row(orderId: number, overrides: Partial<ProcessedOrder> = {}): ProcessedOrder {
  return { orderId, customerId: 7, customerTier: 'GOLD', productId: 3, productCategory: 'books', quantity: 2, amountCents: 12_345, discountCents: 1_234, taxCents: 0, finalCents: 11_111, status: 'PAID', createdAt: T0 + orderId, ...overrides };
}

describe('OrderRows', () => {
  it('reads back what was written: rows with a known, null and unknown tier change time, and orphans', () => {
    const rows = new OrderRows();
    const orphan: SourceOrder = { id: 4, customerId: 8, productId: 99, quantity: 1, amountCents: 5, status: 'PLACED', createdAt: T0 };
    const a = rows.add({ processed: row(1), tierChangedAt: T0 - 5 });
    const b = rows.add({ processed: row(2, { customerTier: 'NEW', productCategory: 'electronics', status: 'SHIPPED', amountCents: 2 ** 45 + 3 }), tierChangedAt: null });
    const c = rows.add({ processed: row(3) });
    const d = rows.add({ processed: null, orphan });
    expect(rows.read(a)).toEqual({ processed: row(1), tierChangedAt: T0 - 5 });
    expect(rows.read(b)).toEqual({ processed: row(2, { customerTier: 'NEW', productCategory: 'electronics', status: 'SHIPPED', amountCents: 2 ** 45 + 3 }), tierChangedAt: null });
    expect(rows.read(c)).toEqual({ processed: row(3) });
    expect('tierChangedAt' in rows.read(c)).toBe(false);
    expect(rows.read(d)).toEqual({ processed: null, orphan });
    expect(rows.ref(d)).toEqual({ customerId: 8, orderId: 4 });
    expect(rows.productId(d)).toBe(99);
    expect(rows.ref(b)).toEqual({ customerId: 7, orderId: 2 });
    // An id past 32 bits widens its column; what was held before reads back the same.
    const e = rows.add({ processed: row(2 ** 40, { customerId: 2 ** 33, quantity: 1.5 }), tierChangedAt: null });
    expect(rows.read(e)).toEqual({ processed: row(2 ** 40, { customerId: 2 ** 33, quantity: 1.5 }), tierChangedAt: null });
    expect(rows.read(a)).toEqual({ processed: row(1), tierChangedAt: T0 - 5 });
    expect(rows.ref(d)).toEqual({ customerId: 8, orderId: 4 });
  });

  it('overwrites an orphan with its processed row and back', () => {
    const rows = new OrderRows();
    const orphan: SourceOrder = { id: 1, customerId: 7, productId: 3, quantity: 2, amountCents: 12_345, status: 'PAID', createdAt: T0 + 1 };
    const slot = rows.add({ processed: null, orphan });
    rows.write(slot, { processed: row(1), tierChangedAt: null });
    expect(rows.read(slot)).toEqual({ processed: row(1), tierChangedAt: null });
    rows.write(slot, { processed: null, orphan });
    expect(rows.read(slot)).toEqual({ processed: null, orphan });
  });

  it('reuses a removed slot, refuses to read a free one, and grows past its first capacity keeping every row', () => {
    const grown: number[] = [];
    const rows = new OrderRows((capacity) => grown.push(capacity));
    const slots = Array.from({ length: 3000 }, (_, i) => rows.add({ processed: row(i), tierChangedAt: i }));
    expect(grown).toEqual([1024, 2048, 4096]);
    rows.remove(slots[10]!);
    expect(() => rows.read(slots[10]!)).toThrow(/free/);
    expect(rows.add({ processed: row(99_999) })).toBe(slots[10]);
    for (let i = 0; i < 3000; i++) if (i !== 10) expect(rows.read(slots[i]!)).toEqual({ processed: row(i), tierChangedAt: i });
  });
});
