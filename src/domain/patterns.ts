import { formatMoney } from './money.ts';
import type { FraudAlert, ProcessedOrder } from './process-order.ts';
import { SEVERITIES, type Severity } from './rules.ts';
import { windowEndFor, windowStartFor } from './windows.ts';

/**
 * Fraud patterns over time (complex event processing), as pure functions of the final state of
 * the orders, so the stream (which keeps them live, retracting as orders change) and the batch
 * (which sees the final rows once) compute exactly the same alerts. See
 * docs/decisions/fraud-patterns.md.
 */

const MINUTES_PER_DAY = 1440;

export const PATTERN_KINDS = ['velocity'] as const;
export type PatternKind = (typeof PATTERN_KINDS)[number];

/** A pattern as written in configuration (`rules.patterns[i]`). */
export interface PatternRule {
  /** The alert's `pattern` column; unique among the patterns. */
  readonly name: string;
  readonly kind: PatternKind;
  readonly severity: Severity;
  /** Velocity: at least this many orders of one customer in one window... */
  readonly minOrders: number;
  /** ...whose final amounts add up to more than this (a decimal amount). */
  readonly totalAbove: string;
  /** Tumbling windows aligned to the epoch, so every worker and the batch cut them alike; must divide a day. */
  readonly windowMinutes: number;
}

export interface CompiledPattern {
  readonly name: string;
  readonly kind: PatternKind;
  readonly severity: Severity;
  readonly minOrders: number;
  readonly totalAboveCents: number;
  readonly windowMinutes: number;
}

/** Defaults that fire on the demo workload at a low rate (a few customers an hour at 50 orders/s). */
export const DEFAULT_PATTERNS: readonly PatternRule[] = Object.freeze([
  Object.freeze({ name: 'velocity', kind: 'velocity', severity: 'MEDIUM', minOrders: 3, totalAbove: '5000.00', windowMinutes: 10 } as const),
]);

/** The value of the `pattern` column for the per-order threshold alerts (HIGH / MEDIUM), which have no window. */
export const THRESHOLD_PATTERN = '';

/** Validates pattern rules: a problem as [index-relative key path, message], or null. Threshold is parsed by the caller. */
export function patternProblem(rule: PatternRule, index: number, all: readonly PatternRule[]): readonly [string, string] | null {
  if (!/^[a-z][a-z0-9_-]{0,31}$/.test(rule.name)) return ['name', `expected a lower-case name such as "velocity" (letters, digits, _ and -, at most 32), got ${JSON.stringify(rule.name)}`];
  if (all.findIndex((r) => r.name === rule.name) !== index) return ['name', `duplicate pattern name ${JSON.stringify(rule.name)}`];
  if (!(PATTERN_KINDS as readonly string[]).includes(rule.kind)) return ['kind', `expected one of ${PATTERN_KINDS.join(', ')}`];
  if (!(SEVERITIES as readonly string[]).includes(rule.severity)) return ['severity', `expected one of ${SEVERITIES.join(', ')}`];
  if (!Number.isSafeInteger(rule.minOrders) || rule.minOrders < 1) return ['minOrders', `expected a positive whole number, got ${String(rule.minOrders)}`];
  if (!Number.isSafeInteger(rule.windowMinutes) || rule.windowMinutes < 1 || MINUTES_PER_DAY % rule.windowMinutes !== 0) {
    return ['windowMinutes', `expected a whole number of minutes that divides a day (1, 2, 5, 10, 15, 30, 60, ...), got ${String(rule.windowMinutes)}`];
  }
  return null;
}

/** Start of the pattern window holding an event time (epoch ms, UTC). */
export function patternWindowStart(pattern: CompiledPattern, createdAtMs: number): number {
  return windowStartFor(createdAtMs, pattern.windowMinutes);
}

/** Exclusive end of the pattern window starting at windowStartMs. */
export function patternWindowEnd(pattern: CompiledPattern, windowStartMs: number): number {
  return windowEndFor(windowStartMs, pattern.windowMinutes);
}

/**
 * The velocity alert of one customer's window, or null: `orders` are that customer's live
 * processed orders whose created_at lies in the window (cancelled and deleted orders are not
 * there). Fires when there are at least minOrders and their final amounts add up to more than
 * totalAbove. The alert is anchored at the window's lowest order id (its `order_id`, with the
 * pattern the row's key), stamped with the window start as its event time, and lists every
 * matched order id ascending.
 */
export function velocityAlert(pattern: CompiledPattern, customerId: number, windowStartMs: number, orders: readonly ProcessedOrder[]): FraudAlert | null {
  if (orders.length < pattern.minOrders) return null;
  let total = 0;
  for (const o of orders) total += o.finalCents;
  if (total <= pattern.totalAboveCents) return null;
  const ids = orders.map((o) => o.orderId).sort((a, b) => a - b);
  return {
    orderId: ids[0]!,
    customerId,
    finalCents: total,
    severity: pattern.severity,
    reason: `${ids.length} orders within ${pattern.windowMinutes} min totalling ${formatMoney(total)}, above ${formatMoney(pattern.totalAboveCents)}`,
    createdAt: windowStartMs,
    pattern: pattern.name,
    matchedOrderIds: ids.join(','),
    windowStartMs,
    windowEndMs: patternWindowEnd(pattern, windowStartMs),
  };
}

/** The alert a pattern raises for one window of one customer. */
export function patternAlert(pattern: CompiledPattern, customerId: number, windowStartMs: number, orders: readonly ProcessedOrder[]): FraudAlert | null {
  switch (pattern.kind) {
    case 'velocity':
      return velocityAlert(pattern, customerId, windowStartMs, orders);
  }
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * The minutes a batch window is rounded out to: a multiple of the summary window and of every
 * pattern window, so each summary and pattern window the run writes is whole. All divide a day,
 * so a `--date` run is never widened.
 */
export function alignmentMinutes(rules: { readonly windowMinutes: number; readonly patterns?: readonly { readonly windowMinutes: number }[] }): number {
  let lcm = rules.windowMinutes;
  for (const p of rules.patterns ?? []) lcm = (lcm * p.windowMinutes) / gcd(lcm, p.windowMinutes);
  return lcm;
}
