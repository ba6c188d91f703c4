import { describe, expect, it } from 'vitest';
import { formatMoney, parseMoney } from './money.ts';
import { fraudAlertFor, processOrder } from './process-order.ts';
import type { ProcessedOrder, SourceOrder } from './process-order.ts';
import { DEFAULT_RULES, compileRules } from './rules.ts';
import type { OrderStatus, Tier } from './rules.ts';

const rules = compileRules(DEFAULT_RULES);
const CREATED_AT = Date.UTC(2026, 10, 25, 12, 3, 0);

function order(amount: string, status: OrderStatus = 'PAID'): SourceOrder {
  return { id: 1001, customerId: 7, productId: 300, quantity: 2, amountCents: parseMoney(amount), status, createdAt: CREATED_AT };
}

function priced(amount: string, tier: Tier, category: string): ProcessedOrder {
  const result = processOrder(order(amount), { id: 7, tier }, { id: 300, category }, rules);
  if (result === null) throw new Error('expected a processed order');
  return result;
}

/** discount / tax / final as decimal strings, to read like the output table. */
function money(p: ProcessedOrder): [string, string, string] {
  return [formatMoney(p.discountCents), formatMoney(p.taxCents), formatMoney(p.finalCents)];
}

describe('processOrder', () => {
  it('produces the whole processed_orders row', () => {
    expect(priced('100.00', 'GOLD', 'electronics')).toEqual({
      orderId: 1001,
      customerId: 7,
      customerTier: 'GOLD',
      productId: 300,
      productCategory: 'electronics',
      quantity: 2,
      amountCents: 10_000,
      discountCents: 1_000,
      taxCents: 900,
      finalCents: 9_900,
      status: 'PAID',
      createdAt: CREATED_AT,
    });
  });

  it.each([
    // amount 123.45, category "toys" (default tax 0.08)
    ['NEW', '0.00', '9.88', '133.33'], // tax 9.876 → 9.88
    ['BRONZE', '2.47', '9.68', '130.66'], // discount 2.469 → 2.47; tax 120.98 × 0.08 = 9.6784 → 9.68
    ['SILVER', '6.17', '9.38', '126.66'], // discount 6.1725 → 6.17; tax 117.28 × 0.08 = 9.3824 → 9.38
    ['GOLD', '12.34', '8.89', '120.00'], // discount 12.345 → 12.34 (half, even); tax 111.11 × 0.08 = 8.8888 → 8.89
    ['PLATINUM', '18.52', '8.39', '113.32'], // discount 18.5175 → 18.52; tax 104.93 × 0.08 = 8.3944 → 8.39
  ] as const)('applies the %s discount, then tax on the discounted amount', (tier, discount, tax, final) => {
    expect(money(priced('123.45', tier, 'toys'))).toEqual([discount, tax, final]);
  });

  it.each([
    ['electronics', '9.00', '99.00'],
    ['groceries', '4.50', '94.50'],
    ['books', '0.00', '90.00'],
    ['Books', '0.00', '90.00'],
    ['garden', '7.20', '97.20'],
  ])('taxes category %s at its rate, others at the default', (category, tax, final) => {
    const p = priced('100.00', 'GOLD', category);
    expect(money(p)).toEqual(['10.00', tax, final]);
    expect(p.productCategory).toBe(category);
  });

  it('rounds half-even at each step, not once at the end', () => {
    // 333.33 × 0.15 = 49.9995 → 50.00; (333.33 − 50.00) × 0.05 = 14.1665 → 14.17.
    expect(money(priced('333.33', 'PLATINUM', 'groceries'))).toEqual(['50.00', '14.17', '297.50']);
    // 10.05 × 0.05 = 0.5025 → 0.50; 9.55 × 0.05 = 0.4775 → 0.48; final 10.03.
    // Rounding only the end result would give 10.05 × 0.95 × 1.05 = 10.024875 → 10.02.
    expect(money(priced('10.05', 'SILVER', 'groceries'))).toEqual(['0.50', '0.48', '10.03']);
  });

  it('is exact for the largest amounts', () => {
    // 9 999 999 999.99 × 0.15 = 1 499 999 999.9985 → 1 500 000 000.00; 8 499 999 999.99 × 0.10 = 849 999 999.999 → 850 000 000.00
    expect(money(priced('9999999999.99', 'PLATINUM', 'electronics'))).toEqual([
      '1500000000.00',
      '850000000.00',
      '9349999999.99',
    ]);
  });

  it('keeps negative amounts symmetric', () => {
    expect(money(priced('-123.45', 'GOLD', 'toys'))).toEqual(['-12.34', '-8.89', '-120.00']);
  });

  it('returns null for a cancelled order', () => {
    expect(processOrder(order('50000.00', 'CANCELLED'), { id: 7, tier: 'NEW' }, { id: 300, category: 'toys' }, rules)).toBeNull();
  });

  it.each(['PLACED', 'PAID', 'SHIPPED'] as const)('keeps status %s', (status) => {
    expect(processOrder(order('1.00', status), { id: 7, tier: 'NEW' }, { id: 300, category: 'toys' }, rules)?.status).toBe(status);
  });

  it('refuses a customer or product the order does not reference', () => {
    expect(() => processOrder(order('1.00'), { id: 8, tier: 'NEW' }, { id: 300, category: 'toys' }, rules)).toThrow(
      'order 1001 references customer 7 but was joined with customer 8',
    );
    expect(() => processOrder(order('1.00'), { id: 7, tier: 'NEW' }, { id: 301, category: 'toys' }, rules)).toThrow(
      'order 1001 references product 300 but was joined with product 301',
    );
  });

  it('follows configured rules', () => {
    const custom = compileRules({
      ...DEFAULT_RULES,
      tierDiscount: { ...DEFAULT_RULES.tierDiscount, NEW: '0.075' },
      categoryTax: { default: '0.2', byCategory: {} },
    });
    const p = processOrder(order('100.10'), { id: 7, tier: 'NEW' }, { id: 300, category: 'books' }, custom);
    // 100.10 × 0.075 = 7.5075 → 7.51; 92.59 × 0.2 = 18.518 → 18.52
    expect(p && money(p)).toEqual(['7.51', '18.52', '111.11']);
  });
});

