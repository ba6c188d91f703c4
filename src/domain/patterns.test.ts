import { describe, expect, it } from 'vitest';
import { alignmentMinutes, escalationAlert, velocityAlert, type CompiledEscalation, type CompiledVelocity } from './patterns.ts';
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

  it('an escalation window need not divide a day; it compiles to cents and minutes', () => {
    expect(compileRules(withPatterns([{ ...escalation, windowMinutes: 7 }])).patterns).toEqual([{ name: 'escalation', kind: 'escalation', severity: 'HIGH', totalAboveCents: 300_000, windowMinutes: 7 }]);
  });

  it('rounds batch windows to a multiple of the summary and every pattern window', () => {
    expect(alignmentMinutes({ windowMinutes: 5, patterns: [velocity] })).toBe(10);
    expect(alignmentMinutes({ windowMinutes: 5, patterns: [{ kind: 'velocity', windowMinutes: 15 }, { kind: 'velocity', windowMinutes: 2 }] })).toBe(30);
    // Escalation is per order: its window is relative to a tier change, nothing to align.
    expect(alignmentMinutes({ windowMinutes: 5, patterns: [velocity, { ...escalation, windowMinutes: 7 }] })).toBe(10);
    expect(alignmentMinutes({ windowMinutes: 5 })).toBe(5);
  });
});
