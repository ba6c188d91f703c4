import { describe, expect, it } from 'vitest';
import { SummaryTable } from './summary-table.ts';

const H = 3_600_000;
const W0 = Date.UTC(2026, 10, 25, 10);

describe('SummaryTable', () => {
  it('holds one summary per (customer, window) and forgets one with no orders', () => {
    const table = new SummaryTable();
    table.set(1, W0, { orderCount: 2, totalAmountCents: 300, totalFinalCents: 270 });
    table.set(2, W0, { orderCount: 1, totalAmountCents: 50, totalFinalCents: 50 });
    table.set(1, W0 + H, { orderCount: 1, totalAmountCents: 7, totalFinalCents: 6 });
    expect(table.get(1, W0)).toEqual({ orderCount: 2, totalAmountCents: 300, totalFinalCents: 270 });
    expect(table.get(2, W0)).toEqual({ orderCount: 1, totalAmountCents: 50, totalFinalCents: 50 });
    expect(table.get(1, W0 + H)).toEqual({ orderCount: 1, totalAmountCents: 7, totalFinalCents: 6 });
    expect(table.get(2, W0 + H)).toBeUndefined();
    table.set(1, W0, { orderCount: 0, totalAmountCents: 0, totalFinalCents: 0 });
    expect(table.get(1, W0)).toBeUndefined();
    expect(table.get(2, W0)).toEqual({ orderCount: 1, totalAmountCents: 50, totalFinalCents: 50 });
  });

  it('keeps amounts beyond 32 bits exact, and every summary through growth and slot reuse', () => {
    const table = new SummaryTable();
    const big = 2 ** 40 + 1;
    for (let w = 0; w < 3000; w++) table.set(w % 7, W0 + w * H, { orderCount: w + 1, totalAmountCents: big + w, totalFinalCents: w });
    for (let w = 0; w < 3000; w += 2) table.set(w % 7, W0 + w * H, { orderCount: 0, totalAmountCents: 0, totalFinalCents: 0 });
    for (let w = 3000; w < 4000; w++) table.set(w % 7, W0 + w * H, { orderCount: 1, totalAmountCents: w, totalFinalCents: w });
    for (let w = 0; w < 3000; w++) expect(table.get(w % 7, W0 + w * H)).toEqual(w % 2 === 0 ? undefined : { orderCount: w + 1, totalAmountCents: big + w, totalFinalCents: w });
    for (let w = 3000; w < 4000; w++) expect(table.get(w % 7, W0 + w * H)).toEqual({ orderCount: 1, totalAmountCents: w, totalFinalCents: w });
  });
});
