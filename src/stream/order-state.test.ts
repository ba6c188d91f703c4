import { describe, expect, it } from 'vitest';
import { processOrder, type CustomerRow, type ProductRow, type SourceOrder } from '../domain/process-order.ts';
import { compileRules, DEFAULT_RULES, type Tier } from '../domain/rules.ts';
import { windowStartFor } from '../domain/windows.ts';
import { OrderState, type Emission } from './order-state.ts';

const rules = compileRules(DEFAULT_RULES);
const T0 = Date.UTC(2026, 10, 25, 10, 1, 0);

function setup() {
  const customers = new Map<number, CustomerRow>([
    [1, { id: 1, tier: 'GOLD' }],
    [2, { id: 2, tier: 'NEW' }],
  ]);
  const products = new Map<number, ProductRow>([
    [10, { id: 10, category: 'books' }],
    [11, { id: 11, category: 'electronics' }],
  ]);
  const state = new OrderState(rules, { customer: (id) => customers.get(id), product: (id) => products.get(id) });
  return { state, customers, products };
}

function order(overrides: Partial<SourceOrder> = {}): SourceOrder {
  return { id: 100, customerId: 1, productId: 10, quantity: 1, amountCents: 10_000, status: 'PLACED', createdAt: T0, ...overrides };
}

function emissionsOf(result: ReturnType<OrderState['upsert']>): readonly Emission[] {
  if ('blocked' in result) throw new Error(result.blocked);
  return result.emissions;
}

const win = windowStartFor(T0, 5);

