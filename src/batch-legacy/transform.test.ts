import { describe, expect, it } from 'vitest';
import { formatMoney } from '../domain/money.ts';
import { compileRules, DEFAULT_RULES } from '../domain/rules.ts';
import type { FraudAlert } from '../domain/process-order.ts';
import { decodeExtracted, emptyIgnored, PatternAccumulators, SummaryAccumulators, transformBatch, type ExtractedCells, type SummaryRow } from './transform.ts';

const rules = compileRules(DEFAULT_RULES);
const T0 = Date.UTC(2026, 10, 25, 10, 0, 0);
const MIN = 60_000;

/** Cells as extract.ts selects them, with pg's types: int8 as text, int4 as number. */
function cells(
  id: number,
  o: { customer?: number; product?: number; quantity?: number; amount: string; status?: string; at?: number; tier?: string | null; category?: string | null; tierChangedAt?: number | null },
): ExtractedCells {
  const row = [
    String(id),
    String(o.customer ?? 1),
    String(o.product ?? 10),
    o.quantity ?? 1,
    o.amount,
    o.status ?? 'PAID',
    String(o.at ?? T0),
    o.tier === undefined ? 'GOLD' : o.tier,
    o.category === undefined ? 'electronics' : o.category,
  ];
  return o.tierChangedAt === undefined ? row : [...row, o.tierChangedAt === null ? null : String(o.tierChangedAt)];
}

function summaryText(rows: Iterable<SummaryRow>): string[] {
  return [...rows]
    .map((r) => `${r.customerId}@${new Date(r.windowStartMs).toISOString().slice(11, 16)}-${new Date(r.windowEndMs).toISOString().slice(11, 16)} n=${r.orderCount} total=${formatMoney(r.totalAmountCents)} final=${formatMoney(r.totalFinalCents)}`)
    .sort();
}

describe('decodeExtracted', () => {
  it('types a row of cells', () => {
    expect(decodeExtracted(cells(5, { amount: '12.34', at: T0 + 123 }))).toEqual({
      order: { id: 5, customerId: 1, productId: 10, quantity: 1, amountCents: 1234, status: 'PAID', createdAt: T0 + 123 },
      customer: { id: 1, tier: 'GOLD' },
      product: { id: 10, category: 'electronics' },
    });
  });

  it('keeps a missing customer or product as null, and explains cells it cannot type', () => {
    expect(decodeExtracted(cells(5, { amount: '1.00', tier: null }))).toMatchObject({ customer: null, product: { id: 10 } });
    expect(decodeExtracted(cells(5, { amount: '1.00', category: null }))).toMatchObject({ customer: { id: 1 }, product: null });
    expect(decodeExtracted(cells(5, { amount: '1.00', status: 'LOST' }))).toBe('order 5: unknown status "LOST"');
    expect(decodeExtracted(cells(5, { amount: '1.00', tier: 'VIP' }))).toBe('order 5: customer 1 has unknown tier "VIP"');
    expect(decodeExtracted(cells(5, { amount: '1.001' }))).toMatch(/^order 5: invalid money amount "1.001": more than 2 decimal places/);
    expect(decodeExtracted(['x', '1', '10', 1, '1.00', 'PAID', String(T0), 'GOLD', 'books'])).toBe('order id "x" is not an integer');
  });
});

