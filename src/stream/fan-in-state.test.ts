import { describe, expect, it } from 'vitest';
import type { CustomerRow, ProductRow, SourceOrder } from '../domain/process-order.ts';
import type { CompiledFanIn } from '../domain/patterns.ts';
import { compileRules, DEFAULT_RULES } from '../domain/rules.ts';
import { FanInState, type ContributionKey } from './fan-in-state.ts';
import { OrderState, type Emission } from './order-state.ts';
import { contributionKey, decodeContribution } from './records.ts';

// Fan-in: orders of 3 or more distinct NEW customers for one product in an aligned 10-minute window.
const rules = compileRules({ ...DEFAULT_RULES, patterns: [{ name: 'fan-in', kind: 'fan-in', severity: 'HIGH', minCustomers: 3, windowMinutes: 10 }] });
const patterns = rules.patterns as readonly CompiledFanIn[];
const W0 = Date.UTC(2026, 10, 25, 10, 0, 0);
const MIN = 60_000;

const key = (orderId: number, customerId: number, minute = 1, productId = 10): ContributionKey => ({ productId, orderId, customerId, createdAt: W0 + minute * MIN });
/** The alert emissions as "anchorOrder/anchorCustomer ids final" or "anchorOrder/anchorCustomer -" for a tombstone. */
const alertLines = (out: readonly Emission[]) => out.map((e) => (e.kind === 'alert' ? `${e.orderId}/${e.customerId} ${e.alert ? `${e.alert.matchedOrderIds} ${e.alert.finalCents}` : '-'}` : `unexpected ${e.kind}`));

describe('FanInState (stage 3)', () => {
  it('fires when the third distinct customer arrives, not at two', () => {
    const state = new FanInState(patterns);
    expect(state.apply(key(5, 1), 1_000)).toEqual([]);
    expect(state.apply(key(6, 2), 2_000)).toEqual([]);
    const out = state.apply(key(3, 3), 4_000);
    expect(alertLines(out)).toEqual(['3/3 3,5,6 7000']);
    expect(out[0]).toMatchObject({ kind: 'alert', pattern: 'fan-in', alert: { windowStartMs: W0, windowEndMs: W0 + 10 * MIN, createdAt: W0, severity: 'HIGH', reason: '3 NEW customers bought product 10 within 10 min (3 orders)' } });
  });

  it('a customer buying twice counts once: two customers with three orders do not fire', () => {
    const state = new FanInState(patterns);
    state.apply(key(1, 1), 100);
    state.apply(key(2, 2), 100);
    expect(state.apply(key(3, 1), 100)).toEqual([]);
    expect(alertLines(state.apply(key(4, 4), 100))).toEqual(['1/1 1,2,3,4 400']);
  });

  it('orders of the next window or another product are apart (the boundary is exclusive)', () => {
    const state = new FanInState(patterns);
    state.apply(key(1, 1, 9), 100); // 10:09
    state.apply(key(2, 2, 9.999), 100); // 10:09:59.940
    expect(state.apply(key(3, 3, 10), 100)).toEqual([]); // 10:10: the next window
    expect(state.apply(key(4, 4, 5, 11), 100)).toEqual([]); // another product
    expect(alertLines(state.apply(key(5, 5, 0), 100))).toEqual(['1/1 1,2,5 300']); // 10:00: the first window
    expect(state.alert('fan-in', 10, W0 + 10 * MIN)).toBeUndefined();
  });

  it('a retraction below minCustomers tombstones the alert; a changed final re-emits it under the same anchor', () => {
    const state = new FanInState(patterns);
    state.apply(key(1, 1), 100);
    state.apply(key(2, 2), 100);
    state.apply(key(3, 3), 100);
    expect(alertLines(state.apply(key(2, 2), 250))).toEqual(['1/1 1,2,3 450']);
    expect(state.apply(key(2, 2), 250)).toEqual([]); // the same part again: nothing changed
    expect(alertLines(state.apply(key(3, 3), null))).toEqual(['1/1 -']);
    expect(state.alert('fan-in', 10, W0)).toBeUndefined();
  });

  it('retracting the anchor tombstones its key and writes the alert under the next lowest order', () => {
    const state = new FanInState(patterns);
    for (const [orderId, customerId] of [[1, 1], [2, 2], [3, 3], [4, 4]] as const) state.apply(key(orderId, customerId), 100);
    expect(alertLines(state.apply(key(1, 1), null))).toEqual(['1/1 -', '2/2 2,3,4 300']);
  });

  it('restores without emitting; the next change emits against what was restored', () => {
    const state = new FanInState(patterns);
    state.restore(key(1, 1), 100);
    state.restore(key(2, 2), 100);
    state.restore(key(3, 3), 100);
    state.restore(key(9, 9), 100);
    state.restore(key(9, 9), null); // a tombstone read back: gone
    expect(state.alert('fan-in', 10, W0)).toBeUndefined(); // evaluated once, when the restore ends
    state.finishRestore();
    expect(state.size).toBe(3);
    expect(state.alert('fan-in', 10, W0)?.matchedOrderIds).toBe('1,2,3');
    expect(alertLines(state.apply(key(1, 1), null))).toEqual(['1/1 -']);
  });

  it('a tombstone of a part it never saw (compacted before the committed offset) tombstones every possible anchor, then rewrites the alert', () => {
    const state = new FanInState(patterns);
    for (const [orderId, customerId] of [[4, 4], [5, 5], [6, 6]] as const) state.restore(key(orderId, customerId), 100);
    state.finishRestore();
    expect(alertLines(state.apply(key(2, 2), null))).toEqual(['2/2 -', '4/4 -', '5/5 -', '6/6 -', '4/4 4,5,6 300']);
  });

  it('the repair keeps the alert of another window that the retracted order now anchors', () => {
    const state = new FanInState(patterns);
    // Order 1 moved from 10:01 to 10:12 in the transaction that wrote its old part: stage 3 sees the new part, then only the old one's tombstone.
    state.apply(key(2, 2, 12), 100);
    state.apply(key(3, 3, 12), 100);
    expect(alertLines(state.apply(key(1, 1, 12), 100))).toEqual(['1/1 1,2,3 300']);
    expect(alertLines(state.apply(key(1, 1, 1), null))).toEqual(['1/1 -', '1/1 1,2,3 300']);
  });

  it('the wire format round-trips a part and a tombstone', () => {
    const k = key(77, 8, 3, 12);
    expect(contributionKey(k)).toBe(`12|77|8|${W0 + 3 * MIN}`);
    expect(decodeContribution(Buffer.from(contributionKey(k)), Buffer.from('123456'))).toEqual({ key: k, finalCents: 123_456 });
    expect(decodeContribution(Buffer.from(contributionKey(k)), null)).toEqual({ key: k, finalCents: null });
    expect(decodeContribution(Buffer.from('12|x|8|1'), null)).toBeUndefined();
  });
});

