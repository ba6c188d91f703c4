import { describe, expect, it } from 'vitest';
import { alignmentMinutes, countsForFanIn, escalationAlert, fanInAlert, velocityAlert, type CompiledEscalation, type CompiledFanIn, type CompiledVelocity, type FanInContribution } from './patterns.ts';
import type { ProcessedOrder } from './process-order.ts';
import { compileRules, DEFAULT_RULES, InvalidRulesError, type BusinessRules } from './rules.ts';

const velocity = { name: 'velocity', kind: 'velocity', severity: 'MEDIUM', minOrders: 3, totalAbove: '3000.00', windowMinutes: 10 } as const;
const rules = compileRules({ ...DEFAULT_RULES, patterns: [velocity] });
const pattern = rules.patterns[0] as CompiledVelocity;
const W0 = Date.UTC(2026, 10, 25, 10, 0, 0);

function processed(orderId: number, finalCents: number, createdAt = W0 + 60_000): ProcessedOrder {
  return { orderId, customerId: 7, customerTier: 'GOLD', productId: 1, productCategory: 'books', quantity: 1, amountCents: finalCents, discountCents: 0, taxCents: 0, finalCents, status: 'PAID', createdAt };
}

describe('velocityAlert', () => {
  it('fires at minOrders whose final total is above the threshold, anchored at the lowest order id', () => {
    const alert = velocityAlert(pattern, 7, W0, [processed(30, 100_000), processed(12, 100_000), processed(21, 100_001)]);
    expect(alert).toEqual({
      orderId: 12,
      customerId: 7,
      finalCents: 300_001,
      severity: 'MEDIUM',
      reason: '3 orders within 10 min totalling 3000.01, above 3000.00',
      createdAt: W0,
      pattern: 'velocity',
      matchedOrderIds: '12,21,30',
      windowStartMs: W0,
      windowEndMs: W0 + 600_000,
    });
  });

  it('does not fire at exactly the threshold (above is strict) nor below minOrders', () => {
    expect(velocityAlert(pattern, 7, W0, [processed(1, 100_000), processed(2, 100_000), processed(3, 100_000)])).toBeNull();
    expect(velocityAlert(pattern, 7, W0, [processed(1, 900_000), processed(2, 900_000)])).toBeNull();
  });

  it('is a function of the set of orders, not of their arrival order (a late order gives the same alert)', () => {
    const orders = [processed(5, 200_000), processed(3, 200_000), processed(9, 1)];
    expect(velocityAlert(pattern, 7, W0, [...orders].reverse())).toEqual(velocityAlert(pattern, 7, W0, orders));
  });
});

// Escalation: an order whose final is above 3000.00 within 30 minutes after its customer's last tier change.
const escalation = { name: 'escalation', kind: 'escalation', severity: 'HIGH', totalAbove: '3000.00', windowMinutes: 30 } as const;
const escalating = compileRules({ ...DEFAULT_RULES, patterns: [escalation] }).patterns[0] as CompiledEscalation;
const CHANGED = W0 + 5 * 60_000 + 123; // 10:05:00.123

describe('escalationAlert', () => {
  it('fires for an order above the threshold created at the tier change, naming the window [change, change + 30 min)', () => {
    expect(escalationAlert(escalating, processed(42, 300_001, CHANGED), CHANGED)).toEqual({
      orderId: 42,
      customerId: 7,
      finalCents: 300_001,
      severity: 'HIGH',
      reason: 'final amount 3000.01 above 3000.00 within 30 min of the tier change to GOLD',
      createdAt: CHANGED,
      pattern: 'escalation',
      matchedOrderIds: '42',
      windowStartMs: CHANGED,
      windowEndMs: W0 + 35 * 60_000 + 123,
    });
  });

  it('holds for tierChangedAt <= created_at < tierChangedAt + W, to the millisecond', () => {
    expect(escalationAlert(escalating, processed(1, 500_000, CHANGED - 1), CHANGED)).toBeNull(); // a millisecond before the change
    expect(escalationAlert(escalating, processed(1, 500_000, W0 + 35 * 60_000 + 122), CHANGED)).not.toBeNull(); // the last millisecond of the window
    expect(escalationAlert(escalating, processed(1, 500_000, W0 + 35 * 60_000 + 123), CHANGED)).toBeNull(); // window end is exclusive
  });

  it('does not fire at exactly the threshold (above is strict), nor for a customer whose tier never changed', () => {
    expect(escalationAlert(escalating, processed(1, 300_000, CHANGED + 1), CHANGED)).toBeNull();
    expect(escalationAlert(escalating, processed(1, 900_000, CHANGED + 1), null)).toBeNull();
    expect(escalationAlert(escalating, processed(1, 900_000, CHANGED + 1), undefined)).toBeNull();
  });

  it('only the last tier change counts: a later change moves the window away from an earlier order', () => {
    const order = processed(1, 900_000, CHANGED + 60_000); // 10:06:00.123
    expect(escalationAlert(escalating, order, CHANGED)).not.toBeNull();
    expect(escalationAlert(escalating, order, CHANGED + 120_000)).toBeNull(); // changed again at 10:07: the order now precedes it
    expect(escalationAlert(escalating, order, CHANGED - 31 * 60_000)).toBeNull(); // the change was longer ago than the window
  });
});

// Fan-in: orders of 3 or more distinct NEW customers for one product in one aligned 10-minute window.
const fanIn = { name: 'fan-in', kind: 'fan-in', severity: 'HIGH', minCustomers: 3, windowMinutes: 10 } as const;
const fanning = compileRules({ ...DEFAULT_RULES, patterns: [fanIn] }).patterns[0] as CompiledFanIn;
const part = (orderId: number, customerId: number, finalCents = 1_000): FanInContribution => ({ orderId, customerId, finalCents, createdAt: W0 + 60_000 });

