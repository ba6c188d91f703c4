import { describe, expect, it } from 'vitest';
import { PatternAccumulators } from '../batch-legacy/transform.ts';
import type { CustomerRow, FraudAlert, ProductRow, SourceOrder } from '../domain/process-order.ts';
import { processOrder } from '../domain/process-order.ts';
import { compileRules, DEFAULT_RULES } from '../domain/rules.ts';
import { OrderState, type Emission } from './order-state.ts';

// Velocity: 3 orders of a customer in one aligned 10-minute window whose finals add up to more than 3000.00.
const rules = compileRules({ ...DEFAULT_RULES, patterns: [{ name: 'velocity', kind: 'velocity', severity: 'MEDIUM', minOrders: 3, totalAbove: '3000.00', windowMinutes: 10 }] });
const W0 = Date.UTC(2026, 10, 25, 10, 0, 0);
const MIN = 60_000;

function setup() {
  // BOOKS are untaxed and NEW has no discount: final = amount, so the sums read plainly.
  const customers = new Map<number, CustomerRow>([
    [1, { id: 1, tier: 'NEW' }],
    [2, { id: 2, tier: 'NEW' }],
  ]);
  const products = new Map<number, ProductRow>([[10, { id: 10, category: 'books' }]]);
  const tables = { customer: (id: number) => customers.get(id), product: (id: number) => products.get(id) };
  return { state: new OrderState(rules, tables), customers, products, tables };
}

function order(id: number, overrides: Partial<SourceOrder> = {}): SourceOrder {
  return { id, customerId: 1, productId: 10, quantity: 1, amountCents: 110_000, status: 'PLACED', createdAt: W0 + id * MIN, ...overrides };
}

function upsert(state: OrderState, o: SourceOrder): readonly Emission[] {
  const result = state.upsert(o, null);
  if ('blocked' in result) throw new Error(result.blocked);
  return result.emissions;
}

const patternEmissions = (out: readonly Emission[]) => out.filter((e) => e.kind === 'alert' && e.pattern === 'velocity');

