import type { CompiledRules } from '../domain/rules.ts';
import { fraudAlertFor, processOrder, type CustomerRow, type FraudAlert, type ProcessedOrder, type ProductRow, type SourceOrder } from '../domain/process-order.ts';
import { addContribution, EMPTY_SUMMARY, retractContribution, summaryKeyOf, windowStartFor, type SummaryAccumulator, type SummaryKey } from '../domain/windows.ts';

/** Customers and products as every worker sees them (tables read in full). */
export interface ReferenceTables {
  customer(id: number): CustomerRow | undefined;
  product(id: number): ProductRow | undefined;
}

/** A change to one output key; a null payload is a retraction (the key is gone). */
export type Emission =
  | { readonly kind: 'processed'; readonly orderId: number; readonly customerId: number; readonly row: ProcessedOrder | null; readonly sourceTsMs: number | null }
  | { readonly kind: 'summary'; readonly customerId: number; readonly windowStartMs: number; readonly summary: SummaryAccumulator | null }
  | { readonly kind: 'alert'; readonly orderId: number; readonly customerId: number; readonly alert: FraudAlert | null };

export type ApplyResult = { readonly blocked: string } | { readonly emissions: readonly Emission[] };

/**
 * What the state keeps per order, kept small because a worker holds every live order: the
 * processed row alone when the order contributes (its alert is recomputed when needed), or the
 * raw order while a referenced customer or product is missing (so it can come back).
 */
type OrderEntry = { readonly processed: ProcessedOrder; readonly orphan?: undefined } | { readonly processed: null; readonly orphan: SourceOrder };

function orderOf(entry: OrderEntry): SourceOrder {
  if (entry.orphan) return entry.orphan;
  const p = entry.processed;
  return { id: p.orderId, customerId: p.customerId, productId: p.productId, quantity: p.quantity, amountCents: p.amountCents, status: p.status, createdAt: p.createdAt };
}

/**
 * The state one stream task owns for its customers: the orders that contribute, indexed by
 * customer and product for the foreign-key joins, and the windowed summaries they add up to.
 * Pure: no I/O; every change returns the output keys it changed.
 */
export class OrderState {
  private readonly orders = new Map<number, OrderEntry>();
  private readonly byCustomer = new Map<number, Set<number>>();
  private readonly byProduct = new Map<number, Set<number>>();
  private readonly windows = new Map<SummaryKey, SummaryAccumulator>();

  constructor(
    private readonly rules: CompiledRules,
    private readonly tables: ReferenceTables,
  ) {}

  get size(): number {
    return this.orders.size;
  }

  /** A new version of an order: its old contribution is retracted and the new one added. */
  upsert(order: SourceOrder, sourceTsMs: number | null): ApplyResult {
    const customer = this.tables.customer(order.customerId);
    if (!customer) return { blocked: `customer ${order.customerId} of order ${order.id} not found` };
    const product = this.tables.product(order.productId);
    if (!product) return { blocked: `product ${order.productId} of order ${order.id} not found` };
    return { emissions: this.replace(order.id, this.entryFor(order, customer, product), sourceTsMs) };
  }

  /** A deleted order (or one moved to another customer's task): everything it contributed is retracted. */
  delete(orderId: number): readonly Emission[] {
    return this.replace(orderId, undefined, null);
  }

  /** A customer changed (e.g. its tier): every order that joins it is recomputed. */
  customerChanged(customerId: number): readonly Emission[] {
    return this.recompute(this.byCustomer.get(customerId));
  }

  /** A product changed (e.g. its category): every order that joins it is recomputed. */
  productChanged(productId: number): readonly Emission[] {
    return this.recompute(this.byProduct.get(productId));
  }

  /** Recomputes every order whose join inputs differ from the tables (after a restart). */
  reconcileAll(): readonly Emission[] {
    const stale: number[] = [];
    for (const [id, entry] of this.orders) {
      const p = entry.processed;
      if (!p) {
        if (this.tables.customer(entry.orphan.customerId) && this.tables.product(entry.orphan.productId)) stale.push(id);
        continue;
      }
      if (this.tables.customer(p.customerId)?.tier !== p.customerTier || this.tables.product(p.productId)?.category !== p.productCategory) stale.push(id);
    }
    return this.recompute(stale);
  }

  /** Restores one contributing order from the output topic (its latest committed processed row). */
  restore(processed: ProcessedOrder): void {
    this.replace(processed.orderId, { processed }, null);
  }

  summary(customerId: number, windowStartMs: number): SummaryAccumulator | undefined {
    return this.windows.get(summaryKeyOf(customerId, windowStartMs));
  }

  processed(orderId: number): ProcessedOrder | null | undefined {
    return this.orders.get(orderId)?.processed;
  }