describe('transformBatch', () => {
  it('prices to the cent by tier and category, half-even at each step', () => {
    const summaries = new SummaryAccumulators(5);
    const out = transformBatch(
      [
        // GOLD 10 %, electronics 10 %: 100.00 - 10.00 = 90.00, tax 9.00, final 99.00.
        cells(1, { amount: '100.00', tier: 'GOLD', category: 'electronics' }),
        // SILVER 5 % of 33.33 = 1.6665 → 1.67; 31.66 × 8 % (default) = 2.5328 → 2.53; final 34.19.
        cells(2, { amount: '33.33', tier: 'SILVER', category: 'toys' }),
        // BRONZE 2 % of 0.25 = 0.005 → 0.00 (half to even); groceries 5 % of 0.25 = 0.0125 → 0.01.
        cells(3, { amount: '0.25', tier: 'BRONZE', category: 'groceries' }),
        // PLATINUM 15 % of 19.99 = 2.9985 → 3.00; books 0 %.
        cells(4, { amount: '19.99', tier: 'PLATINUM', category: 'books' }),
      ],
      rules,
      summaries,
      emptyIgnored(),
    );
    const money = out.processed.map((p) => [p.orderId, formatMoney(p.discountCents), formatMoney(p.taxCents), formatMoney(p.finalCents)]);
    expect(money).toEqual([
      [1, '10.00', '9.00', '99.00'],
      [2, '1.67', '2.53', '34.19'],
      [3, '0.00', '0.01', '0.26'],
      [4, '3.00', '0.00', '16.99'],
    ]);
    expect(out.processed[1]).toMatchObject({ customerTier: 'SILVER', productCategory: 'toys', status: 'PAID', createdAt: T0 });
  });

  it('leaves cancelled orders and orders without a customer or product out of everything, counting them', () => {
    const summaries = new SummaryAccumulators(5);
    const ignored = emptyIgnored();
    const out = transformBatch(
      [
        cells(1, { amount: '5000.00', tier: 'NEW', status: 'CANCELLED' }),
        cells(2, { amount: '20000.00', tier: null }),
        cells(3, { amount: '20000.00', category: null }),
        cells(4, { amount: '20000.00', status: 'SHIPPED', tier: 'NEW' }),
        cells(5, { amount: '1.00', status: 'NOPE' }),
      ],
      rules,
      summaries,
      ignored,
    );
    expect(out.processed.map((p) => p.orderId)).toEqual([4]);
    expect(out.alerts.map((a) => a.orderId)).toEqual([4]);
    expect(ignored).toEqual({ cancelled: 1, missingReference: 2, invalid: 1 });
    expect(out.invalidReasons).toEqual(['order 5: unknown status "NOPE"']);
    expect(summaryText(summaries.takeAll())).toEqual(['1@10:00-10:05 n=1 total=20000.00 final=22000.00']);
  });

  it('raises HIGH above 10 000.00 for any tier and MEDIUM above 1 000.00 for NEW customers only', () => {
    const out = transformBatch(
      [
        // NEW, default tax: 1000.00 → 1080.00 final → MEDIUM.
        cells(1, { amount: '1000.00', tier: 'NEW', category: 'toys' }),
        // NEW, books: final exactly 1000.00 is not above → no alert.
        cells(2, { amount: '1000.00', tier: 'NEW', category: 'books' }),
        // GOLD: 20000 - 2000 = 18000, +10 % = 19800.00 → HIGH.
        cells(3, { amount: '20000.00', tier: 'GOLD', category: 'electronics' }),
        // GOLD above 1000 but not NEW and not above 10000 → no alert.
        cells(4, { amount: '5000.00', tier: 'GOLD', category: 'electronics' }),
        // NEW above both → one HIGH, not two.
        cells(5, { amount: '10000.00', tier: 'NEW', category: 'electronics' }),
      ],
      rules,
      new SummaryAccumulators(5),
      emptyIgnored(),
    );
    expect(out.alerts.map((a) => [a.orderId, a.severity, formatMoney(a.finalCents)])).toEqual([
      [1, 'MEDIUM', '1080.00'],
      [3, 'HIGH', '19800.00'],
      [5, 'HIGH', '11000.00'],
    ]);
    expect(out.alerts[0]).toMatchObject({ customerId: 1, createdAt: T0, reason: 'NEW customer final amount 1080.00 above 1000.00' });
  });

  it('adds up per customer and 5-minute window across batches, boundaries belonging to the later window', () => {
    const summaries = new SummaryAccumulators(5);
    const ignored = emptyIgnored();
    transformBatch(
      [
        cells(1, { customer: 1, amount: '10.00', tier: 'NEW', category: 'books', at: T0 }),
        cells(2, { customer: 1, amount: '0.10', tier: 'NEW', category: 'books', at: T0 + 5 * MIN - 1 }),
        cells(3, { customer: 1, amount: '7.00', tier: 'NEW', category: 'books', at: T0 + 5 * MIN }),
        cells(4, { customer: 2, amount: '100.00', tier: 'GOLD', category: 'electronics', at: T0 + 1 * MIN }),
      ],
      rules,
      summaries,
      ignored,
    );
    transformBatch(
      [
        cells(5, { customer: 2, amount: '0.01', tier: 'GOLD', category: 'electronics', at: T0 + 4 * MIN }),
        cells(6, { customer: 1, amount: '999.00', tier: 'NEW', category: 'books', at: T0 + 2 * MIN, status: 'CANCELLED' }),
      ],
      rules,
      summaries,
      ignored,
    );
    expect(summaries.size).toBe(3);
    // 0.01 at GOLD: discount 0.001 → 0.00, tax 0.001 → 0.00, final 0.01.
    expect(summaryText(summaries.takeAll())).toEqual([
      '1@10:00-10:05 n=2 total=10.10 final=10.10',
      '1@10:05-10:10 n=1 total=7.00 final=7.00',
      '2@10:00-10:05 n=2 total=100.01 final=99.01',
    ]);
  });

  it('sums exact cents where binary floating point would drift', () => {
    const summaries = new SummaryAccumulators(5);
    const batch = Array.from({ length: 1_000 }, (_, i) => cells(i + 1, { amount: '0.10', tier: 'NEW', category: 'books', at: T0 + i }));
    transformBatch(batch, rules, summaries, emptyIgnored());
    expect(summaryText(summaries.takeAll())).toEqual(['1@10:00-10:05 n=1000 total=100.00 final=100.00']);
  });

  it('hands over each summary window once a later one starts, and refuses orders of a window already handed over', () => {
    const summaries = new SummaryAccumulators(5);
    const ignored = emptyIgnored();
    const at = (id: number, customer: number, minute: number, amount = '1.00') => cells(id, { customer, amount, tier: 'NEW', category: 'books', at: T0 + minute * MIN });
    transformBatch([at(1, 1, 0), at(2, 2, 1), at(3, 1, 4)], rules, summaries, ignored);
    expect([...summaries.takeCompleted()]).toEqual([]);
    expect(summaries.size).toBe(2);
    transformBatch([at(4, 1, 4.5), at(5, 3, 5), at(6, 1, 11)], rules, summaries, ignored);
    expect(summaryText(summaries.takeCompleted())).toEqual([
      '1@10:00-10:05 n=3 total=3.00 final=3.00',
      '2@10:00-10:05 n=1 total=1.00 final=1.00',
      '3@10:05-10:10 n=1 total=1.00 final=1.00',
    ]);
    expect(summaries.size).toBe(1);
    expect(() => transformBatch([at(7, 2, 9)], rules, summaries, ignored)).toThrow(/order 7 .* belongs to a summary window already written; the extraction must be ordered by created_at/);
    expect(summaryText(summaries.takeAll())).toEqual(['1@10:10-10:15 n=1 total=1.00 final=1.00']);
    expect(summaries.size).toBe(0);
  });
});