describe('fraudAlertFor', () => {
  // books carry no tax and NEW no discount, so final = amount and thresholds can be hit exactly.
  const alertFor = (amount: string, tier: Tier, category = 'books') => fraudAlertFor(priced(amount, tier, category), rules);

  it('does not alert exactly at 10000.00 for other tiers', () => {
    expect(alertFor('10000.00', 'BRONZE', 'books')).toBeNull();
  });

  it('raises HIGH just above 10000.00, with the whole fraud_alerts row', () => {
    // GOLD books: 11111.12 − 1111.11 = 10000.01 final.
    expect(alertFor('11111.12', 'GOLD')).toEqual({
      orderId: 1001,
      customerId: 7,
      finalCents: 1_000_001,
      severity: 'HIGH',
      reason: 'final amount 10000.01 above 10000.00',
      createdAt: CREATED_AT,
      pattern: '',
      matchedOrderIds: '',
      windowStartMs: 0,
      windowEndMs: 0,
    });
    // 11111.11 − 1111.11 = 10000.00 final: not above.
    expect(alertFor('11111.11', 'GOLD')).toBeNull();
  });

  it('judges the final amount, not the amount before discount and tax', () => {
    expect(alertFor('10500.00', 'PLATINUM')).toBeNull(); // final 8925.00
    expect(alertFor('9500.00', 'BRONZE', 'electronics')?.severity).toBe('HIGH'); // 9310.00 + 931.00 = 10241.00
  });

  it('raises MEDIUM for NEW above 1000.00 and not at it', () => {
    expect(alertFor('1000.00', 'NEW')).toBeNull();
    expect(alertFor('1000.01', 'NEW')).toMatchObject({
      severity: 'MEDIUM',
      finalCents: 100_001,
      reason: 'NEW customer final amount 1000.01 above 1000.00',
    });
    // 925.93 × 1.08 = 999.9994 → final 1000.00 via tax rounding: still not above.
    expect(alertFor('925.93', 'NEW', 'toys')).toBeNull();
    expect(alertFor('925.94', 'NEW', 'toys')?.severity).toBe('MEDIUM'); // 1000.02
  });

  it('raises nothing for other tiers between the thresholds', () => {
    for (const tier of ['BRONZE', 'SILVER', 'GOLD', 'PLATINUM'] as const) expect(alertFor('5000.00', tier)).toBeNull();
  });

  it('gives HIGH precedence over MEDIUM for NEW customers', () => {
    expect(alertFor('10000.00', 'NEW')?.severity).toBe('MEDIUM');
    expect(alertFor('10000.01', 'NEW')).toMatchObject({ severity: 'HIGH', reason: 'final amount 10000.01 above 10000.00' });
  });

  it('uses configured thresholds', () => {
    const custom = compileRules({ ...DEFAULT_RULES, fraud: { highAbove: '500.00', newTierMediumAbove: '50.00' } });
    expect(fraudAlertFor(priced('500.01', 'GOLD', 'books'), custom)).toBeNull(); // final 450.01
    expect(fraudAlertFor(priced('600.00', 'NEW', 'books'), custom)?.reason).toBe('final amount 600.00 above 500.00');
    expect(fraudAlertFor(priced('50.01', 'NEW', 'books'), custom)?.severity).toBe('MEDIUM');
  });
});
