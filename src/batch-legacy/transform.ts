import { parseMoney } from '../domain/money.ts';
import { fraudAlertFor, processOrder, type CustomerRow, type FraudAlert, type ProcessedOrder, type ProductRow, type SourceOrder } from '../domain/process-order.ts';
import { isOrderStatus, isTier, type CompiledRules } from '../domain/rules.ts';
import { countsForFanIn, escalationAlert, fanInAlert, isFanIn, isWindowed, patternAlert, patternWindowEnd, patternWindowStart, type CompiledFanIn, type CompiledPattern, type CompiledVelocity } from '../domain/patterns.ts';
import { addContribution, EMPTY_SUMMARY, windowEndFor, windowStartFor, type SummaryAccumulator } from '../domain/windows.ts';

/**
 * The batch ETL's transform: pure functions from extracted rows to the three output tables,
 * through the same domain module as the stream, so that batch and stream differ only in delivery.
 */

/**
 * The cells extract.ts selects, in this order (pg array row mode): order id, customer id,
 * product id, quantity, amount as text, status, created_at as epoch ms, the customer's tier and
 * the product's category (null when the customer or product row is missing: a LEFT JOIN), and
 * when the customer's tier last changed as epoch ms (null: never, or no such column).
 */
export type ExtractedCells = readonly unknown[];

/** One order with what it joins; a missing customer or product is null, as after a left join. */
export interface ExtractedOrder {
  readonly order: SourceOrder;
  readonly customer: CustomerRow | null;
  readonly product: ProductRow | null;
}

/** One `order_summaries` row, money in cents. */
export interface SummaryRow extends SummaryAccumulator {
  readonly customerId: number;
  readonly windowStartMs: number;
  readonly windowEndMs: number;
}

/** Orders of the window that produce no processed row, by why. */
export interface IgnoredOrders {
  /** CANCELLED: no processed order, no summary contribution, no alert. */
  cancelled: number;
  /** Customer or product row missing: skipped, as the stream's inner join does. */
  missingReference: number;
  /** A cell the domain cannot type (unknown status or tier, bad amount): the stream dead-letters these. */
  invalid: number;
}

export interface TransformedBatch {
  readonly processed: readonly ProcessedOrder[];
  readonly alerts: readonly FraudAlert[];
  /** The first few reasons rows were invalid, for the log. */
  readonly invalidReasons: readonly string[];
}

export function emptyIgnored(): IgnoredOrders {
  return { cancelled: 0, missingReference: 0, invalid: 0 };
}

/** Types one row of cells; a string is the reason it cannot be typed. */
export function decodeExtracted(cells: ExtractedCells): ExtractedOrder | string {
  const [idCell, customerCell, productCell, quantityCell, amountCell, status, createdCell, tier, category, tierChangedCell] = cells;
  const id = integer(idCell);
  if (id === undefined) return `order id ${JSON.stringify(idCell)} is not an integer`;
  const customerId = integer(customerCell);
  const productId = integer(productCell);
  const quantity = integer(quantityCell);
  const createdAt = integer(createdCell);
  if (customerId === undefined || productId === undefined || quantity === undefined || createdAt === undefined) {
    return `order ${id}: customer_id, product_id, quantity and created_at must be integers`;
  }
  if (!isOrderStatus(status)) return `order ${id}: unknown status ${JSON.stringify(status)}`;
  if (typeof amountCell !== 'string') return `order ${id}: amount must be decimal text, got ${JSON.stringify(amountCell)}`;
  let amountCents: number;
  try {
    amountCents = parseMoney(amountCell);
  } catch (error) {
    return `order ${id}: ${(error as Error).message}`;
  }
  let customer: CustomerRow | null = null;
  if (tier !== null && tier !== undefined) {
    if (!isTier(tier)) return `order ${id}: customer ${customerId} has unknown tier ${JSON.stringify(tier)}`;
    if (tierChangedCell === null || tierChangedCell === undefined) customer = { id: customerId, tier };
    else {
      const tierChangedAt = integer(tierChangedCell);
      if (tierChangedAt === undefined) return `order ${id}: customer ${customerId} has tier_changed_at ${JSON.stringify(tierChangedCell)}, not epoch milliseconds`;
      customer = { id: customerId, tier, tierChangedAt };
    }
  }
  let product: ProductRow | null = null;
  if (category !== null && category !== undefined) {
    if (typeof category !== 'string' || category.trim() === '') return `order ${id}: product ${productId} has no category`;
    product = { id: productId, category };
  }
  return { order: { id, customerId, productId, quantity, amountCents, status, createdAt }, customer, product };
}