describe('OrderState', () => {
  it('adds a new order: processed row, summary, no alert below thresholds', () => {
    const { state } = setup();
    const out = emissionsOf(state.upsert(order(), 1));
    const processed = out.find((e) => e.kind === 'processed');
    expect(processed).toMatchObject({ kind: 'processed', orderId: 100, row: { discountCents: 1_000, taxCents: 0, finalCents: 9_000, customerTier: 'GOLD' } });
    expect(out).toContainEqual({ kind: 'summary', customerId: 1, windowStartMs: win, summary: { orderCount: 1, totalAmountCents: 10_000, totalFinalCents: 9_000 } });
    expect(out.some((e) => e.kind === 'alert')).toBe(false);
  });

  it('an update retracts the old contribution and adds the new one', () => {
    const { state } = setup();
    emissionsOf(state.upsert(order(), 1));
    emissionsOf(state.upsert(order({ id: 101, amountCents: 500 }), 1));
    const out = emissionsOf(state.upsert(order({ amountCents: 20_000, status: 'PAID' }), 2));
    expect(out).toContainEqual({ kind: 'summary', customerId: 1, windowStartMs: win, summary: { orderCount: 2, totalAmountCents: 20_500, totalFinalCents: 18_450 } });
  });

  it('an update that changes nothing the outputs show emits nothing at all (a re-sent row, e.g. by a snapshot)', () => {
    const { state } = setup();
    emissionsOf(state.upsert(order(), 1));
    expect(emissionsOf(state.upsert(order(), 2))).toEqual([]);
    // A status change that leaves the amounts alone: the row changes, its window's totals do not.
    const paid = emissionsOf(state.upsert(order({ status: 'PAID' }), 3));
    expect(paid.map((e) => e.kind)).toEqual(['processed']);
  });

  it('a cancellation retracts the processed row, the summary and the alert', () => {
    const { state } = setup();
    const big = order({ amountCents: 2_000_000 });
    expect(emissionsOf(state.upsert(big, 1))).toContainEqual(expect.objectContaining({ kind: 'alert', orderId: 100, alert: expect.objectContaining({ severity: 'HIGH' }) }));
    const out = emissionsOf(state.upsert({ ...big, status: 'CANCELLED' }, 2));
    expect(out).toContainEqual({ kind: 'processed', orderId: 100, customerId: 1, row: null, sourceTsMs: 2 });
    expect(out).toContainEqual({ kind: 'alert', orderId: 100, customerId: 1, pattern: '', alert: null });
    expect(out).toContainEqual({ kind: 'summary', customerId: 1, windowStartMs: win, summary: null });
    expect(state.summary(1, win)).toBeUndefined();
  });

  it('a delete retracts, and deleting twice is harmless', () => {
    const { state } = setup();
    emissionsOf(state.upsert(order(), 1));
    expect(state.delete(100, 1).map((e) => e.kind).sort()).toEqual(['processed', 'summary']);
    expect(state.delete(100, 1)).toEqual([]);
    expect(state.size).toBe(0);
  });

  it('a tier change recomputes every live order of that customer (foreign-key join)', () => {
    const { state, customers } = setup();
    emissionsOf(state.upsert(order(), 1));
    emissionsOf(state.upsert(order({ id: 101, customerId: 2, amountCents: 150_000 }), 1));
    customers.set(1, { id: 1, tier: 'PLATINUM' as Tier });
    const out = state.customerChanged(1);
    expect(out).toContainEqual(expect.objectContaining({ kind: 'processed', orderId: 100, row: expect.objectContaining({ customerTier: 'PLATINUM', discountCents: 1_500, finalCents: 8_500 }) }));
    expect(out).toContainEqual({ kind: 'summary', customerId: 1, windowStartMs: win, summary: { orderCount: 1, totalAmountCents: 10_000, totalFinalCents: 8_500 } });
    expect(out.some((e) => 'orderId' in e && e.orderId === 101)).toBe(false);
  });

  it('a NEW customer promoted out of NEW loses its MEDIUM alert', () => {
    const { state, customers } = setup();
    const out = emissionsOf(state.upsert(order({ id: 101, customerId: 2, amountCents: 150_000 }), 1));
    expect(out).toContainEqual(expect.objectContaining({ kind: 'alert', alert: expect.objectContaining({ severity: 'MEDIUM' }) }));
    customers.set(2, { id: 2, tier: 'SILVER' });
    expect(state.customerChanged(2)).toContainEqual({ kind: 'alert', orderId: 101, customerId: 2, pattern: '', alert: null });
  });

  it('a category change recomputes the tax of every order of that product', () => {
    const { state, products } = setup();
    emissionsOf(state.upsert(order(), 1));
    products.set(10, { id: 10, category: 'electronics' });
    const out = state.productChanged(10);
    expect(out).toContainEqual(expect.objectContaining({ kind: 'processed', row: expect.objectContaining({ productCategory: 'electronics', taxCents: 900, finalCents: 9_900 }) }));
  });

  describe('an order moved to another customer (delete routed to the old partition, upsert to the new)', () => {
    /** The outputs the state stands for: live processed rows and summaries, as plain text. */
    function outputs(state: OrderState): string[] {
      const rows: string[] = [];
      for (const customerId of [1, 2]) {
        for (const orderId of [100, 101]) {
          const p = state.processed(orderId, customerId);
          if (p) rows.push(`order ${orderId} customer ${customerId} tier ${p.customerTier} final ${p.finalCents}`);
        }
        const s = state.summary(customerId, win);
        if (s) rows.push(`summary ${customerId} count ${s.orderCount} total ${s.totalAmountCents} final ${s.totalFinalCents}`);
      }
      return rows.sort();
    }
    // Hand-computed: 100.00 for GOLD customer 1 (10% off, books untaxed) is 90.00; for NEW customer 2 it is 100.00.
    const atCustomer2 = ['order 100 customer 2 tier NEW final 10000', 'summary 2 count 1 total 10000 final 10000'];
    const atCustomer1 = ['order 100 customer 1 tier GOLD final 9000', 'summary 1 count 1 total 10000 final 9000'];

    it('retract first, then add: ends at the new customer', () => {
      const { state } = setup();
      emissionsOf(state.upsert(order(), 1));
      const retract = state.delete(100, 1, 2);
      expect(retract).toContainEqual({ kind: 'processed', orderId: 100, customerId: 1, row: null, sourceTsMs: 2 });
      expect(retract).toContainEqual({ kind: 'summary', customerId: 1, windowStartMs: win, summary: null });
      emissionsOf(state.upsert(order({ customerId: 2 }), 2));
      expect(outputs(state)).toEqual(atCustomer2);
      expect(state.size).toBe(1);
    });

    it('add first, then retract (the partitions read the other way round): the same end, nothing lost', () => {
      const { state } = setup();
      emissionsOf(state.upsert(order(), 1));
      const add = emissionsOf(state.upsert(order({ customerId: 2 }), 2));
      expect(add).toContainEqual(expect.objectContaining({ kind: 'processed', orderId: 100, customerId: 2, row: expect.objectContaining({ customerId: 2 }) }));
      // The upsert names customer 2's row only: customer 1's row is left for its own delete.
      expect(add.some((e) => e.customerId === 1)).toBe(false);
      const retract = state.delete(100, 1, 2);
      expect(retract).toContainEqual({ kind: 'processed', orderId: 100, customerId: 1, row: null, sourceTsMs: 2 });
      expect(retract.some((e) => e.customerId === 2)).toBe(false);
      expect(outputs(state)).toEqual(atCustomer2);
      expect(state.size).toBe(1);
    });

    it('moved there and back (A→B→A) converges to A in every interleaving of the two partitions', () => {
      // Partition of customer 1 receives: delete(100,1), upsert(100→1); partition of customer 2: upsert(100→2), delete(100,2).
      const p1 = [(s: OrderState) => s.delete(100, 1), (s: OrderState) => emissionsOf(s.upsert(order(), 3))];
      const p2 = [(s: OrderState) => emissionsOf(s.upsert(order({ customerId: 2 }), 2)), (s: OrderState) => s.delete(100, 2)];
      const interleavings = ['1122', '1212', '1221', '2112', '2121', '2211'];
      for (const sequence of interleavings) {
        const { state } = setup();
        emissionsOf(state.upsert(order(), 1));
        const queues = { '1': [...p1], '2': [...p2] };
        for (const partition of sequence) queues[partition as '1' | '2'].shift()!(state);
        expect(outputs(state), sequence).toEqual(atCustomer1);
      }
    });

    it('a delete in the old format (no customer) retracts only the rows of customers routed to its partition', () => {
      const { state } = setup();
      emissionsOf(state.upsert(order(), 1));
      emissionsOf(state.upsert(order({ customerId: 2 }), 2));
      const out = state.deleteWhere(100, (customerId) => customerId === 1);
      expect(out).toContainEqual({ kind: 'processed', orderId: 100, customerId: 1, row: null, sourceTsMs: null });
      expect(outputs(state)).toEqual(atCustomer2);
    });
  });

  it('waits when a referenced customer or product has not arrived', () => {
    const { state } = setup();
    expect(state.upsert(order({ customerId: 99 }), 1)).toEqual({ blocked: 'customer 99 of order 100 not found' });
    expect(state.upsert(order({ productId: 99 }), 1)).toEqual({ blocked: 'product 99 of order 100 not found' });
    expect(state.size).toBe(0);
  });

  it('after a restore, reconcileAll recomputes exactly the orders whose tables changed', () => {
    const { state, customers } = setup();
    const first = emissionsOf(state.upsert(order(), 1)).find((e) => e.kind === 'processed');
    const restored = setup();
    if (first?.kind !== 'processed' || !first.row) throw new Error('no row');
    restored.state.restore(first.row);
    restored.state.restore({ ...first.row, orderId: 101, customerId: 2, customerTier: 'NEW', discountCents: 0, finalCents: 10_000 });
    expect(restored.state.reconcileAll()).toEqual([]);
    restored.customers.set(1, { id: 1, tier: 'BRONZE' });
    const out = restored.state.reconcileAll();
    expect(out.filter((e) => e.kind === 'processed').map((e) => (e as { orderId: number }).orderId)).toEqual([100]);
    void customers;
  });
});