describe('transformBatch: escalation', () => {
  // Above 5000.00 within 30 minutes after the customer's last tier change (cell 10, epoch ms as pg's int8 text).
  const escalation = compileRules({ ...DEFAULT_RULES, patterns: [{ name: 'escalation', kind: 'escalation', severity: 'MEDIUM', totalAbove: '5000.00', windowMinutes: 30 }] });
  const alertsOf = (batch: readonly ExtractedCells[]) => transformBatch(batch, escalation, new SummaryAccumulators(5), emptyIgnored()).alerts.filter((a: FraudAlert) => a.pattern === 'escalation');

  it('reads when the tier changed and raises the alert for the orders after it, per order', () => {
    // GOLD electronics 6000.00: 600.00 off, 540.00 tax, final 5940.00.
    const changed = T0 + 123;
    const alerts = alertsOf([
      cells(1, { amount: '6000.00', at: T0 - MIN, tierChangedAt: changed }), // before the change
      cells(2, { amount: '6000.00', at: T0 + 10 * MIN, tierChangedAt: changed }),
      cells(3, { amount: '5000.00', at: T0 + 11 * MIN, tierChangedAt: changed }), // final 4950.00
      cells(4, { amount: '6000.00', at: changed + 30 * MIN, tierChangedAt: changed }), // window end is exclusive
      cells(5, { customer: 2, amount: '6000.00', at: T0 + 12 * MIN, tierChangedAt: null }), // never changed
      cells(6, { customer: 3, amount: '6000.00', at: T0 + 12 * MIN }), // a source without the column
    ]);
    expect(alerts).toEqual([
      {
        orderId: 2,
        customerId: 1,
        finalCents: 594_000,
        severity: 'MEDIUM',
        reason: 'final amount 5940.00 above 5000.00 within 30 min of the tier change to GOLD',
        createdAt: T0 + 10 * MIN,
        pattern: 'escalation',
        matchedOrderIds: '2',
        windowStartMs: changed,
        windowEndMs: changed + 30 * MIN,
      },
    ]);
  });

  it('refuses a tier change time that is not epoch milliseconds', () => {
    expect(decodeExtracted([...cells(1, { amount: '1.00' }), 'soon'])).toBe('order 1: customer 1 has tier_changed_at "soon", not epoch milliseconds');
  });
});