/**
 * Transforms one extracted batch: processed orders and alerts for this batch, the batch's
 * contributions added to `summaries`, what was left out counted into `ignored`. Memory stays with
 * the batch; the summaries hold (customer, window) pairs until their window is complete.
 */
export function transformBatch(
  batch: readonly ExtractedCells[],
  rules: CompiledRules,
  summaries: SummaryAccumulators,
  ignored: IgnoredOrders,
  patterns?: PatternAccumulators,
): TransformedBatch {
  const processed: ProcessedOrder[] = [];
  const alerts: FraudAlert[] = [];
  const invalidReasons: string[] = [];
  for (const cells of batch) {
    const row = decodeExtracted(cells);
    if (typeof row === 'string') {
      ignored.invalid++;
      if (invalidReasons.length < 5) invalidReasons.push(row);
      continue;
    }
    if (row.order.status === 'CANCELLED') {
      ignored.cancelled++;
      continue;
    }
    if (row.customer === null || row.product === null) {
      ignored.missingReference++;
      continue;
    }
    const result = processOrder(row.order, row.customer, row.product, rules);
    if (result === null) continue;
    processed.push(result);
    summaries.add(result);
    patterns?.add(result);
    const alert = fraudAlertFor(result, rules);
    if (alert !== null) alerts.push(alert);
    // Per-order patterns, with the same function the stream calls on every change of the order or its customer.
    for (const pattern of rules.patterns) {
      if (pattern.kind !== 'escalation') continue;
      const escalation = escalationAlert(pattern, result, row.customer.tierChangedAt);
      if (escalation !== null) alerts.push(escalation);
    }
  }
  return { processed, alerts, invalidReasons };
}

/**
 * The per-customer tumbling-window totals of the orders seen so far, as the stream keeps them.
 * Orders arrive ordered by created_at (extract.ts sorts by it), so once an order of a later window
 * is added every earlier window is complete: takeCompleted hands those rows over and forgets them,
 * and memory holds the customers of about one window rather than of the whole day.
 */
export class SummaryAccumulators {
  private readonly windows = new Map<number, Map<number, SummaryAccumulator>>();
  private latestWindowStartMs = Number.NEGATIVE_INFINITY;
  private completedBeforeMs = Number.NEGATIVE_INFINITY;
  private count = 0;
  private readonly windowMinutes: number;

  constructor(windowMinutes: number) {
    this.windowMinutes = windowMinutes;
  }

  /** Summary rows held (not yet taken). */
  get size(): number {
    return this.count;
  }

  /** Adds an order's contribution; throws when its window was already taken, i.e. the input was not ordered by created_at. */
  add(processed: ProcessedOrder): void {
    const windowStartMs = windowStartFor(processed.createdAt, this.windowMinutes);
    if (windowStartMs < this.completedBeforeMs) {
      throw new Error(
        `order ${processed.orderId} at ${new Date(processed.createdAt).toISOString()} belongs to a summary window already written; the extraction must be ordered by created_at`,
      );
    }
    let byCustomer = this.windows.get(windowStartMs);
    if (!byCustomer) {
      byCustomer = new Map();
      this.windows.set(windowStartMs, byCustomer);
    }
    const acc = byCustomer.get(processed.customerId);
    if (!acc) this.count++;
    byCustomer.set(processed.customerId, addContribution(acc ?? EMPTY_SUMMARY, processed));
    if (windowStartMs > this.latestWindowStartMs) this.latestWindowStartMs = windowStartMs;
  }

  /** Removes and yields the rows of every window before the latest one added to: they can no longer change. */
  *takeCompleted(): IterableIterator<SummaryRow> {
    yield* this.take(this.latestWindowStartMs);
  }