  private recompute(ids: Iterable<number> | undefined): Emission[] {
    if (!ids) return [];
    const emissions: Emission[] = [];
    for (const id of [...ids]) {
      const entry = this.orders.get(id);
      if (!entry) continue;
      const order = orderOf(entry);
      const customer = this.tables.customer(order.customerId);
      const product = this.tables.product(order.productId);
      // A referenced row that disappeared: the order stops contributing until it comes back.
      const next = customer && product ? this.entryFor(order, customer, product) : { processed: null, orphan: order };
      emissions.push(...this.replace(id, next, null));
    }
    return emissions;
  }

  /** The entry for a joined order; undefined when it contributes nothing (cancelled). */
  private entryFor(order: SourceOrder, customer: CustomerRow, product: ProductRow): OrderEntry | undefined {
    const processed = processOrder(order, customer, product, this.rules);
    return processed ? { processed } : undefined;
  }

  private replace(orderId: number, next: OrderEntry | undefined, sourceTsMs: number | null): Emission[] {
    const old = this.orders.get(orderId);
    if (!old && !next) return [];
    const emissions: Emission[] = [];
    const touched = new Map<SummaryKey, { customerId: number; windowStartMs: number }>();
    if (old) {
      this.unindex(orderId, orderOf(old));
      if (old.processed) this.contribute(old.processed, retractContribution, touched);
    }
    if (next) {
      this.orders.set(orderId, next);
      this.index(orderId, orderOf(next));
      if (next.processed) this.contribute(next.processed, addContribution, touched);
    } else {
      this.orders.delete(orderId);
    }
    const oldRow = old?.processed ?? null;
    const newRow = next?.processed ?? null;
    if (!sameRow(oldRow, newRow)) {
      if (oldRow && (!newRow || oldRow.customerId !== newRow.customerId)) {
        emissions.push({ kind: 'processed', orderId, customerId: oldRow.customerId, row: null, sourceTsMs });
      }
      if (newRow) emissions.push({ kind: 'processed', orderId, customerId: newRow.customerId, row: newRow, sourceTsMs });
    }
    const oldAlert = oldRow ? fraudAlertFor(oldRow, this.rules) : null;
    const newAlert = newRow ? fraudAlertFor(newRow, this.rules) : null;
    if (!sameAlert(oldAlert, newAlert)) {
      if (oldAlert && (!newAlert || oldAlert.customerId !== newAlert.customerId)) emissions.push({ kind: 'alert', orderId, customerId: oldAlert.customerId, alert: null });
      if (newAlert) emissions.push({ kind: 'alert', orderId, customerId: newAlert.customerId, alert: newAlert });
    }
    for (const [key, { customerId, windowStartMs }] of touched) {
      const summary = this.windows.get(key);
      emissions.push({ kind: 'summary', customerId, windowStartMs, summary: summary ?? null });
    }
    return emissions;
  }

  private contribute(
    row: ProcessedOrder,
    op: (acc: SummaryAccumulator, p: Pick<ProcessedOrder, 'amountCents' | 'finalCents'>) => SummaryAccumulator,
    touched: Map<SummaryKey, { customerId: number; windowStartMs: number }>,
  ): void {
    const windowStartMs = windowStartFor(row.createdAt, this.rules.windowMinutes);
    const key = summaryKeyOf(row.customerId, windowStartMs);
    const next = op(this.windows.get(key) ?? EMPTY_SUMMARY, row);
    if (next.orderCount === 0) this.windows.delete(key);
    else this.windows.set(key, next);
    touched.set(key, { customerId: row.customerId, windowStartMs });
  }

  private index(orderId: number, order: Pick<SourceOrder, 'customerId' | 'productId'>): void {
    addTo(this.byCustomer, order.customerId, orderId);
    addTo(this.byProduct, order.productId, orderId);
  }

  private unindex(orderId: number, order: Pick<SourceOrder, 'customerId' | 'productId'>): void {
    removeFrom(this.byCustomer, order.customerId, orderId);
    removeFrom(this.byProduct, order.productId, orderId);
  }
}

function addTo(index: Map<number, Set<number>>, key: number, id: number): void {
  const set = index.get(key);
  if (set) set.add(id);
  else index.set(key, new Set([id]));
}

function removeFrom(index: Map<number, Set<number>>, key: number, id: number): void {
  const set = index.get(key);
  if (!set) return;
  set.delete(id);
  if (set.size === 0) index.delete(key);
}

function sameRow(a: ProcessedOrder | null, b: ProcessedOrder | null): boolean {
  if (a === null || b === null) return a === b;
  return (
    a.customerId === b.customerId &&
    a.customerTier === b.customerTier &&
    a.productId === b.productId &&
    a.productCategory === b.productCategory &&
    a.quantity === b.quantity &&
    a.amountCents === b.amountCents &&
    a.finalCents === b.finalCents &&
    a.discountCents === b.discountCents &&
    a.taxCents === b.taxCents &&
    a.status === b.status &&
    a.createdAt === b.createdAt
  );
}

function sameAlert(a: FraudAlert | null, b: FraudAlert | null): boolean {
  if (a === null || b === null) return a === b;
  return a.customerId === b.customerId && a.finalCents === b.finalCents && a.severity === b.severity && a.createdAt === b.createdAt;
}
