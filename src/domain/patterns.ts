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
const MINUTE_MS = 60_000;

export const PATTERN_KINDS = ['velocity', 'escalation', 'fan-in'] as const;
export type PatternKind = (typeof PATTERN_KINDS)[number];

/** What every pattern has, as written in configuration (`rules.patterns[i]`). */
interface PatternRuleBase {
  /** The alert's `pattern` column; unique among the patterns. */
  readonly name: string;
  readonly severity: Severity;
}

/** Velocity: at least minOrders orders of one customer in one tumbling window whose finals add up to more than totalAbove. */
export interface VelocityRule extends PatternRuleBase {
  readonly kind: 'velocity';
  readonly minOrders: number;
  /** The sum of the matched orders' finals must be above this decimal amount. */
  readonly totalAbove: string;
  /** Tumbling windows aligned to the epoch, so every worker and the batch cut them alike; must divide a day. */
  readonly windowMinutes: number;
}

/** Escalation: one order whose final is above totalAbove, created within windowMinutes after its customer's last tier change. */
export interface EscalationRule extends PatternRuleBase {
  readonly kind: 'escalation';
  /** The order's final amount must be above this decimal amount. */
  readonly totalAbove: string;
  /** How long after the tier change an order counts; any whole number of minutes up to a week (no windows to align). */
  readonly windowMinutes: number;
}

/**
 * Fan-in: orders of at least minCustomers distinct customers of tier NEW for one product in one
 * tumbling window (many fresh accounts buying the same thing at once). No amount: the count of
 * customers is the signal.
 */
export interface FanInRule extends PatternRuleBase {
  readonly kind: 'fan-in';
  readonly minCustomers: number;
  /** Tumbling windows aligned to the epoch, as velocity's; must divide a day. */
  readonly windowMinutes: number;
}

/** A pattern as written in configuration (`rules.patterns[i]`). */
export type PatternRule = VelocityRule | EscalationRule | FanInRule;

interface CompiledBase {
  readonly name: string;
  readonly severity: Severity;
  readonly windowMinutes: number;
}

export interface CompiledVelocity extends CompiledBase {
  readonly kind: 'velocity';
  readonly minOrders: number;
  readonly totalAboveCents: number;
}

export interface CompiledEscalation extends CompiledBase {
  readonly kind: 'escalation';
  readonly totalAboveCents: number;
}

export interface CompiledFanIn extends CompiledBase {
  readonly kind: 'fan-in';
  readonly minCustomers: number;
}

export type CompiledPattern = CompiledVelocity | CompiledEscalation | CompiledFanIn;

/** The kinds evaluated over tumbling per-customer windows (escalation is per order, fan-in per product). */
const WINDOWED_KINDS: readonly string[] = ['velocity'] satisfies readonly PatternKind[];

/** The kinds whose windows are tumbling and epoch-aligned, so a batch window must hold them whole. */
const ALIGNED_KINDS: readonly string[] = ['velocity', 'fan-in'] satisfies readonly PatternKind[];

export function isWindowed(pattern: CompiledPattern): pattern is CompiledVelocity {
  return WINDOWED_KINDS.includes(pattern.kind);
}

export function isFanIn(pattern: CompiledPattern): pattern is CompiledFanIn {
  return pattern.kind === 'fan-in';
}

/**
 * Defaults that fire on the demo workload at a low rate: velocity for a few customers an hour at
 * 50 orders/s; escalation for a few of the customers whose tier changes; fan-in for a few of the
 * demo's 200 products during its 300 orders/s load (see
 * docs/decisions/fraud-patterns.md for the measured counts).
 */
export const DEFAULT_PATTERNS: readonly PatternRule[] = Object.freeze([
  Object.freeze({ name: 'velocity', kind: 'velocity', severity: 'MEDIUM', minOrders: 3, totalAbove: '5000.00', windowMinutes: 10 } as const),
  Object.freeze({ name: 'escalation', kind: 'escalation', severity: 'MEDIUM', totalAbove: '2000.00', windowMinutes: 30 } as const),
  Object.freeze({ name: 'fan-in', kind: 'fan-in', severity: 'MEDIUM', minCustomers: 25, windowMinutes: 10 } as const),
]);

