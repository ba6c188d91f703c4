import { RATE_SCALE, parseMoney, parseRate } from './money.ts';
import type { Rate } from './money.ts';
import { patternProblem, type CompiledPattern, type PatternRule } from './patterns.ts';

export const TIERS = ['NEW', 'BRONZE', 'SILVER', 'GOLD', 'PLATINUM'] as const;
export type Tier = (typeof TIERS)[number];

export const ORDER_STATUSES = ['PLACED', 'PAID', 'SHIPPED', 'CANCELLED'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export const SEVERITIES = ['HIGH', 'MEDIUM'] as const;
export type Severity = (typeof SEVERITIES)[number];


const TIER_BY_NAME: ReadonlyMap<unknown, Tier> = new Map(TIERS.map((t) => [t, t]));
const ORDER_STATUS_BY_NAME: ReadonlyMap<unknown, OrderStatus> = new Map(ORDER_STATUSES.map((s) => [s, s]));

/** True when an untyped value (a CDC field, a SQL cell) is one of the known tiers, case-sensitively. */
export function isTier(value: unknown): value is Tier {
  return tierOf(value) !== undefined;
}

/** True when an untyped value is one of the known order statuses, case-sensitively. */
export function isOrderStatus(value: unknown): value is OrderStatus {
  return orderStatusOf(value) !== undefined;
}


/**
 * The tier an untyped value names, as the one constant string every row shares; undefined when it
 * is none. A decoded copy of 'GOLD' per row costs a worker holding a million rows tens of MB.
 */
export function tierOf(value: unknown): Tier | undefined {
  return TIER_BY_NAME.get(value);
}

/** The order status an untyped value names, as the one shared constant string; undefined when it is none. */
export function orderStatusOf(value: unknown): OrderStatus | undefined {
  return ORDER_STATUS_BY_NAME.get(value);
}

/** Business rules as written in configuration: decimal strings, parsed once by compileRules. */
export interface BusinessRules {
  readonly tierDiscount: Readonly<Record<Tier, string>>;
  readonly categoryTax: {
    readonly default: string;
    readonly byCategory: Readonly<Record<string, string>>;
  };
  readonly fraud: {
    readonly highAbove: string;
    readonly newTierMediumAbove: string;
  };
  readonly windowMinutes: number;
  /** Fraud patterns over time (src/domain/patterns.ts); none when absent. */
  readonly patterns?: readonly PatternRule[];
}

/** Business rules ready for the hot path: exact integer rates and cents, categories keyed by normalized name. */
export interface CompiledRules {
  readonly tierDiscount: Readonly<Record<Tier, Rate>>;
  readonly defaultTax: Rate;
  /** Keys are normalized with normalizeCategory. */
  readonly taxByCategory: ReadonlyMap<string, Rate>;
  readonly fraudHighAboveCents: number;
  readonly fraudNewTierMediumAboveCents: number;
  readonly windowMinutes: number;
  readonly patterns: readonly CompiledPattern[];
}

/** The rules DESIGN.md gives as defaults; a configuration file overrides only what differs. */
export const DEFAULT_RULES: BusinessRules = Object.freeze({
  tierDiscount: Object.freeze({ NEW: '0', BRONZE: '0.02', SILVER: '0.05', GOLD: '0.10', PLATINUM: '0.15' }),
  categoryTax: Object.freeze({
    default: '0.08',
    byCategory: Object.freeze({ electronics: '0.10', groceries: '0.05', books: '0' }),
  }),
  fraud: Object.freeze({ highAbove: '10000.00', newTierMediumAbove: '1000.00' }),
  windowMinutes: 5,
});

/** Thrown by compileRules; `path` is the key path under the configuration's `rules` key. */
export class InvalidRulesError extends Error {
  readonly path: string;

  constructor(path: string, problem: string) {
    super(`rules.${path}: ${problem}`);
    this.name = 'InvalidRulesError';
    this.path = path;
  }
}

/**
 * Categories match case-insensitively after trimming ("Electronics ", "electronics" are one
 * category), because product data is typed by people while the rules are typed by us; the
 * processed order still carries the category exactly as the source has it.
 */
export function normalizeCategory(category: string): string {
  return category.trim().toLowerCase();
}

/**
 * Parses and validates configuration rules once, so the per-order path does no parsing.
 * Throws InvalidRulesError naming the offending key: rates must be decimals in [0, 1] with at
 * most 6 places, thresholds non-negative amounts with at most 2 places, windowMinutes a positive
 * integer, every tier present and no unknown tier or duplicate category.
 */
export function compileRules(input: BusinessRules): CompiledRules {
  const tierDiscount = {} as Record<Tier, Rate>;
  for (const tier of TIERS) {
    tierDiscount[tier] = compileRate(`tierDiscount.${tier}`, input.tierDiscount[tier]);
  }
  for (const key of Object.keys(input.tierDiscount)) {
    if (!isTier(key)) {
      throw new InvalidRulesError(`tierDiscount.${key}`, `unknown tier; expected one of ${TIERS.join(', ')}`);
    }
  }

  const defaultTax = compileRate('categoryTax.default', input.categoryTax.default);
  const taxByCategory = new Map<string, Rate>();
  for (const [category, rate] of Object.entries(input.categoryTax.byCategory)) {
    const path = `categoryTax.byCategory.${category}`;
    const key = normalizeCategory(category);
    if (key === '') throw new InvalidRulesError(path, 'category name is empty');
    if (taxByCategory.has(key)) {
      throw new InvalidRulesError(path, `duplicate of another category once case and spaces are ignored ("${key}")`);
    }
    taxByCategory.set(key, compileRate(path, rate));
  }

  const windowMinutes = input.windowMinutes;
  if (!Number.isSafeInteger(windowMinutes) || windowMinutes < 1) {
    throw new InvalidRulesError('windowMinutes', `expected a positive whole number of minutes, got ${String(windowMinutes)}`);
  }

  return Object.freeze({
    tierDiscount: Object.freeze(tierDiscount),
    defaultTax,
    taxByCategory,
    fraudHighAboveCents: compileThreshold('fraud.highAbove', input.fraud.highAbove),
    fraudNewTierMediumAboveCents: compileThreshold('fraud.newTierMediumAbove', input.fraud.newTierMediumAbove),
    windowMinutes,
    patterns: Object.freeze(compilePatterns(input.patterns ?? [])),
  });
}

function compilePatterns(rules: readonly PatternRule[]): CompiledPattern[] {
  return rules.map((rule, i) => {
    const problem = patternProblem(rule, i, rules);
    if (problem) throw new InvalidRulesError(`patterns.${i}.${problem[0]}`, problem[1]);
    const base = { name: rule.name, severity: rule.severity, windowMinutes: rule.windowMinutes };
    if (rule.kind === 'fan-in') return Object.freeze({ ...base, kind: rule.kind, minCustomers: rule.minCustomers });
    const totalAboveCents = compileThreshold(`patterns.${i}.totalAbove`, rule.totalAbove);
    return Object.freeze(rule.kind === 'velocity' ? { ...base, kind: rule.kind, minOrders: rule.minOrders, totalAboveCents } : { ...base, kind: rule.kind, totalAboveCents });
  });
}

/** The tax rate for a product category: the configured rate for its normalized name, else the default. */
export function taxRateFor(category: string, rules: CompiledRules): Rate {
  // Exact lookup first: source categories are usually already normalized, and keys always are,
  // so a hit here is the same answer the normalized lookup would give, without allocating.
  return rules.taxByCategory.get(category) ?? rules.taxByCategory.get(normalizeCategory(category)) ?? rules.defaultTax;
}

function compileRate(path: string, text: unknown): Rate {
  if (typeof text !== 'string') {
    throw new InvalidRulesError(path, `expected a decimal string such as "0.05", got ${describe(text)}`);
  }
  let rate: Rate;
  try {
    rate = parseRate(text);
  } catch (error) {
    throw new InvalidRulesError(path, (error as Error).message);
  }
  if (rate < 0 || rate > RATE_SCALE) {
    throw new InvalidRulesError(path, `rate ${JSON.stringify(text)} is outside [0, 1]`);
  }
  return rate;
}

function compileThreshold(path: string, text: unknown): number {
  if (typeof text !== 'string') {
    throw new InvalidRulesError(path, `expected a decimal amount string such as "1000.00", got ${describe(text)}`);
  }
  let cents: number;
  try {
    cents = parseMoney(text);
  } catch (error) {
    throw new InvalidRulesError(path, (error as Error).message);
  }
  if (cents < 0) throw new InvalidRulesError(path, `threshold ${JSON.stringify(text)} is negative`);
  return cents;
}

function describe(value: unknown): string {
  return value === undefined ? 'nothing' : `${typeof value} ${JSON.stringify(value)}`;
}
