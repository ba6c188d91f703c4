import { describe, expect, it } from 'vitest';
import { parseRate } from './money.ts';
import {
  orderStatusOf,
  tierOf,
  DEFAULT_RULES,
  InvalidRulesError,
  ORDER_STATUSES,
  TIERS,
  compileRules,
  isOrderStatus,
  isTier,
  taxRateFor,
} from './rules.ts';
import type { BusinessRules } from './rules.ts';

function withRules(patch: (rules: BusinessRules) => unknown): BusinessRules {
  // Deep copy so tests can corrupt any key without touching the frozen defaults.
  const copy = JSON.parse(JSON.stringify(DEFAULT_RULES)) as BusinessRules;
  patch(copy);
  return copy;
}

function compileError(rules: BusinessRules): InvalidRulesError {
  try {
    compileRules(rules);
  } catch (error) {
    if (error instanceof InvalidRulesError) return error;
    throw error;
  }
  throw new Error('expected compileRules to throw');
}

describe('type guards', () => {
  it('accepts exactly the known tiers and statuses', () => {
    expect(TIERS.every(isTier)).toBe(true);
    expect(ORDER_STATUSES.every(isOrderStatus)).toBe(true);
    for (const value of ['gold', 'Gold', 'DIAMOND', '', null, undefined, 3, 'PAID']) expect(isTier(value)).toBe(false);
    for (const value of ['paid', 'REFUNDED', '', null, 0, 'GOLD']) expect(isOrderStatus(value)).toBe(false);
  });
});

describe('compileRules', () => {
  it('compiles the DESIGN.md defaults', () => {
    const rules = compileRules(DEFAULT_RULES);
    expect(rules.tierDiscount).toEqual({ NEW: 0, BRONZE: 20_000, SILVER: 50_000, GOLD: 100_000, PLATINUM: 150_000 });
    expect(rules.defaultTax).toBe(80_000);
    expect([...rules.taxByCategory]).toEqual([
      ['electronics', 100_000],
      ['groceries', 50_000],
      ['books', 0],
    ]);
    expect(rules.fraudHighAboveCents).toBe(1_000_000);
    expect(rules.fraudNewTierMediumAboveCents).toBe(100_000);
    expect(rules.windowMinutes).toBe(5);
  });

  it('keeps the defaults frozen', () => {
    expect(Object.isFrozen(DEFAULT_RULES.tierDiscount)).toBe(true);
    expect(Object.isFrozen(DEFAULT_RULES.categoryTax.byCategory)).toBe(true);
  });

  it('accepts the inclusive bounds 0 and 1', () => {
    const rules = compileRules(withRules((r) => Object.assign(r.tierDiscount, { GOLD: '1', NEW: '0.000000' })));
    expect(rules.tierDiscount.GOLD).toBe(1_000_000);
    expect(rules.tierDiscount.NEW).toBe(0);
  });

  it.each([
    [(r: BusinessRules) => Object.assign(r.tierDiscount, { GOLD: '1.01' }), 'tierDiscount.GOLD', /outside \[0, 1\]/],
    [(r: BusinessRules) => Object.assign(r.tierDiscount, { SILVER: '-0.05' }), 'tierDiscount.SILVER', /outside \[0, 1\]/],
    [(r: BusinessRules) => Object.assign(r.tierDiscount, { BRONZE: '2%' }), 'tierDiscount.BRONZE', /invalid rate "2%"/],
    [(r: BusinessRules) => Object.assign(r.tierDiscount, { NEW: 0.1 }), 'tierDiscount.NEW', /got number 0.1/],
    [(r: BusinessRules) => delete (r.tierDiscount as Partial<Record<string, string>>).PLATINUM, 'tierDiscount.PLATINUM', /got nothing/],
    [(r: BusinessRules) => Object.assign(r.tierDiscount, { DIAMOND: '0.2' }), 'tierDiscount.DIAMOND', /unknown tier/],
    [(r: BusinessRules) => Object.assign(r.categoryTax, { default: '0.0000001' }), 'categoryTax.default', /at most 6 decimal places/],
    [(r: BusinessRules) => Object.assign(r.categoryTax.byCategory, { toys: '1.5' }), 'categoryTax.byCategory.toys', /outside/],
    [(r: BusinessRules) => Object.assign(r.categoryTax.byCategory, { ' Books ': '0.01' }), 'categoryTax.byCategory. Books ', /duplicate/],
    [(r: BusinessRules) => Object.assign(r.categoryTax.byCategory, { '  ': '0.01' }), 'categoryTax.byCategory.  ', /empty/],
    [(r: BusinessRules) => Object.assign(r.fraud, { highAbove: '10000.001' }), 'fraud.highAbove', /more than 2 decimal places/],
    [(r: BusinessRules) => Object.assign(r.fraud, { newTierMediumAbove: '-1.00' }), 'fraud.newTierMediumAbove', /negative/],
    [(r: BusinessRules) => Object.assign(r, { windowMinutes: 0 }), 'windowMinutes', /positive whole number/],
    [(r: BusinessRules) => Object.assign(r, { windowMinutes: 2.5 }), 'windowMinutes', /positive whole number/],
  ])('rejects bad input %#, naming the key', (patch, path, message) => {
    const error = compileError(withRules(patch));
    expect(error.path).toBe(path);
    expect(error.message.startsWith(`rules.${path}: `)).toBe(true);
    expect(error.message).toMatch(message);
  });
});

describe('taxRateFor', () => {
  const rules = compileRules(DEFAULT_RULES);

  it('uses the configured rate of each category', () => {
    expect(taxRateFor('electronics', rules)).toBe(parseRate('0.10'));
    expect(taxRateFor('groceries', rules)).toBe(parseRate('0.05'));
    expect(taxRateFor('books', rules)).toBe(0);
  });

  it('matches categories ignoring case and surrounding spaces', () => {
    expect(taxRateFor('Electronics', rules)).toBe(parseRate('0.10'));
    expect(taxRateFor('  BOOKS ', rules)).toBe(0);
  });

  it('falls back to the default rate for any other category', () => {
    expect(taxRateFor('toys', rules)).toBe(parseRate('0.08'));
    expect(taxRateFor('', rules)).toBe(parseRate('0.08'));
    expect(taxRateFor('electronic', rules)).toBe(parseRate('0.08'));
    expect(taxRateFor('books and more', rules)).toBe(parseRate('0.08'));
  });

  it('normalizes configured category names too', () => {
    const custom = compileRules(withRules((r) => Object.assign(r.categoryTax.byCategory, { ' Toys ': '0.2' })));
    expect(taxRateFor('toys', custom)).toBe(parseRate('0.2'));
  });
});

describe('tierOf / orderStatusOf', () => {
  it('name a known tier or status exactly (case-sensitive), and nothing else', () => {
    expect(tierOf(JSON.parse('"GOLD"'))).toBe('GOLD');
    expect(orderStatusOf('PAI' + 'D')).toBe('PAID');
    expect(tierOf('gold')).toBeUndefined();
    expect(tierOf(' GOLD')).toBeUndefined();
    expect(orderStatusOf(3)).toBeUndefined();
    expect(orderStatusOf(null)).toBeUndefined();
  });
});