describe('fanInAlert', () => {
  it('fires at minCustomers distinct customers, anchored at the lowest order id and its customer', () => {
    expect(fanInAlert(fanning, 99, W0, [part(40, 3, 2_500), part(17, 8, 1_000), part(23, 5, 12_345)])).toEqual({
      orderId: 17,
      customerId: 8,
      finalCents: 15_845, // 25.00 + 10.00 + 123.45
      severity: 'HIGH',
      reason: '3 NEW customers bought product 99 within 10 min (3 orders)',
      createdAt: W0,
      pattern: 'fan-in',
      matchedOrderIds: '17,23,40',
      windowStartMs: W0,
      windowEndMs: W0 + 600_000,
    });
  });

  it('does not fire at minCustomers - 1 customers, however many orders they place', () => {
    expect(fanInAlert(fanning, 99, W0, [part(1, 3), part(2, 5)])).toBeNull();
    expect(fanInAlert(fanning, 99, W0, [part(1, 3), part(2, 5), part(3, 3), part(4, 5), part(5, 3)])).toBeNull();
  });

  it('counts a customer who buys twice once, but lists and sums both orders', () => {
    const alert = fanInAlert(fanning, 99, W0, [part(1, 3, 100), part(2, 5, 200), part(3, 3, 400), part(4, 6, 800)]);
    expect(alert).toMatchObject({ orderId: 1, customerId: 3, finalCents: 1_500, matchedOrderIds: '1,2,3,4', reason: '3 NEW customers bought product 99 within 10 min (4 orders)' });
  });

  it('is a function of the set of contributions, not of their arrival order', () => {
    const parts = [part(9, 1), part(4, 2), part(7, 3)];
    expect(fanInAlert(fanning, 99, W0, [...parts].reverse())).toEqual(fanInAlert(fanning, 99, W0, parts));
  });

  it('only NEW customers count (the tier on the processed row, the customer\'s current one)', () => {
    expect(countsForFanIn({ ...processed(1, 100), customerTier: 'NEW' })).toBe(true);
    expect(countsForFanIn({ ...processed(1, 100), customerTier: 'BRONZE' })).toBe(false);
  });
});

describe('rules.patterns', () => {
  const withPatterns = (patterns: BusinessRules['patterns']): BusinessRules => ({ ...DEFAULT_RULES, patterns });

  it('names the offending key', () => {
    expect(() => compileRules(withPatterns([{ ...velocity, totalAbove: '12.345' }]))).toThrow(/rules\.patterns\.0\.totalAbove/);
    expect(() => compileRules(withPatterns([{ ...velocity, windowMinutes: 7 }]))).toThrow(/rules\.patterns\.0\.windowMinutes: .*divides a day/);
    expect(() => compileRules(withPatterns([velocity, { ...velocity }]))).toThrow(/rules\.patterns\.1\.name: duplicate/);
    expect(() => compileRules(withPatterns([{ ...velocity, minOrders: 0 }]))).toThrow(InvalidRulesError);
    expect(() => compileRules(withPatterns([velocity, { ...escalation, name: 'velocity' }]))).toThrow(/rules\.patterns\.1\.name: duplicate/);
    expect(() => compileRules(withPatterns([{ ...escalation, windowMinutes: 0 }]))).toThrow(/rules\.patterns\.0\.windowMinutes: .*from 1 to 10080/);
    expect(() => compileRules(withPatterns([{ ...escalation, totalAbove: '-1' }]))).toThrow(/rules\.patterns\.0\.totalAbove/);
  });

  it('a fan-in needs at least 2 customers and a window dividing a day; it compiles without an amount', () => {
    expect(() => compileRules(withPatterns([{ ...fanIn, minCustomers: 1 }]))).toThrow(/rules\.patterns\.0\.minCustomers: .*at least 2/);
    expect(() => compileRules(withPatterns([{ ...fanIn, windowMinutes: 7 }]))).toThrow(/rules\.patterns\.0\.windowMinutes: .*divides a day/);
    expect(() => compileRules(withPatterns([velocity, { ...fanIn, name: 'velocity' }]))).toThrow(/rules\.patterns\.1\.name: duplicate/);
    expect(compileRules(withPatterns([fanIn])).patterns).toEqual([{ name: 'fan-in', kind: 'fan-in', severity: 'HIGH', minCustomers: 3, windowMinutes: 10 }]);
  });

  it('an escalation window need not divide a day; it compiles to cents and minutes', () => {
    expect(compileRules(withPatterns([{ ...escalation, windowMinutes: 7 }])).patterns).toEqual([{ name: 'escalation', kind: 'escalation', severity: 'HIGH', totalAboveCents: 300_000, windowMinutes: 7 }]);
  });

  it('rounds batch windows to a multiple of the summary and every pattern window', () => {
    expect(alignmentMinutes({ windowMinutes: 5, patterns: [velocity] })).toBe(10);
    expect(alignmentMinutes({ windowMinutes: 5, patterns: [{ kind: 'velocity', windowMinutes: 15 }, { kind: 'velocity', windowMinutes: 2 }] })).toBe(30);
    // Escalation is per order: its window is relative to a tier change, nothing to align.
    expect(alignmentMinutes({ windowMinutes: 5, patterns: [velocity, { ...escalation, windowMinutes: 7 }] })).toBe(10);
    expect(alignmentMinutes({ windowMinutes: 5 })).toBe(5);
    // Fan-in's windows are tumbling too: a batch window holds them whole.
    expect(alignmentMinutes({ windowMinutes: 5, patterns: [velocity, { kind: 'fan-in', windowMinutes: 15 }] })).toBe(30);
  });
});
