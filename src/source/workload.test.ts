import { describe, expect, it } from 'vitest';
import { parseMoney } from '../domain/money.ts';
import { fraudAlertFor, processOrder } from '../domain/process-order.ts';
import { DEFAULT_RULES, TIERS, compileRules, type Tier } from '../domain/rules.ts';
import { mulberry32, type Random } from './random.ts';
import { generateCustomers, generateProducts } from './seed.ts';
import {
  DEFAULT_MIX,
  LARGE_ORDER_MIN_CENTS,
  RecentOrders,
  WorkloadPlanner,
  validateMix,
  type BatchPlan,
  type CatalogueCustomer,
  type InsertedOrder,
  type LiveStatus,
} from './workload.ts';

const seedProducts = generateProducts(200, mulberry32(1));
const products = seedProducts.map((p, i) => ({ id: i + 1, priceCents: parseMoney(p.price), category: p.category }));
const customers: CatalogueCustomer[] = generateCustomers(1_000, mulberry32(2)).map((c, i) => ({ id: i + 1, tier: c.tier }));
const catalogue = { products, customers };

/** Plays the database: gives each new order the next id, as RETURNING would. */
function simulate(planner: WorkloadPlanner, ticks: number, ordersPerTick: number, onPlan: (plan: BatchPlan) => void = () => undefined): void {
  let nextId = 1;
  for (let tick = 0; tick < ticks; tick += 1) {
    const plan = planner.plan(ordersPerTick);
    onPlan(plan);
    const inserted: InsertedOrder[] = plan.inserts.map((o) => ({ id: nextId++, productId: o.productId, quantity: o.quantity }));
    planner.complete(plan, inserted);
  }
}