describe('OrderState under churn (its rows in columns, slots freed and reused, indexes by slot)', () => {
  it('after thousands of random upserts, moves, deletes, cancellations, tier and category changes holds exactly the live orders and their summaries', () => {
    const customers = new Map<number, CustomerRow>(Array.from({ length: 12 }, (_, i) => [i + 1, { id: i + 1, tier: 'GOLD' as Tier }]));
    const products = new Map<number, ProductRow>(Array.from({ length: 5 }, (_, i) => [i + 1, { id: i + 1, category: i % 2 === 0 ? 'books' : 'electronics' }]));
    const state = new OrderState(rules, { customer: (id) => customers.get(id), product: (id) => products.get(id) });
    const live = new Map<number, SourceOrder>();
    let seed = 7;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const pick = <T>(values: readonly T[]) => values[Math.floor(random() * values.length)]!;
    const tiers: Tier[] = ['NEW', 'BRONZE', 'SILVER', 'GOLD'];
    for (let step = 0; step < 20_000; step++) {
      const roll = random();
      if (roll < 0.02) {
        const id = 1 + Math.floor(random() * 12);
        customers.set(id, { id, tier: pick(tiers) });
        state.customerChanged(id);
      } else if (roll < 0.03) {
        const id = 1 + Math.floor(random() * 5);
        products.set(id, { id, category: pick(['books', 'electronics', 'grocery']) });
        state.productChanged(id);
      } else if (roll < 0.15) {
        const id = 1 + Math.floor(random() * 3000);
        const old = live.get(id);
        if (old) state.delete(id, old.customerId);
        live.delete(id);
      } else {
        const id = 1 + Math.floor(random() * 3000);
        const next: SourceOrder = { id, customerId: 1 + Math.floor(random() * 12), productId: 1 + Math.floor(random() * 5), quantity: 1, amountCents: Math.floor(random() * 100_000), status: random() < 0.1 ? 'CANCELLED' : 'PAID', createdAt: T0 + Math.floor(random() * 600) * 60_000 };
        const old = live.get(id);
        if (old && old.customerId !== next.customerId) state.delete(id, old.customerId);
        emissionsOf(state.upsert(next, null));
        live.set(id, next);
      }
    }
    // What the state must hold, computed here from the final orders and tables alone.
    const expectedSummaries = new Map<string, { orderCount: number; totalAmountCents: number; totalFinalCents: number }>();
    let contributing = 0;
    for (const o of live.values()) {
      const p = o.status === 'CANCELLED' ? null : processOrder(o, customers.get(o.customerId)!, products.get(o.productId)!, rules);
      expect(state.processed(o.id, o.customerId)).toEqual(p ?? undefined);
      if (!p) continue;
      contributing++;
      const key = `${o.customerId}/${windowStartFor(o.createdAt, rules.windowMinutes)}`;
      const s = expectedSummaries.get(key) ?? { orderCount: 0, totalAmountCents: 0, totalFinalCents: 0 };
      expectedSummaries.set(key, { orderCount: s.orderCount + 1, totalAmountCents: s.totalAmountCents + o.amountCents, totalFinalCents: s.totalFinalCents + p.finalCents });
    }
    expect(contributing).toBeGreaterThan(1024); // past the columns' first capacity
    expect(state.size).toBe(contributing);
    for (let c = 1; c <= 12; c++) {
      for (let w = windowStartFor(T0, rules.windowMinutes); w < T0 + 600 * 60_000; w += rules.windowMinutes * 60_000) {
        expect(state.summary(c, w)).toEqual(expectedSummaries.get(`${c}/${w}`));
      }
    }
  });
});
