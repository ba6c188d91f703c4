import { describe, expect, it } from 'vitest';
import { RATE_SCALE, applyRate, formatMoney, formatRate, parseMoney, parseRate } from './money.ts';
import type { Rate } from './money.ts';

/** Reference: the same half-even rounding done entirely in BigInt, to check both paths of applyRate. */
function referenceApplyRate(cents: number, rate: number): number {
  const product = BigInt(cents) * BigInt(rate);
  const scale = BigInt(RATE_SCALE);
  const negative = product < 0n;
  const magnitude = negative ? -product : product;
  let quotient = magnitude / scale;
  const twice = (magnitude % scale) * 2n;
  if (twice > scale || (twice === scale && quotient % 2n === 1n)) quotient += 1n;
  return Number(negative ? -quotient : quotient);
}

/** Deterministic PRNG (mulberry32) so a failure reproduces. */
function prng(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rate = (text: string): Rate => parseRate(text);
const money = (cents: number): string => formatMoney(cents);

describe('parseMoney', () => {
  it.each([
    ['1234.5', 123450],
    ['1234.50', 123450],
    ['12', 1200],
    ['0.01', 1],
    ['-0.01', -1],
    ['-12.34', -1234],
    ['0.00', 0],
    ['007.10', 710],
    ['9999999999.99', 999999999999],
  ])('parses %s as %i cents', (text, cents) => {
    expect(parseMoney(text)).toBe(cents);
  });

  it('parses negative zero as plain zero', () => {
    expect(Object.is(parseMoney('-0.00'), 0)).toBe(true);
    expect(formatMoney(parseMoney('-0.00'))).toBe('0.00');
  });

  it('rejects more than two decimal places instead of rounding', () => {
    expect(() => parseMoney('12.345')).toThrow(/"12.345": more than 2 decimal places/);
    expect(() => parseMoney('0.125')).toThrow(/more than 2 decimal places/);
  });

  it.each(['abc', '', '1.2.3', ' 1', '1 ', '1e5', '+1', '.5', '5.', '1,000.00', '--1', 'NaN', 'Infinity', '0x10'])(
    'rejects %j with an error naming the input',
    (text) => {
      expect(() => parseMoney(text)).toThrow(`invalid money amount ${JSON.stringify(text)}`);
    },
  );

  it('rejects amounts too large to hold exactly', () => {
    expect(() => parseMoney('90071992547409.92')).toThrow(/too large/);
    expect(parseMoney('90071992547409.91')).toBe(Number.MAX_SAFE_INTEGER);
  });
});

describe('formatMoney', () => {
  it.each([
    [1250, '12.50'],
    [-5, '-0.05'],
    [0, '0.00'],
    [-0, '0.00'],
    [7, '0.07'],
    [100, '1.00'],
    [-123456, '-1234.56'],
    [999999999999, '9999999999.99'],
  ])('formats %i cents as %s', (cents, text) => {
    expect(formatMoney(cents)).toBe(text);
  });

  it('rejects fractional cents', () => {
    expect(() => formatMoney(1.5)).toThrow(/integer number of cents/);
    expect(() => formatMoney(Number.NaN)).toThrow(/integer number of cents/);
  });

  it('round-trips through parseMoney', () => {
    const next = prng(7);
    for (let i = 0; i < 2000; i += 1) {
      const cents = Math.floor((next() - 0.5) * 2e12);
      expect(parseMoney(formatMoney(cents))).toBe(cents);
    }
    for (const text of ['0.00', '-0.01', '12.50', '9999999999.99', '-9999999999.99']) {
      expect(formatMoney(parseMoney(text))).toBe(text);
    }
  });
});

describe('parseRate / formatRate', () => {
  it('parses exact millionths', () => {
    expect(parseRate('0.075')).toBe(75_000);
    expect(parseRate('0.15')).toBe(150_000);
    expect(parseRate('1')).toBe(1_000_000);
    expect(parseRate('0.000001')).toBe(1);
    expect(parseRate('0')).toBe(0);
    expect(parseRate('-0.05')).toBe(-50_000);
  });

  it('rejects more than six places and non-decimal forms', () => {
    expect(() => parseRate('0.0000001')).toThrow(/invalid rate "0.0000001"/);
    for (const text of ['', 'abc', '1e-2', ' 0.1', '.1', '0.1.2', '10%']) {
      expect(() => parseRate(text)).toThrow(`invalid rate ${JSON.stringify(text)}`);
    }
  });

  it('formats the shortest exact decimal', () => {
    expect(formatRate(rate('0.075'))).toBe('0.075');
    expect(formatRate(rate('0.10'))).toBe('0.1');
    expect(formatRate(rate('0'))).toBe('0');
    expect(formatRate(rate('1.000000'))).toBe('1');
    expect(formatRate(rate('0.000001'))).toBe('0.000001');
    expect(formatRate(rate('-0.5'))).toBe('-0.5');
  });
});

describe('applyRate rounds half-even to the cent, exactly', () => {
  it.each([
    // [amount, rate, exact product, expected]
    ['1.25', '0.1', '0.125', '0.12'], // half, even neighbour below
    ['1.35', '0.1', '0.135', '0.14'], // half, even neighbour above
    ['10.05', '0.1', '1.005', '1.00'], // the classic float trap (1.005 is 1.00499… in binary)
    ['333.33', '0.15', '49.9995', '50.00'],
    ['10.05', '0.05', '0.5025', '0.50'],
    ['0.05', '0.1', '0.005', '0.00'],
    ['0.15', '0.1', '0.015', '0.02'],
    ['1.26', '0.1', '0.126', '0.13'], // above half rounds up regardless of parity
    ['1.34', '0.1', '0.134', '0.13'], // below half rounds down regardless of parity
    ['-1.25', '0.1', '-0.125', '-0.12'],
    ['-1.35', '0.1', '-0.135', '-0.14'],
    ['-10.05', '0.05', '-0.5025', '-0.50'],
    ['-0.05', '0.1', '-0.005', '0.00'],
    ['100.00', '0', '0', '0.00'],
    ['123.45', '1', '123.45', '123.45'],
  ])('%s × %s = %s → %s', (amount, r, _exact, expected) => {
    expect(money(applyRate(parseMoney(amount), rate(r)))).toBe(expected);
  });

  it('never returns negative zero', () => {
    expect(Object.is(applyRate(-5, rate('0.1')), 0)).toBe(true);
    expect(Object.is(applyRate(-1, rate('0')), 0)).toBe(true);
  });

  it('is exact for the largest NUMERIC(12,2) amounts (BigInt path)', () => {
    // 9 999 999 999.99 × 0.15 = 1 499 999 999.9985 → 1 500 000 000.00
    expect(money(applyRate(parseMoney('9999999999.99'), rate('0.15')))).toBe('1500000000.00');
    expect(money(applyRate(parseMoney('-9999999999.99'), rate('0.15')))).toBe('-1500000000.00');
    // 9 999 999 999.99 × 0.123457 = 1 234 569 999.99876543 → 1 234 570 000.00
    expect(money(applyRate(parseMoney('9999999999.99'), rate('0.123457')))).toBe('1234570000.00');
    // Exactly half a cent on the BigInt path, both parities and both signs.
    expect(money(applyRate(parseMoney('9999999999.99'), rate('0.5')))).toBe('5000000000.00'); // 4999999999.995
    expect(money(applyRate(parseMoney('9999999999.97'), rate('0.5')))).toBe('4999999999.98'); // 4999999999.985
    expect(money(applyRate(parseMoney('9999999999.95'), rate('0.5')))).toBe('4999999999.98'); // 4999999999.975
    expect(money(applyRate(parseMoney('-9999999999.99'), rate('0.5')))).toBe('-5000000000.00');
  });

  it('agrees with an all-BigInt reference on both sides of the fast-path limit', () => {
    const next = prng(42);
    for (let i = 0; i < 20_000; i += 1) {
      // Mix small amounts (fast path) with huge ones (BigInt path) and amounts ending in 5s.
      const magnitude = i % 3 === 0 ? 1e12 : i % 3 === 1 ? 1e8 : 1e4;
      const cents = Math.floor((next() - 0.5) * 2 * magnitude);
      const micros = i % 2 === 0 ? Math.floor(next() * RATE_SCALE) : Math.floor(next() * 20) * 50_000;
      expect(applyRate(cents, micros as Rate)).toBe(referenceApplyRate(cents, micros));
    }
  });

  it('rejects non-integer cents rather than rounding them', () => {
    expect(() => applyRate(1.5, rate('0.1'))).toThrow(/integer cents/);
    expect(() => applyRate(Number.NaN, rate('0.1'))).toThrow(/integer cents/);
  });

  it('rejects results too large to hold exactly', () => {
    expect(() => applyRate(Number.MAX_SAFE_INTEGER, rate('2'))).toThrow(/too large/);
  });
});