describe('WorkloadPlanner', () => {
  it('plans exactly the asked number of new orders per batch', () => {
    const planner = new WorkloadPlanner(catalogue, mulberry32(5));
    simulate(planner, 50, 250, (plan) => expect(plan.inserts).toHaveLength(250));
  });

  it('follows the mix: ~84 % inserts, ~8 % updates, ~4 % cancels, ~2 % deletes, ~1 % tier changes, ~1 % customer moves', () => {
    const planner = new WorkloadPlanner(catalogue, mulberry32(11));
    simulate(planner, 20, 100); // fill the recent orders first
    const counts = { insert: 0, update: 0, cancel: 0, delete: 0, tierChange: 0, move: 0 };
    simulate(planner, 2_000, 100, (plan) => {
      counts.insert += plan.inserts.length;
      counts.update += plan.updates.length;
      counts.cancel += plan.cancels.length;
      counts.delete += plan.deletes.length;
      counts.tierChange += plan.tierChanges.length;
      counts.move += plan.moves.length;
    });
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    for (const kind of ['insert', 'update', 'cancel', 'delete', 'tierChange', 'move'] as const) {
      const expected = DEFAULT_MIX[kind];
      // Within 5 % of the expected share (relative), over ~235 000 changes.
      expect(Math.abs(counts[kind] / total - expected) / expected, kind).toBeLessThan(0.05);
    }
  });

  it('is reproducible: the same seed plans the same batches', () => {
    const plans = (seed: number) => {
      const all: BatchPlan[] = [];
      simulate(new WorkloadPlanner(catalogue, mulberry32(seed)), 30, 50, (p) => all.push(p));
      return all;
    };
    expect(plans(42)).toEqual(plans(42));
    expect(plans(42)).not.toEqual(plans(43));
  });

  it('writes amounts as exact two-place decimals equal to price × quantity (1 to 5)', () => {
    const priceOf = new Map(products.map((p) => [p.id, p.priceCents]));
    const planner = new WorkloadPlanner(catalogue, mulberry32(8));
    simulate(planner, 200, 100, (plan) => {
      for (const order of plan.inserts) {
        expect(order.amount).toMatch(/^\d+\.\d{2}$/);
        expect(order.quantity).toBeGreaterThanOrEqual(1);
        expect(order.quantity).toBeLessThanOrEqual(5);
        expect(parseMoney(order.amount)).toBe(priceOf.get(order.productId)! * order.quantity);
      }
      for (const update of plan.updates) {
        expect(update.amount).toMatch(/^\d+\.\d{2}$/);
        expect(parseMoney(update.amount)).toBe(update.order.priceCents * update.order.quantity);
      }
    });
  });

  it('raises fraud alerts at a low but non-zero rate under the default rules', () => {
    const rules = compileRules(DEFAULT_RULES);
    const byId = new Map(products.map((p) => [p.id, p]));
    const tierOf = new Map(customers.map((c) => [c.id, c.tier]));
    const alerts = { HIGH: 0, MEDIUM: 0 };
    let orders = 0;
    let large = 0;
    simulate(new WorkloadPlanner(catalogue, mulberry32(21)), 1_000, 200, (plan) => {
      for (const o of plan.inserts) {
        orders += 1;
        if (parseMoney(o.amount) >= LARGE_ORDER_MIN_CENTS) large += 1;
        const source = { id: orders, customerId: o.customerId, productId: o.productId, quantity: o.quantity, amountCents: parseMoney(o.amount), status: 'PLACED' as const, createdAt: 0 };
        const processed = processOrder(source, { id: o.customerId, tier: tierOf.get(o.customerId)! }, { id: o.productId, category: byId.get(o.productId)!.category }, rules);
        const alert = processed && fraudAlertFor(processed, rules);
        if (alert) alerts[alert.severity] += 1;
      }
    });
    // HIGH comes from the large orders alone (0.2 % of new orders); MEDIUM from NEW customers' dear baskets.
    expect(alerts.HIGH).toBe(large);
    expect(alerts.HIGH / orders).toBeGreaterThan(0.001);
    expect(alerts.HIGH / orders).toBeLessThan(0.004);
    expect(alerts.MEDIUM / orders).toBeGreaterThan(0.001);
    expect(alerts.MEDIUM / orders).toBeLessThan(0.05);
  });

  it('moves statuses forward only and never touches one order twice in a batch', () => {
    const planner = new WorkloadPlanner(catalogue, mulberry32(13));
    const status = new Map<number, LiveStatus | 'CANCELLED' | 'DELETED'>();
    const rank = { PLACED: 0, PAID: 1, SHIPPED: 2 } as const;
    let nextId = 1;
    for (let tick = 0; tick < 500; tick += 1) {
      const plan = planner.plan(100);
      const touched = [...plan.updates.map((u) => u.order.id), ...plan.cancels, ...plan.deletes];
      expect(new Set(touched).size).toBe(touched.length);
      for (const u of plan.updates) {
        const before = status.get(u.order.id);
        expect(before === 'PLACED' || before === 'PAID' || before === 'SHIPPED').toBe(true);
        expect(rank[u.order.status]).toBeGreaterThanOrEqual(rank[before as LiveStatus]);
        status.set(u.order.id, u.order.status);
      }
      for (const id of plan.cancels) {
        expect(status.get(id)).not.toMatch(/CANCELLED|DELETED/);
        status.set(id, 'CANCELLED');
      }
      for (const id of plan.deletes) {
        expect(status.get(id)).not.toMatch(/CANCELLED|DELETED/);
        status.set(id, 'DELETED');
      }
      const inserted = plan.inserts.map((o) => ({ id: nextId++, productId: o.productId, quantity: o.quantity }));
      for (const row of inserted) status.set(row.id, 'PLACED');
      planner.complete(plan, inserted);
    }
    const seen = new Set(status.values());
    for (const s of ['PLACED', 'PAID', 'SHIPPED', 'CANCELLED', 'DELETED']) expect(seen.has(s as never), s).toBe(true);
  });

  it('changes tiers one step at a time and never changes one customer twice in flight', () => {
    const planner = new WorkloadPlanner(catalogue, mulberry32(17));
    const tiers = new Map<number, Tier>(customers.map((c) => [c.id, c.tier]));
    const inFlight: BatchPlan[] = [];
    for (let tick = 0; tick < 400; tick += 1) {
      const plan = planner.plan(100);
      const busy = new Set(inFlight.flatMap((p) => p.tierChanges.map((t) => t.customerId)));
      for (const change of plan.tierChanges) {
        expect(busy.has(change.customerId)).toBe(false);
        expect(change.from).toBe(tiers.get(change.customerId));
        expect(Math.abs(TIERS.indexOf(change.to) - TIERS.indexOf(change.from))).toBe(1);
        tiers.set(change.customerId, change.to);
      }
      inFlight.push(plan);
      // Three batches in flight at a time, completed oldest first.
      if (inFlight.length > 3) planner.complete(inFlight.shift()!, []);
    }
  });

  it('rejects a mix it cannot draw from', () => {
    expect(() => validateMix({ ...DEFAULT_MIX, insert: 0 })).toThrow(/insert/);
    expect(() => validateMix({ ...DEFAULT_MIX, update: -1 })).toThrow(/update/);
    expect(() => validateMix({ ...DEFAULT_MIX, largeOrderShare: 2 })).toThrow(/shares/);
  });
});

describe('RecentOrders', () => {
  const order = (id: number) => ({ id, productId: 1, priceCents: 100, quantity: 1, status: 'PLACED' as const });

  it('stays within its capacity and hands each order out once', () => {
    const random: Random = mulberry32(3);
    const recent = new RecentOrders(100, random);
    for (let id = 1; id <= 10_000; id += 1) recent.add(order(id));
    expect(recent.size).toBe(100);
    const taken = new Set<number>();
    for (let order = recent.take(); order; order = recent.take()) taken.add(order.id);
    expect(taken.size).toBe(100);
    // Random replacement keeps the set recent: most survivors come from the last thousand.
    expect([...taken].filter((id) => id > 9_000).length).toBeGreaterThan(50);
    expect(recent.take()).toBeUndefined();
  });
});
