import { describe, expect, it } from 'vitest';
import { parseMoney } from '../domain/money.ts';
import { TIERS } from '../domain/rules.ts';
import { mulberry32 } from './random.ts';
import { generateCustomers, generateProducts } from './seed.ts';
import { LARGE_ORDER_MIN_CENTS, MAX_QUANTITY, REGULAR_PRICE_LIMIT_CENTS } from './workload.ts';

describe('the demo seed', () => {
  it('is the same for the same seed', () => {
    expect(generateProducts(200, mulberry32(9))).toEqual(generateProducts(200, mulberry32(9)));
    expect(generateCustomers(50, mulberry32(9))).toEqual(generateCustomers(50, mulberry32(9)));
    expect(generateCustomers(50, mulberry32(9))).not.toEqual(generateCustomers(50, mulberry32(10)));
  });

  it('spreads ~200 products over the categories with exact prices, a few of them big-ticket', () => {
    const products = generateProducts(200, mulberry32(1));
    expect(products).toHaveLength(200);
    const categories = new Set(products.map((p) => p.category));
    for (const c of ['electronics', 'groceries', 'books']) expect(categories.has(c)).toBe(true);
    expect(categories.size).toBeGreaterThanOrEqual(6);
    for (const p of products) expect(p.price).toMatch(/^\d+\.\d{2}$/);
    const cents = products.map((p) => parseMoney(p.price));
    const premium = cents.filter((c) => c * MAX_QUANTITY >= LARGE_ORDER_MIN_CENTS);
    const regular = cents.filter((c) => c < REGULAR_PRICE_LIMIT_CENTS);
    expect(premium.length).toBeGreaterThanOrEqual(3);
    expect(premium.length).toBeLessThanOrEqual(10);
    expect(regular.length + premium.length).toBe(products.length);
  });

  it('skews tiers: many NEW and BRONZE, few PLATINUM', () => {
    const customers = generateCustomers(10_000, mulberry32(2));
    const share = Object.fromEntries(TIERS.map((t) => [t, customers.filter((c) => c.tier === t).length / customers.length]));
    expect(share.NEW! + share.BRONZE!).toBeGreaterThan(0.6);
    expect(share.PLATINUM).toBeGreaterThan(0.02);
    expect(share.PLATINUM).toBeLessThan(0.06);
    expect(new Set(customers.map((c) => c.name)).size).toBeGreaterThan(100);
  });
});