describe('transformBatch: fan-in', () => {
  // 3 or more distinct NEW customers buying one product in an aligned 10-minute window.
  const fanIn = compileRules({ ...DEFAULT_RULES, patterns: [{ name: 'fan-in', kind: 'fan-in', severity: 'HIGH', minCustomers: 3, windowMinutes: 10 }] });
  const order = (id: number, customer: number, minute: number, o: { product?: number; tier?: string; status?: string; amount?: string } = {}) =>
    cells(id, { customer, product: o.product ?? 10, amount: o.amount ?? '100.00', tier: o.tier ?? 'NEW', category: 'books', status: o.status ?? 'PAID', at: T0 + minute * MIN });

  it('raises one alert per product window with enough NEW customers, once the window is complete', () => {
    const patterns = new PatternAccumulators(fanIn.patterns);
    const run = (batch: readonly ExtractedCells[]) => transformBatch(batch, fanIn, new SummaryAccumulators(5), emptyIgnored(), patterns);
    run([
      order(11, 1, 1),
      order(12, 2, 2, { amount: '250.50' }),
      order(13, 2, 3), // customer 2 again: counts once
      order(14, 4, 4, { tier: 'BRONZE' }), // not NEW: ignored
      order(15, 5, 5, { status: 'CANCELLED' }), // not live: ignored
      order(16, 6, 6, { product: 20 }), // another product
      order(17, 7, 7, { product: 20 }),
    ]);
    expect(patterns.takeCompleted()).toEqual([]); // 10:00-10:10 still open
    run([order(18, 8, 9.99), order(19, 9, 10), order(20, 10, 10.5, { product: 20 }), order(21, 11, 11, { product: 20 }), order(22, 12, 12, { product: 20 })]);
    // Product 10, 10:00-10:10: customers 1, 2 and 8 (orders 11, 12, 13, 18; books untaxed, NEW undiscounted, so final = amount).
    // Product 20: two customers before 10:10, three after it (orders 20-22): the boundary splits them.
    expect(patterns.takeCompleted()).toEqual([
      {
        orderId: 11,
        customerId: 1,
        finalCents: 55_050,
        severity: 'HIGH',
        reason: '3 NEW customers bought product 10 within 10 min (4 orders)',
        createdAt: T0,
        pattern: 'fan-in',
        matchedOrderIds: '11,12,13,18',
        windowStartMs: T0,
        windowEndMs: T0 + 10 * MIN,
      },
    ]);
    expect(patterns.takeAll().map((a) => `${a.orderId} ${a.matchedOrderIds} ${new Date(a.windowStartMs).toISOString().slice(11, 16)}`)).toEqual(['20 20,21,22 10:10']);
  });

  it('counts no order of a customer who is no longer NEW, so two NEW customers of three do not fire', () => {
    const patterns = new PatternAccumulators(fanIn.patterns);
    transformBatch([order(1, 1, 1), order(2, 2, 2), order(3, 3, 3, { tier: 'SILVER' })], fanIn, new SummaryAccumulators(5), emptyIgnored(), patterns);
    expect(patterns.takeAll()).toEqual([]);
  });
});