/** The longest escalation window: a week. */
export const MAX_ESCALATION_MINUTES = 7 * MINUTES_PER_DAY;

/** The value of the `pattern` column for the per-order threshold alerts (HIGH / MEDIUM), which have no window. */
export const THRESHOLD_PATTERN = '';

/** Validates pattern rules: a problem as [index-relative key path, message], or null. Threshold is parsed by the caller. */
export function patternProblem(rule: PatternRule, index: number, all: readonly PatternRule[]): readonly [string, string] | null {
  if (!/^[a-z][a-z0-9_-]{0,31}$/.test(rule.name)) return ['name', `expected a lower-case name such as "velocity" (letters, digits, _ and -, at most 32), got ${JSON.stringify(rule.name)}`];
  if (all.findIndex((r) => r.name === rule.name) !== index) return ['name', `duplicate pattern name ${JSON.stringify(rule.name)}`];
  if (!(PATTERN_KINDS as readonly string[]).includes(rule.kind)) return ['kind', `expected one of ${PATTERN_KINDS.join(', ')}`];
  if (!(SEVERITIES as readonly string[]).includes(rule.severity)) return ['severity', `expected one of ${SEVERITIES.join(', ')}`];
  if (rule.kind === 'fan-in') {
    if (!Number.isSafeInteger(rule.minCustomers) || rule.minCustomers < 2) return ['minCustomers', `expected a whole number of customers of at least 2, got ${String(rule.minCustomers)}`];
    return windowProblem(rule.windowMinutes);
  }
  if (rule.kind === 'escalation') {
    if (!Number.isSafeInteger(rule.windowMinutes) || rule.windowMinutes < 1 || rule.windowMinutes > MAX_ESCALATION_MINUTES) {
      return ['windowMinutes', `expected a whole number of minutes from 1 to ${MAX_ESCALATION_MINUTES} (a week), got ${String(rule.windowMinutes)}`];
    }
    return null;
  }
  if (!Number.isSafeInteger(rule.minOrders) || rule.minOrders < 1) return ['minOrders', `expected a positive whole number, got ${String(rule.minOrders)}`];
  return windowProblem(rule.windowMinutes);
}

function windowProblem(windowMinutes: number): readonly [string, string] | null {
  if (!Number.isSafeInteger(windowMinutes) || windowMinutes < 1 || MINUTES_PER_DAY % windowMinutes !== 0) {
    return ['windowMinutes', `expected a whole number of minutes that divides a day (1, 2, 5, 10, 15, 30, 60, ...), got ${String(windowMinutes)}`];
  }
  return null;
}

/** Start of the pattern window holding an event time (epoch ms, UTC). */
export function patternWindowStart(pattern: { readonly windowMinutes: number }, createdAtMs: number): number {
  return windowStartFor(createdAtMs, pattern.windowMinutes);
}

