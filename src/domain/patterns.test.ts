import { describe, expect, it } from 'vitest';
import { alignmentMinutes, velocityAlert } from './patterns.ts';
import type { ProcessedOrder } from './process-order.ts';
import { compileRules, DEFAULT_RULES, InvalidRulesError, type BusinessRules } from './rules.ts';

const velocity = { name: 'velocity', kind: 'velocity', severity: 'MEDIUM', minOrders: 3, totalAbove: '3000.00', windowMinutes: 10 } as const;
const rules = compileRules({ ...DEFAULT_RULES, patterns: [velocity] });
const pattern = rules.patterns[0]!;
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

describe('rules.patterns', () => {
  const withPatterns = (patterns: BusinessRules['patterns']): BusinessRules => ({ ...DEFAULT_RULES, patterns });

  it('names the offending key', () => {
    expect(() => compileRules(withPatterns([{ ...velocity, totalAbove: '12.345' }]))).toThrow(/rules\.patterns\.0\.totalAbove/);
    expect(() => compileRules(withPatterns([{ ...velocity, windowMinutes: 7 }]))).toThrow(/rules\.patterns\.0\.windowMinutes: .*divides a day/);
    expect(() => compileRules(withPatterns([velocity, { ...velocity }]))).toThrow(/rules\.patterns\.1\.name: duplicate/);
    expect(() => compileRules(withPatterns([{ ...velocity, minOrders: 0 }]))).toThrow(InvalidRulesError);
  });

  it('rounds batch windows to a multiple of the summary and every pattern window', () => {
    expect(alignmentMinutes({ windowMinutes: 5, patterns: [velocity] })).toBe(10);
    expect(alignmentMinutes({ windowMinutes: 5, patterns: [{ windowMinutes: 15 }, { windowMinutes: 2 }] })).toBe(30);
    expect(alignmentMinutes({ windowMinutes: 5 })).toBe(5);
  });
});
