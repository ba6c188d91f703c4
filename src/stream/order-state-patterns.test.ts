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

/**
 * One step of a seeded random walk over orders: a move retracts the old customer's row, then 10 %
 * of existing orders are deleted and the rest upserted; `final` follows as the source would end.
 */
function applyRandomChange(state: OrderState, final: Map<number, SourceOrder>, next: SourceOrder, random: () => number): void {
  const previous = final.get(next.id);
  if (previous && previous.customerId !== next.customerId) state.delete(next.id, previous.customerId);
  if (random() < 0.1 && previous) {
    state.delete(next.id, previous.customerId);
    final.delete(next.id);
    return;
  }
  upsert(state, next);
  final.set(next.id, next);
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

  it('a tier change evaluates each window once: one alert with the new total, not one per re-processed order', () => {
    const { state, customers } = setup();
    for (const id of [1, 2, 3, 4]) upsert(state, order(id));
    customers.set(1, { id: 1, tier: 'BRONZE' }); // 2% off: 1078.00 each, 4312.00 in all
    expect(patternEmissions(state.customerChanged(1))).toEqual([
      expect.objectContaining({ orderId: 1, alert: expect.objectContaining({ finalCents: 431_200, matchedOrderIds: '1,2,3,4', windowStartMs: W0 }) }),
    ]);
  });

  it('a restore with tombstones holds the alert of what is live at its end: 3 rows restored, one tombstoned, then a new third fires', () => {
    const { tables } = setup();
    const rows = [1, 2, 3].flatMap((id) => processOrder(order(id), { id: 1, tier: 'NEW' }, { id: 10, category: 'books' }, rules) ?? []);
    expect(rows).toHaveLength(3);
    const restored = new OrderState(rules, tables);
    for (const row of rows) restored.restore(row);
    restored.restoreTombstone(2, 1);
    expect(restored.patternAlert(1, 'velocity', W0)).toBeUndefined(); // 2 orders, 2200.00: below both thresholds
    expect(patternEmissions(upsert(restored, order(4)))).toEqual([
      expect.objectContaining({ orderId: 1, alert: expect.objectContaining({ matchedOrderIds: '1,3,4', finalCents: 330_000 }) }),
    ]);
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
      const next = order(id, { customerId: 1 + Math.floor(random() * 2), amountCents: Math.floor(random() * 200_000), status: random() < 0.15 ? 'CANCELLED' : 'PAID', createdAt: W0 + Math.floor(random() * 40) * MIN });
      applyRandomChange(state, final, next, random);
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

// Escalation: an order whose final is above 1000.00, created within 30 minutes after its customer's last tier change.
const escalationRules = compileRules({ ...DEFAULT_RULES, patterns: [{ name: 'escalation', kind: 'escalation', severity: 'HIGH', totalAbove: '1000.00', windowMinutes: 30 }] });
const T = W0 + 5 * MIN; // the tier change: 10:05

describe('OrderState fraud patterns: escalation', () => {
  function escalationSetup() {
    const customers = new Map<number, CustomerRow>([
      [1, { id: 1, tier: 'NEW' }],
      [2, { id: 2, tier: 'NEW' }],
    ]);
    const products = new Map<number, ProductRow>([[10, { id: 10, category: 'books' }]]);
    const tables = { customer: (id: number) => customers.get(id), product: (id: number) => products.get(id) };
    return { state: new OrderState(escalationRules, tables), customers, tables };
  }
  const escalations = (out: readonly Emission[]) => out.filter((e): e is Extract<Emission, { kind: 'alert' }> => e.kind === 'alert' && e.pattern === 'escalation');
  // Orders at 10:00 + id minutes, 1100.00 each (untaxed books): NEW pays 1100.00, BRONZE (2 % off) 1078.00.
  const at = (id: number, minute: number, overrides: Partial<SourceOrder> = {}) => order(id, { createdAt: W0 + minute * MIN, ...overrides });
  const fired = (orderId: number, customerId: number, finalCents: number, tier: string, changedAt = T) => ({
    kind: 'alert',
    orderId,
    customerId,
    pattern: 'escalation',
    alert: expect.objectContaining({ orderId, customerId, finalCents, severity: 'HIGH', matchedOrderIds: String(orderId), windowStartMs: changedAt, windowEndMs: changedAt + 30 * MIN, reason: `final amount ${(finalCents / 100).toFixed(2)} above 1000.00 within 30 min of the tier change to ${tier}` }),
  });
  const retracted = (orderId: number, customerId = 1) => ({ kind: 'alert', orderId, customerId, pattern: 'escalation', alert: null });

  it('a tier change raises alerts for the orders above the threshold in [change, change + 30 min), and only those', () => {
    const { state, customers } = escalationSetup();
    // 10:04 (before), 10:05 (at the change), 10:20, 10:34 (last minute in), 10:35 (window end, excluded); order 6 at 10:10 is too small.
    for (const [id, minute] of [[1, 4], [2, 5], [3, 20], [4, 34], [5, 35]] as const) expect(escalations(upsert(state, at(id, minute)))).toEqual([]);
    expect(escalations(upsert(state, at(6, 10, { amountCents: 100_000 })))).toEqual([]);
    customers.set(1, { id: 1, tier: 'BRONZE', tierChangedAt: T });
    const out = escalations(state.customerChanged(1));
    expect(out).toEqual([fired(2, 1, 107_800, 'BRONZE'), fired(3, 1, 107_800, 'BRONZE'), fired(4, 1, 107_800, 'BRONZE')]);
    expect(state.escalationAlert(3, 1, 'escalation')?.createdAt).toBe(W0 + 20 * MIN);
    expect(state.escalationAlert(1, 1, 'escalation')).toBeUndefined();
  });

  it('a late order (created inside the window, read after later ones) fires when it arrives', () => {
    const { state, customers } = escalationSetup();
    customers.set(1, { id: 1, tier: 'BRONZE', tierChangedAt: T });
    state.customerChanged(1);
    upsert(state, at(1, 50));
    upsert(state, at(2, 90));
    expect(escalations(upsert(state, at(3, 6)))).toEqual([fired(3, 1, 107_800, 'BRONZE')]);
  });

  it('a cancellation, a delete and an update below the threshold retract the alert; paying again brings it back', () => {
    const { state, customers } = escalationSetup();
    customers.set(1, { id: 1, tier: 'BRONZE', tierChangedAt: T });
    for (const [id, minute] of [[1, 6], [2, 7], [3, 8]] as const) upsert(state, at(id, minute));
    expect(escalations(upsert(state, at(1, 6, { status: 'CANCELLED' })))).toEqual([retracted(1)]);
    expect(escalations(state.delete(2, 1))).toEqual([retracted(2)]);
    expect(escalations(upsert(state, at(3, 8, { amountCents: 102_000 })))).toEqual([retracted(3)]); // 999.60 after 2 % off
    expect(escalations(upsert(state, at(1, 6, { status: 'PAID' })))).toEqual([fired(1, 1, 107_800, 'BRONZE')]);
  });

  it("a moved order retracts under the customer it left and is judged by the tier change of the one it joined", () => {
    const { state, customers } = escalationSetup();
    customers.set(1, { id: 1, tier: 'BRONZE', tierChangedAt: T });
    customers.set(2, { id: 2, tier: 'SILVER', tierChangedAt: T + 10 * MIN }); // 10:15, 5 % off: 1045.00
    upsert(state, at(1, 12));
    upsert(state, at(2, 16));
    expect(escalations(state.delete(1, 1))).toEqual([retracted(1)]);
    expect(escalations(upsert(state, at(1, 12, { customerId: 2 })))).toEqual([]); // 10:12 is before customer 2's change
    expect(escalations(state.delete(2, 1))).toEqual([retracted(2)]);
    expect(escalations(upsert(state, at(2, 16, { customerId: 2 })))).toEqual([fired(2, 2, 104_500, 'SILVER', T + 10 * MIN)]);
  });

  it('a later tier change moves the window: earlier orders retract, orders after the new change fire', () => {
    const { state, customers } = escalationSetup();
    customers.set(1, { id: 1, tier: 'BRONZE', tierChangedAt: T });
    for (const [id, minute] of [[1, 10], [2, 30], [3, 45]] as const) upsert(state, at(id, minute));
    expect(state.escalationAlert(1, 1, 'escalation')).toBeDefined();
    expect(state.escalationAlert(2, 1, 'escalation')).toBeDefined();
    // Changed again at 10:25 (back to NEW: 1100.00): only the last change counts, window [10:25, 10:55).
    customers.set(1, { id: 1, tier: 'NEW', tierChangedAt: W0 + 25 * MIN });
    expect(escalations(state.customerChanged(1))).toEqual([retracted(1), fired(2, 1, 110_000, 'NEW', W0 + 25 * MIN), fired(3, 1, 110_000, 'NEW', W0 + 25 * MIN)]);
  });

  it('a restored state emits nothing while the customer is unchanged; after a tier change it tombstones and recomputes', () => {
    const { state, customers, tables } = escalationSetup();
    customers.set(1, { id: 1, tier: 'BRONZE', tierChangedAt: T });
    for (const [id, minute] of [[1, 10], [2, 50]] as const) upsert(state, at(id, minute));
    const unchanged = new OrderState(escalationRules, tables);
    for (const id of [1, 2]) unchanged.restore(state.processed(id, 1)!);
    expect(unchanged.escalationAlert(1, 1, 'escalation')).toBeDefined();
    expect(unchanged.reconcileAll()).toEqual([]);
    // While the worker was down the tier changed at 10:45: order 1 (alerted before) retracts, order 2 fires.
    customers.set(1, { id: 1, tier: 'SILVER', tierChangedAt: W0 + 45 * MIN });
    const changed = new OrderState(escalationRules, tables);
    for (const id of [1, 2]) changed.restore(state.processed(id, 1)!);
    const out = escalations(changed.reconcileAll());
    // Whatever was emitted before for orders that could have matched is replaced; the last write of a key wins.
    const last = new Map(out.map((e) => [e.orderId, e]));
    expect(last.get(1)).toEqual(retracted(1));
    expect(last.get(2)).toEqual(fired(2, 1, 104_500, 'SILVER', W0 + 45 * MIN));
  });

  it('a tier that went and came back while no worker ran (A → B → A) retracts the alert the restored record was evaluated with', () => {
    const { state, customers, tables } = escalationSetup();
    customers.set(1, { id: 1, tier: 'BRONZE', tierChangedAt: T });
    const out = upsert(state, at(1, 10));
    expect(escalations(out)).toEqual([fired(1, 1, 107_800, 'BRONZE')]);
    // What the processed record carries: the change time its escalation was evaluated with (10:05).
    expect(out.find((e) => e.kind === 'processed')).toMatchObject({ tierChangedAt: T });
    // Down: BRONZE -> SILVER at 10:20, back to BRONZE at 10:40. Same row (same tier), but the last change is now after the order.
    customers.set(1, { id: 1, tier: 'BRONZE', tierChangedAt: W0 + 40 * MIN });
    const restored = new OrderState(escalationRules, tables);
    restored.restore(state.processed(1, 1)!, T);
    expect(restored.escalationAlert(1, 1, 'escalation')).toBeDefined(); // what was emitted
    const reconciled = restored.reconcileAll();
    expect(escalations(reconciled)).toEqual([retracted(1)]);
    // The row goes out again with the new change time, so a later restore knows there is no alert.
    expect(reconciled.find((e) => e.kind === 'processed')).toMatchObject({ tierChangedAt: W0 + 40 * MIN });
    const again = new OrderState(escalationRules, tables);
    again.restore(restored.processed(1, 1)!, W0 + 40 * MIN);
    expect(again.reconcileAll()).toEqual([]);
  });

  it('a restored order of a customer who never had a tier change time is recomputed without escalation tombstones', () => {
    const { state, customers, tables } = escalationSetup();
    upsert(state, at(1, 10));
    customers.set(1, { id: 1, tier: 'GOLD' }); // a tier change seen without a change time (a source without the column)
    const restored = new OrderState(escalationRules, tables);
    restored.restore(state.processed(1, 1)!);
    const out = restored.reconcileAll();
    expect(out.some((e) => e.kind === 'processed')).toBe(true);
    expect(escalations(out)).toEqual([]);
  });

  it('after any sequence of order and tier changes equals the rule applied to the final rows', () => {
    const { state, customers } = escalationSetup();
    const final = new Map<number, SourceOrder>();
    let seed = 7;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const tiers = ['NEW', 'BRONZE', 'SILVER', 'GOLD', 'PLATINUM'] as const;
    const discount: Record<string, number> = { NEW: 0, BRONZE: 2, SILVER: 5, GOLD: 10, PLATINUM: 15 };
    for (let i = 0; i < 600; i++) {
      if (random() < 0.05) {
        const customerId = 1 + Math.floor(random() * 2);
        customers.set(customerId, { id: customerId, tier: tiers[Math.floor(random() * 5)]!, tierChangedAt: W0 + Math.floor(random() * 60) * MIN });
        state.customerChanged(customerId);
        continue;
      }
      const id = 1 + Math.floor(random() * 60);
      // Whole hundreds, so every discount is exact and the expected finals are plain arithmetic.
      const next = at(id, Math.floor(random() * 90), { customerId: 1 + Math.floor(random() * 2), amountCents: Math.floor(random() * 20) * 10_000, status: random() < 0.15 ? 'CANCELLED' : 'PAID' });
      applyRandomChange(state, final, next, random);
    }
    // Independently: final = amount × (100 − discount %) / 100 (books are untaxed), above 1000.00, in [changed, changed + 30 min).
    const expected: string[] = [];
    for (const o of final.values()) {
      const customer = customers.get(o.customerId)!;
      const finalCents = (o.amountCents * (100 - discount[customer.tier]!)) / 100;
      const changed = customer.tierChangedAt;
      if (o.status !== 'CANCELLED' && changed != null && finalCents > 100_000 && o.createdAt >= changed && o.createdAt < changed + 30 * MIN) expected.push(`${o.customerId}/${o.id} ${finalCents}`);
    }
    const actual: string[] = [];
    for (const customerId of [1, 2]) for (let id = 1; id <= 60; id++) {
      const a = state.escalationAlert(id, customerId, 'escalation');
      if (a) actual.push(`${a.customerId}/${a.orderId} ${a.finalCents}`);
    }
    expect(expected.length).toBeGreaterThan(3);
    expect(actual.sort()).toEqual(expected.sort());
  });
});