  /** Removes and yields every row held: the input has ended. */
  *takeAll(): IterableIterator<SummaryRow> {
    yield* this.take(Number.POSITIVE_INFINITY);
  }

  private *take(beforeMs: number): IterableIterator<SummaryRow> {
    if (beforeMs > this.completedBeforeMs) this.completedBeforeMs = beforeMs;
    for (const [windowStartMs, byCustomer] of this.windows) {
      if (windowStartMs >= beforeMs) continue;
      this.windows.delete(windowStartMs);
      this.count -= byCustomer.size;
      const windowEndMs = windowEndFor(windowStartMs, this.windowMinutes);
      for (const [customerId, acc] of byCustomer) yield { customerId, windowStartMs, windowEndMs, ...acc };
    }
  }
}

/**
 * The fraud patterns' windows of the orders seen so far: the processed orders of each (pattern,
 * window, group), turned into that window's alert (src/domain/patterns.ts, the same functions the
 * stream calls) once it is complete. The group is the customer for velocity and the product for
 * fan-in, which takes only the orders of NEW customers (countsForFanIn): one accumulator, two
 * keys, since both are tumbling windows over the same ordered input. Input ordered by created_at,
 * as for summaries: a window is complete once an order at or after its end has been added.
 */
export class PatternAccumulators {
  private readonly open = new Map<string, OpenWindow>();
  private latestMs = Number.NEGATIVE_INFINITY;
  private readonly patterns: readonly (CompiledVelocity | CompiledFanIn)[];

  /** Keeps the windowed patterns (velocity per customer, fan-in per product); per-order ones (escalation) are evaluated by transformBatch. */
  constructor(patterns: readonly CompiledPattern[]) {
    this.patterns = patterns.filter((p): p is CompiledVelocity | CompiledFanIn => isWindowed(p) || isFanIn(p));
  }

  add(processed: ProcessedOrder): void {
    if (processed.createdAt > this.latestMs) this.latestMs = processed.createdAt;
    for (const pattern of this.patterns) {
      if (pattern.kind === 'fan-in' && !countsForFanIn(processed)) continue;
      const groupId = pattern.kind === 'fan-in' ? processed.productId : processed.customerId;
      const windowStartMs = patternWindowStart(pattern, processed.createdAt);
      const key = `${pattern.name}|${windowStartMs}|${groupId}`;
      const group = this.open.get(key);
      if (group) group.orders.push(processed);
      else this.open.set(key, { pattern, groupId, windowStartMs, orders: [processed] });
    }
  }

  /** Removes the windows that ended at or before the latest order added and returns their alerts. */
  takeCompleted(): FraudAlert[] {
    return this.take(this.latestMs);
  }

  /** Removes every window held and returns their alerts: the input has ended. */
  takeAll(): FraudAlert[] {
    return this.take(Number.POSITIVE_INFINITY);
  }

  private take(untilMs: number): FraudAlert[] {
    const alerts: FraudAlert[] = [];
    for (const [key, group] of this.open) {
      if (patternWindowEnd(group.pattern, group.windowStartMs) > untilMs) continue;
      this.open.delete(key);
      const alert =
        group.pattern.kind === 'fan-in'
          ? fanInAlert(group.pattern, group.groupId, group.windowStartMs, group.orders)
          : patternAlert(group.pattern, group.groupId, group.windowStartMs, group.orders);
      if (alert) alerts.push(alert);
    }
    return alerts;
  }
}

/** One open pattern window of the batch: the group is a customer (velocity) or a product (fan-in). */
interface OpenWindow {
  readonly pattern: CompiledVelocity | CompiledFanIn;
  readonly groupId: number;
  readonly windowStartMs: number;
  readonly orders: ProcessedOrder[];
}

function integer(cell: unknown): number | undefined {
  if (typeof cell === 'number') return Number.isSafeInteger(cell) ? cell : undefined;
  if (typeof cell === 'string' && /^-?\d{1,16}$/.test(cell)) {
    const value = Number(cell);
    return Number.isSafeInteger(value) ? value : undefined;
  }
  return undefined;
}
