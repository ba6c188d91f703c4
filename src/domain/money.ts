/**
 * Exact decimal money for the business rules shared by batch and stream.
 *
 * Amounts are integer minor units (cents) held in a `number`: the source column is
 * NUMERIC(12,2), so every amount fits well inside Number.MAX_SAFE_INTEGER and integer
 * addition/subtraction on it is exact. Rates are integers in millionths (RATE_SCALE).
 * Nothing here ever goes through binary floating point fractions.
 */

/** Rates are stored as integer millionths: "0.075" is 75_000. Six places covers any sane tax or discount. */
export const RATE_SCALE = 1_000_000;

declare const rateBrand: unique symbol;

/** An exact decimal rate as integer millionths; branded so cents are never passed where a rate is meant. */
export type Rate = number & { readonly [rateBrand]: true };

const MONEY_PATTERN = /^(-?)(\d+)(?:\.(\d{1,2}))?$/;
const MONEY_TOO_PRECISE = /^-?\d+\.\d{3,}$/;
const RATE_PATTERN = /^(-?)(\d+)(?:\.(\d{1,6}))?$/;
const RATE_SCALE_BIG = BigInt(RATE_SCALE);

/**
 * Parses a decimal amount such as "1234.5", "-0.01" or "12" into cents.
 * More than two decimal places is rejected, not rounded: inputs come from NUMERIC(12,2),
 * so extra digits mean a wrong column or a wrong decoder, and rounding would hide that.
 * Exponents, blanks, a leading "+" and bare "." forms are rejected too.
 */
export function parseMoney(text: string): number {
  const match = MONEY_PATTERN.exec(text);
  if (match === null) {
    if (MONEY_TOO_PRECISE.test(text)) {
      throw new Error(
        `invalid money amount ${JSON.stringify(text)}: more than 2 decimal places (amounts are exact cents; refusing to round)`,
      );
    }
    throw new Error(
      `invalid money amount ${JSON.stringify(text)}: expected a plain decimal like 1234.50 (optional leading "-", at most 2 decimal places)`,
    );
  }
  const [, sign, whole = '', fraction = ''] = match;
  const cents = Number(whole) * 100 + Number(fraction.padEnd(2, '0'));
  // Monotone rounding means any magnitude that is not a safe integer here really is too large.
  if (!Number.isSafeInteger(cents)) {
    throw new Error(`invalid money amount ${JSON.stringify(text)}: too large to hold exactly`);
  }
  // `|| 0` turns "-0.00" into 0 rather than -0, which would format as "-0.00".
  return sign === '-' ? -cents || 0 : cents;
}

/** Formats cents as a two-place decimal string: 1250 → "12.50", -5 → "-0.05", 0 → "0.00". */
export function formatMoney(cents: number): string {
  if (!Number.isSafeInteger(cents)) {
    throw new Error(`formatMoney expects an integer number of cents, got ${cents}`);
  }
  const magnitude = Math.abs(cents);
  const fraction = magnitude % 100;
  const whole = (magnitude - fraction) / 100;
  return `${cents < 0 ? '-' : ''}${whole}.${fraction < 10 ? '0' : ''}${fraction}`;
}

/**
 * Parses a decimal rate such as "0.075" into integer millionths.
 * More than six decimal places is rejected. The range is not checked here: which range is
 * valid depends on what the rate is for (compileRules requires [0, 1]).
 */
export function parseRate(text: string): Rate {
  const match = RATE_PATTERN.exec(text);
  if (match === null) {
    throw new Error(
      `invalid rate ${JSON.stringify(text)}: expected a plain decimal like 0.075 with at most 6 decimal places`,
    );
  }
  const [, sign, whole = '', fraction = ''] = match;
  const micros = Number(whole) * RATE_SCALE + Number(fraction.padEnd(6, '0'));
  if (!Number.isSafeInteger(micros)) {
    throw new Error(`invalid rate ${JSON.stringify(text)}: too large to hold exactly`);
  }
  return (sign === '-' ? -micros || 0 : micros) as Rate;
}

/** Formats a rate as its shortest exact decimal: 75_000 → "0.075", 0 → "0", 1_000_000 → "1". */
export function formatRate(rate: Rate): string {
  const magnitude = Math.abs(rate);
  const fraction = magnitude % RATE_SCALE;
  const whole = (magnitude - fraction) / RATE_SCALE;
  const sign = rate < 0 ? '-' : '';
  if (fraction === 0) return `${sign}${whole}`;
  return `${sign}${whole}.${String(fraction).padStart(6, '0').replace(/0+$/, '')}`;
}

/**
 * Returns cents × rate rounded half-even to the cent, exactly.
 * The product is computed as an integer; while it stays within Number.MAX_SAFE_INTEGER
 * (every amount under ~90 million with a rate ≤ 1) plain numbers are exact and fast,
 * larger products take a BigInt path with the same rounding.
 */
export function applyRate(cents: number, rate: Rate): number {
  const product = cents * rate;
  // Rounding is monotone, so a computed |product| within the safe range means the true product
  // is exact too; checking `cents` as well sends fractional input to the validating slow path.
  if (Number.isSafeInteger(product) && Number.isSafeInteger(cents)) {
    return divideHalfEven(product, RATE_SCALE);
  }
  return applyRateBig(cents, rate);
}

/** Divides a safe integer by a positive one, rounding half to even. `%` on integers is exact in IEEE doubles. */
function divideHalfEven(numerator: number, divisor: number): number {
  const magnitude = numerator < 0 ? -numerator : numerator;
  const remainder = magnitude % divisor;
  let quotient = (magnitude - remainder) / divisor;
  const twice = remainder * 2;
  if (twice > divisor || (twice === divisor && quotient % 2 === 1)) quotient += 1;
  // Returning 0 rather than -0 keeps formatMoney and equality checks simple.
  return numerator < 0 && quotient !== 0 ? -quotient : quotient;
}

function applyRateBig(cents: number, rate: Rate): number {
  if (!Number.isSafeInteger(cents) || !Number.isSafeInteger(rate)) {
    throw new Error(`applyRate expects integer cents and rate, got ${cents} and ${rate}`);
  }
  const product = BigInt(cents) * BigInt(rate);
  const magnitude = product < 0n ? -product : product;
  const remainder = magnitude % RATE_SCALE_BIG;
  let quotient = magnitude / RATE_SCALE_BIG;
  const twice = remainder * 2n;
  if (twice > RATE_SCALE_BIG || (twice === RATE_SCALE_BIG && quotient % 2n === 1n)) quotient += 1n;
  const result = Number(product < 0n ? -quotient : quotient);
  if (!Number.isSafeInteger(result)) {
    throw new Error(`applyRate result for ${cents} cents × ${formatRate(rate)} is too large to hold exactly`);
  }
  return result;
}