describe('OrderState fraud patterns: velocity', () => {
  it('fires on the third order of the window and lists the matched orders', () => {
    const { state } = setup();
    expect(patternEmissions(upsert(state, order(1)))).toEqual([]);
    expect(patternEmissions(upsert(state, order(2)))).toEqual([]);
    const out = patternEmissions(upsert(state, order(3)));
    expect(out).toEqual([expect.objectContaining({ kind: 'alert', orderId: 1, customerId: 1, pattern: 'velocity', alert: expect.objectContaining({ matchedOrderIds: '1,2,3', finalCents: 330_000, windowStartMs: W0, windowEndMs: W0 + 10 * MIN, createdAt: W0 }) })]);
  });

  it('ignores orders of other windows and other customers', () => {
    const { state } = setup();
    upsert(state, order(1));
    upsert(state, order(2));
    expect(patternEmissions(upsert(state, order(11)))).toEqual([]); // 10:11, the next window
    expect(patternEmissions(upsert(state, order(4, { customerId: 2 })))).toEqual([]);
  });

  it('a late order (arriving after later windows) joins its own window and fires there', () => {
    const { state } = setup();
    upsert(state, order(1));
    upsert(state, order(3));
    upsert(state, order(12));
    upsert(state, order(25));
    const out = patternEmissions(upsert(state, order(2)));
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ orderId: 1, alert: { matchedOrderIds: '1,2,3' } });
  });

  it('an update that lowers the total retracts the alert; raising it again brings it back', () => {
    const { state } = setup();
    for (const id of [1, 2, 3]) upsert(state, order(id));
    expect(patternEmissions(upsert(state, order(2, { amountCents: 50_000 })))).toEqual([{ kind: 'alert', orderId: 1, customerId: 1, pattern: 'velocity', alert: null }]);
    expect(state.patternAlert(1, 'velocity', W0)).toBeUndefined();
    expect(patternEmissions(upsert(state, order(2, { amountCents: 200_000 })))[0]).toMatchObject({ orderId: 1, alert: { finalCents: 420_000 } });
  });

  it('cancelling the anchor order moves the alert to the next lowest id: tombstone of the old key, then the new alert', () => {
    const { state } = setup();
    for (const id of [1, 2, 3, 4]) upsert(state, order(id));
    const out = patternEmissions(upsert(state, order(1, { status: 'CANCELLED' })));
    expect(out).toEqual([
      { kind: 'alert', orderId: 1, customerId: 1, pattern: 'velocity', alert: null },
      expect.objectContaining({ orderId: 2, pattern: 'velocity', alert: expect.objectContaining({ matchedOrderIds: '2,3,4' }) }),
    ]);
  });

  it('a deleted order retracts its part; below minOrders the alert is retracted', () => {
    const { state } = setup();
    for (const id of [1, 2, 3]) upsert(state, order(id));
    expect(patternEmissions(state.delete(3, 1))).toEqual([{ kind: 'alert', orderId: 1, customerId: 1, pattern: 'velocity', alert: null }]);
  });

  // A move is a delete for (order, old customer) and an upsert for (order, new customer), read in either order.
  for (const deleteFirst of [true, false]) {
    it(`an order moved to another customer retracts from the old and matches under the new (${deleteFirst ? 'delete' : 'upsert'} read first)`, () => {
      const { state } = setup();
      for (const id of [1, 2, 3]) upsert(state, order(id));
      upsert(state, order(5, { customerId: 2 }));
      upsert(state, order(6, { customerId: 2 }));
      const moved = order(3, { customerId: 2 });
      const steps = deleteFirst ? [() => state.delete(3, 1), () => upsert(state, moved)] : [() => upsert(state, moved), () => state.delete(3, 1)];
      const out = steps.flatMap((step) => patternEmissions(step()));
      expect(out).toContainEqual({ kind: 'alert', orderId: 1, customerId: 1, pattern: 'velocity', alert: null });
      expect(out).toContainEqual(expect.objectContaining({ orderId: 3, customerId: 2, alert: expect.objectContaining({ matchedOrderIds: '3,5,6' }) }));
      expect(state.patternAlert(1, 'velocity', W0)).toBeUndefined();
      expect(state.patternAlert(2, 'velocity', W0)?.matchedOrderIds).toBe('3,5,6');
    });
  }

  it('a tier change recomputes the finals and the alert with them', () => {
    const { state, customers } = setup();
    for (const id of [1, 2, 3]) upsert(state, order(id, { amountCents: 101_000 }));
    customers.set(1, { id: 1, tier: 'PLATINUM' }); // 15% off: 858.50 each, 2575.50 in all
    expect(patternEmissions(state.customerChanged(1))).toEqual([{ kind: 'alert', orderId: 1, customerId: 1, pattern: 'velocity', alert: null }]);
  });

  it('restored state emits nothing for alerts it already had, and then retracts them correctly', () => {
    const { state, tables } = setup();
    for (const id of [1, 2, 3]) upsert(state, order(id));
    const restored = new OrderState(rules, tables);
    for (const id of [1, 2, 3]) restored.restore(state.processed(id, 1)!);
    expect(restored.patternAlert(1, 'velocity', W0)?.matchedOrderIds).toBe('1,2,3');
    expect(patternEmissions(restored.delete(2, 1))).toEqual([{ kind: 'alert', orderId: 1, customerId: 1, pattern: 'velocity', alert: null }]);
  });

  it('after any sequence of changes equals what the batch computes from the final rows', () => {
    const { state, tables } = setup();
    const final = new Map<number, SourceOrder>();
    let seed = 42;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 400; i++) {
      const id = 1 + Math.floor(random() * 60);
      const previous = final.get(id);
      const next = order(id, { customerId: 1 + Math.floor(random() * 2), amountCents: Math.floor(random() * 200_000), status: random() < 0.15 ? 'CANCELLED' : 'PAID', createdAt: W0 + Math.floor(random() * 40) * MIN });
      if (previous && previous.customerId !== next.customerId) state.delete(id, previous.customerId);
      if (random() < 0.1 && previous) {
        state.delete(id, previous.customerId);
        final.delete(id);
        continue;
      }
      upsert(state, next);
      final.set(id, next);
    }
    const batch = new PatternAccumulators(rules.patterns);
    const sorted = [...final.values()].sort((a, b) => a.createdAt - b.createdAt);
    for (const o of sorted) {
      const p = processOrder(o, tables.customer(o.customerId)!, tables.product(o.productId)!, rules);
      if (p) batch.add(p);
    }
    const batchAlerts = batch.takeAll();
    expect(batchAlerts.length).toBeGreaterThan(0);
    const streamAlerts: FraudAlert[] = [];
    for (const customerId of [1, 2]) for (let w = W0; w < W0 + 40 * MIN; w += 10 * MIN) {
      const a = state.patternAlert(customerId, 'velocity', w);
      if (a) streamAlerts.push(a);
    }
    const byKey = (a: FraudAlert) => `${a.customerId}/${a.windowStartMs}`;
    expect([...streamAlerts].sort((a, b) => byKey(a).localeCompare(byKey(b)))).toEqual([...batchAlerts].sort((a, b) => byKey(a).localeCompare(byKey(b))));
  });
});