/** Exclusive end of the pattern window starting at windowStartMs. */
export function patternWindowEnd(pattern: { readonly windowMinutes: number }, windowStartMs: number): number {
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
export function velocityAlert(pattern: CompiledVelocity, customerId: number, windowStartMs: number, orders: readonly ProcessedOrder[]): FraudAlert | null {
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

/** The alert a windowed pattern raises for one window of one customer. */
export function patternAlert(pattern: CompiledVelocity, customerId: number, windowStartMs: number, orders: readonly ProcessedOrder[]): FraudAlert | null {
  return velocityAlert(pattern, customerId, windowStartMs, orders);
}

/**
 * The escalation alert of one live processed order, or null: its final amount is above
 * totalAbove and it was created within windowMinutes after its customer's last tier change,
 * tierChangedAt <= createdAt < tierChangedAt + W (null: no tier change known). Only the last
 * change counts, because it is what the final state of the customer holds on both sides. The
 * alert is the order's own (anchored at it, matching it alone), stamped with its created_at, and
 * its window is [tierChangedAt, tierChangedAt + W).
 */
export function escalationAlert(pattern: CompiledEscalation, order: ProcessedOrder, tierChangedAtMs: number | null | undefined): FraudAlert | null {
  if (tierChangedAtMs === null || tierChangedAtMs === undefined) return null;
  if (order.finalCents <= pattern.totalAboveCents) return null;
  const windowEndMs = tierChangedAtMs + pattern.windowMinutes * MINUTE_MS;
  if (order.createdAt < tierChangedAtMs || order.createdAt >= windowEndMs) return null;
  return {
    orderId: order.orderId,
    customerId: order.customerId,
    finalCents: order.finalCents,
    severity: pattern.severity,
    reason: `final amount ${formatMoney(order.finalCents)} above ${formatMoney(pattern.totalAboveCents)} within ${pattern.windowMinutes} min of the tier change to ${order.customerTier}`,
    createdAt: order.createdAt,
    pattern: pattern.name,
    matchedOrderIds: String(order.orderId),
    windowStartMs: tierChangedAtMs,
    windowEndMs,
  };
}

/** One live order's part in a fan-in window: what the batch reads from a processed row, the stream from its product-keyed changelog. */
export interface FanInContribution {
  readonly orderId: number;
  readonly customerId: number;
  readonly finalCents: number;
  readonly createdAt: number;
}

/**
 * Whether a live processed order counts toward fan-in: its customer's tier is NEW. The row
 * carries the customer's current tier (the final state both sides read), so a tier change away
 * from NEW retracts the order's part.
 */
export function countsForFanIn(row: ProcessedOrder): boolean {
  return row.customerTier === 'NEW';
}

/**
 * The fan-in alert of one product's window, or null: `contributions` are the live orders of NEW
 * customers for that product created in the window (one per order). Fires when they come from at
 * least minCustomers distinct customers (a customer buying twice counts once). Anchored, like
 * velocity, at the lowest matched order id (the row's `order_id`, its customer the row's
 * `customer_id`), stamped with the window start, listing every matched order ascending, the sum
 * of their finals as final_amount.
 */
export function fanInAlert(pattern: CompiledFanIn, productId: number, windowStartMs: number, contributions: readonly FanInContribution[]): FraudAlert | null {
  if (contributions.length < pattern.minCustomers) return null;
  const customers = new Set<number>();
  for (const c of contributions) customers.add(c.customerId);
  if (customers.size < pattern.minCustomers) return null;
  const sorted = [...contributions].sort((a, b) => a.orderId - b.orderId);
  let total = 0;
  for (const c of sorted) total += c.finalCents;
  const anchor = sorted[0]!;
  return {
    orderId: anchor.orderId,
    customerId: anchor.customerId,
    finalCents: total,
    severity: pattern.severity,
    reason: `${customers.size} NEW customers bought product ${productId} within ${pattern.windowMinutes} min (${sorted.length} orders)`,
    createdAt: windowStartMs,
    pattern: pattern.name,
    matchedOrderIds: sorted.map((c) => c.orderId).join(','),
    windowStartMs,
    windowEndMs: patternWindowEnd(pattern, windowStartMs),
  };
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * The minutes a batch window is rounded out to: a multiple of the summary window and of every
 * windowed pattern's window (velocity, fan-in), so each summary and pattern window the run writes
 * is whole. All divide a day, so a `--date` run is never widened. Per-order patterns (escalation)
 * have no window of their own to align.
 */
export function alignmentMinutes(rules: { readonly windowMinutes: number; readonly patterns?: readonly { readonly kind: string; readonly windowMinutes: number }[] }): number {
  let lcm = rules.windowMinutes;
  for (const p of rules.patterns ?? []) if (ALIGNED_KINDS.includes(p.kind)) lcm = (lcm * p.windowMinutes) / gcd(lcm, p.windowMinutes);
  return lcm;
}