describe('OrderState (stage 2) writes the fan-in parts stage 3 reads', () => {
  function setup() {
    // Books are untaxed and NEW has no discount: final = amount.
    const customers = new Map<number, CustomerRow>([
      [1, { id: 1, tier: 'NEW' }],
      [2, { id: 2, tier: 'NEW' }],
      [3, { id: 3, tier: 'NEW' }],
      [4, { id: 4, tier: 'GOLD' }],
    ]);
    const products = new Map<number, ProductRow>([
      [10, { id: 10, category: 'books' }],
      [11, { id: 11, category: 'books' }],
    ]);
    const state = new OrderState(rules, { customer: (id) => customers.get(id), product: (id) => products.get(id) });
    const stage3 = new FanInState(patterns);
    /** Runs a stage-2 change and feeds its parts to stage 3; returns the parts as text and stage 3's alert lines. */
    const run = (emissions: readonly Emission[]) => {
      const parts = emissions.filter((e) => e.kind === 'contribution');
      const alerts = parts.flatMap((p) => stage3.apply(p, p.finalCents));
      return { parts: parts.map((p) => `${contributionKey(p)} ${p.finalCents ?? '-'}`), alerts: alertLines(alerts) };
    };
    const upsert = (o: SourceOrder) => {
      const result = state.upsert(o, null);
      if ('blocked' in result) throw new Error(result.blocked);
      return run(result.emissions);
    };
    return { state, customers, stage3, run, upsert };
  }
  const order = (id: number, customerId: number, overrides: Partial<SourceOrder> = {}): SourceOrder => ({ id, customerId, productId: 10, quantity: 1, amountCents: 1_000, status: 'PAID', createdAt: W0 + MIN, ...overrides });
  const at = W0 + MIN;

  it('writes a NEW customer\'s order, not a GOLD one\'s, and only when its part changes', () => {
    const { upsert } = setup();
    expect(upsert(order(1, 1)).parts).toEqual([`10|1|1|${at} 1000`]);
    expect(upsert(order(2, 4)).parts).toEqual([]);
    expect(upsert(order(1, 1, { status: 'SHIPPED' })).parts).toEqual([]); // the row changed, its part did not
    expect(upsert(order(1, 1, { amountCents: 1_500 })).parts).toEqual([`10|1|1|${at} 1500`]);
  });

  it('a cancellation retracts the part and the alert it completed', () => {
    const { upsert } = setup();
    upsert(order(1, 1));
    upsert(order(2, 2));
    expect(upsert(order(3, 3)).alerts).toEqual(['1/1 1,2,3 3000']);
    expect(upsert(order(2, 2, { status: 'CANCELLED' }))).toEqual({ parts: [`10|2|2|${at} -`], alerts: ['1/1 -'] });
  });

  it('a tier change away from NEW retracts every part of the customer, and the alert', () => {
    const { upsert, customers, state, run } = setup();
    upsert(order(1, 1));
    upsert(order(2, 2));
    upsert(order(3, 3));
    upsert(order(4, 3, { productId: 11 }));
    customers.set(3, { id: 3, tier: 'BRONZE', tierChangedAt: W0 });
    expect(run(state.customerChanged(3))).toEqual({ parts: [`10|3|3|${at} -`, `11|4|3|${at} -`], alerts: ['1/1 -'] });
    customers.set(3, { id: 3, tier: 'NEW', tierChangedAt: W0 + 1 });
    expect(run(state.customerChanged(3)).alerts).toEqual(['1/1 1,2,3 3000']);
  });

  it('a move to another product or time tombstones the old key and writes the new one; a delete retracts', () => {
    const { upsert, state, run } = setup();
    upsert(order(1, 1));
    upsert(order(2, 2));
    upsert(order(3, 3));
    // The anchor leaves for product 11: the alert goes with it from product 10.
    expect(upsert(order(1, 1, { productId: 11 }))).toEqual({ parts: [`10|1|1|${at} -`, `11|1|1|${at} 1000`], alerts: ['1/1 -'] });
    upsert(order(1, 1));
    expect(upsert(order(3, 3, { createdAt: W0 + 12 * MIN }))).toEqual({ parts: [`10|3|3|${at} -`, `10|3|3|${W0 + 12 * MIN} 1000`], alerts: ['1/1 -'] });
    upsert(order(3, 3));
    expect(run(state.delete(2, 2)).alerts).toEqual(['1/1 -']);
  });

  it('a move to another customer retracts the old customer\'s part; the new customer\'s counts instead', () => {
    const { upsert, state, run } = setup();
    upsert(order(1, 1));
    upsert(order(2, 2));
    expect(upsert(order(3, 1)).alerts).toEqual([]); // customer 1 twice: two customers
    expect(run(state.delete(3, 1)).parts).toEqual([`10|3|1|${at} -`]);
    expect(upsert(order(3, 3))).toEqual({ parts: [`10|3|3|${at} 1000`], alerts: ['1/1 1,2,3 3000'] });
  });
});

