import { applyRate, formatMoney } from './money.ts';
import { THRESHOLD_PATTERN } from './patterns.ts';
import { taxRateFor } from './rules.ts';
import type { CompiledRules, OrderStatus, Severity, Tier } from './rules.ts';

/** An order as read from the source `orders` table (batch) or its CDC record (stream), already typed. */
export interface SourceOrder {
  readonly id: number;
  readonly customerId: number;
  readonly productId: number;
  readonly quantity: number;
  readonly amountCents: number;
  readonly status: OrderStatus;
  /** Epoch milliseconds, UTC. */
  readonly createdAt: number;
}

export interface CustomerRow {
  readonly id: number;
  readonly tier: Tier;
  /** When the tier last changed (customers.tier_changed_at), epoch ms UTC; null or absent when never (or a source without the column). */
  readonly tierChangedAt?: number | null;
}

export interface ProductRow {
  readonly id: number;
  readonly category: string;
}

/** Statuses an order can have once processed: cancelled orders produce nothing. */
export type ProcessedStatus = Exclude<OrderStatus, 'CANCELLED'>;

/** One row of `processed_orders`, money in cents; the adapters add `processed_at`. */
export interface ProcessedOrder {
  readonly orderId: number;
  readonly customerId: number;
  readonly customerTier: Tier;
  readonly productId: number;
  readonly productCategory: string;
  readonly quantity: number;
  readonly amountCents: number;
  readonly discountCents: number;
  readonly taxCents: number;
  readonly finalCents: number;
  readonly status: ProcessedStatus;
  /** Epoch milliseconds, UTC. */
  readonly createdAt: number;
}

/** One row of `fraud_alerts`, money in cents; the adapters add `alerted_at`. */
export interface FraudAlert {
  readonly orderId: number;
  readonly customerId: number;
  readonly finalCents: number;
  readonly severity: Severity;
  readonly reason: string;
  /** The order's creation time (a pattern alert: its window's start), epoch milliseconds UTC. */
  readonly createdAt: number;
  /** '' for a threshold alert; else the pattern's name (src/domain/patterns.ts). With order_id, the row's key. */
  readonly pattern: string;
  /** The matched order ids ascending, comma-separated; '' for a threshold alert. */
  readonly matchedOrderIds: string;
  /** The pattern's window [start, end), epoch ms; both 0 for a threshold alert, which has none. */
  readonly windowStartMs: number;
  readonly windowEndMs: number;
}

/**
 * Whether two alerts (or absences) would be written as the same output record: every field
 * compared, so a state emits an alert again exactly when its record would change.
 */
export function sameAlert(a: FraudAlert | null, b: FraudAlert | null): boolean {
  if (a === null || b === null) return a === b;
  return (
    a.orderId === b.orderId &&
    a.customerId === b.customerId &&
    a.finalCents === b.finalCents &&
    a.severity === b.severity &&
    a.reason === b.reason &&
    a.createdAt === b.createdAt &&
    a.pattern === b.pattern &&
    a.matchedOrderIds === b.matchedOrderIds &&
    a.windowStartMs === b.windowStartMs &&
    a.windowEndMs === b.windowEndMs
  );
}

/**
 * Enriches and prices one order; returns null for a CANCELLED order, which produces no processed
 * order, no summary contribution and no alert. Each step rounds half-even to the cent:
 * discount = amount × tier rate; tax = (amount − discount) × category rate; final = amount − discount + tax.
 * Throws if the customer or product given is not the one the order references: that is a join bug
 * in the caller, and pricing against the wrong row would be silently wrong.
 */
export function processOrder(
  order: SourceOrder,
  customer: CustomerRow,
  product: ProductRow,
  rules: CompiledRules,
): ProcessedOrder | null {
  const status = order.status;
  if (status === 'CANCELLED') return null;
  if (customer.id !== order.customerId) {
    throw new Error(`order ${order.id} references customer ${order.customerId} but was joined with customer ${customer.id}`);
  }
  if (product.id !== order.productId) {
    throw new Error(`order ${order.id} references product ${order.productId} but was joined with product ${product.id}`);
  }
  const amountCents = order.amountCents;
  const discountCents = applyRate(amountCents, rules.tierDiscount[customer.tier]);
  const taxable = amountCents - discountCents;
  const taxCents = applyRate(taxable, taxRateFor(product.category, rules));
  return {
    orderId: order.id,
    customerId: order.customerId,
    customerTier: customer.tier,
    productId: order.productId,
    productCategory: product.category,
    quantity: order.quantity,
    amountCents,
    discountCents,
    taxCents,
    finalCents: taxable + taxCents,
    status,
    createdAt: order.createdAt,
  };
}

/**
 * The fraud alert a processed order raises, or null. Both thresholds are strict ("above"):
 * final > high threshold → HIGH, for any tier; otherwise tier NEW and final > medium threshold →
 * MEDIUM. HIGH takes precedence, so a NEW customer's order above both thresholds raises one HIGH
 * alert, never two.
 */
export function fraudAlertFor(processed: ProcessedOrder, rules: CompiledRules): FraudAlert | null {
  const finalCents = processed.finalCents;
  if (finalCents > rules.fraudHighAboveCents) {
    return alert(processed, 'HIGH', `final amount ${formatMoney(finalCents)} above ${formatMoney(rules.fraudHighAboveCents)}`);
  }
  if (processed.customerTier === 'NEW' && finalCents > rules.fraudNewTierMediumAboveCents) {
    return alert(
      processed,
      'MEDIUM',
      `NEW customer final amount ${formatMoney(finalCents)} above ${formatMoney(rules.fraudNewTierMediumAboveCents)}`,
    );
  }
  return null;
}

function alert(processed: ProcessedOrder, severity: Severity, reason: string): FraudAlert {
  return {
    orderId: processed.orderId,
    customerId: processed.customerId,
    finalCents: processed.finalCents,
    severity,
    reason,
    createdAt: processed.createdAt,
    pattern: THRESHOLD_PATTERN,
    matchedOrderIds: '',
    windowStartMs: 0,
    windowEndMs: 0,
  };
}