describe('FanInState under churn (its parts in columns, slots freed and reused, windows as slot chains)', () => {
  it('after thousands of random parts, changes and retractions holds exactly the alerts of the live parts', () => {
    const state = new FanInState(patterns);
    const live = new Map<string, { readonly key: ContributionKey; readonly finalCents: number }>();
    let seed = 3;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    for (let step = 0; step < 20_000; step++) {
      // 1 500 orders over 4 products and 6 windows, each order's customer one of 8: windows of a few parts, often 3+ customers.
      const orderId = 1 + Math.floor(random() * 1500);
      const k = key(orderId, 1 + Math.floor(random() * 8), Math.floor(random() * 60), 1 + Math.floor(random() * 4));
      if (random() < 0.3) {
        state.apply(k, null);
        live.delete(contributionKey(k));
      } else {
        const finalCents = 100 * (1 + Math.floor(random() * 50));
        state.apply(k, finalCents);
        live.set(contributionKey(k), { key: k, finalCents });
      }
    }
    expect(state.size).toBe(live.size);
    expect(live.size).toBeGreaterThan(1024); // past the columns' first capacity
    // The alert each window must hold, by the rule itself: the parts of >= 3 distinct customers, anchored at the lowest order id.
    let alerts = 0;
    for (let productId = 1; productId <= 4; productId++) {
      for (let w = W0; w < W0 + 60 * MIN; w += 10 * MIN) {
        const parts = [...live.values()].filter((p) => p.key.productId === productId && p.key.createdAt >= w && p.key.createdAt < w + 10 * MIN);
        const ids = parts.map((p) => p.key.orderId).sort((a, b) => a - b);
        const fires = new Set(parts.map((p) => p.key.customerId)).size >= 3;
        const alert = state.alert('fan-in', productId, w);
        if (!fires) {
          expect(alert).toBeUndefined();
          continue;
        }
        alerts++;
        expect(alert?.matchedOrderIds).toBe(ids.join(','));
        expect(alert?.finalCents).toBe(parts.reduce((sum, p) => sum + p.finalCents, 0));
        expect(alert?.orderId).toBe(ids[0]);
      }
    }
    expect(alerts).toBeGreaterThan(10);
  });
});
