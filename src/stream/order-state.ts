import type { CompiledRules } from '../domain/rules.ts';
import { fraudAlertFor, processOrder, sameAlert, type CustomerRow, type FraudAlert, type ProcessedOrder, type ProductRow, type SourceOrder } from '../domain/process-order.ts';
import { countsForFanIn, escalationAlert, isFanIn, isWindowed, patternAlert, patternWindowStart, type CompiledEscalation, type CompiledVelocity } from '../domain/patterns.ts';
import type { ContributionKey } from './fan-in-state.ts';
import { addContribution, EMPTY_SUMMARY, retractContribution, windowStartFor, type SummaryAccumulator } from '../domain/windows.ts';
import { OrderRows, type OrderEntry } from './order-rows.ts';
import { PairHash, windowKey } from './pair-hash.ts';
import { NO_SLOT, SlotChains } from './slot-chains.ts';
import { SummaryTable } from './summary-table.ts';

/** Customers and products as every worker sees them (tables read in full). */
export interface ReferenceTables {
  customer(id: number): CustomerRow | undefined;
  product(id: number): ProductRow | undefined;
}

/** A change to one output key; a null payload is a retraction (the key is gone). */
export type Emission =
  /** tierChangedAt: what the row's escalation was evaluated with (carried by the record, so a restore knows what was emitted). */
  | { readonly kind: 'processed'; readonly orderId: number; readonly customerId: number; readonly row: ProcessedOrder | null; readonly sourceTsMs: number | null; readonly tierChangedAt?: number | null }
  | { readonly kind: 'summary'; readonly customerId: number; readonly windowStartMs: number; readonly summary: SummaryAccumulator | null }
  /** pattern: '' for a threshold alert, else the pattern's name; with order and customer, the output key. */
  | { readonly kind: 'alert'; readonly orderId: number; readonly customerId: number; readonly pattern: string; readonly alert: FraudAlert | null }
  /** A NEW-tier order's part in fan-in (stage 2 → stage 3, routed by product); finalCents null retracts it. */
  | ({ readonly kind: 'contribution'; readonly finalCents: number | null } & ContributionKey);

export type ApplyResult = { readonly blocked: string } | { readonly emissions: readonly Emission[] };

function orderOf(entry: OrderEntry): SourceOrder {
  if (entry.orphan) return entry.orphan;
  const p = entry.processed;
  return { id: p.orderId, customerId: p.customerId, productId: p.productId, quantity: p.quantity, amountCents: p.amountCents, status: p.status, createdAt: p.createdAt };
}

/**
 * The state one stream worker owns for the tasks (partitions) it was assigned: the orders that
 * contribute, indexed by customer and product for the foreign-key joins, and the windowed
 * summaries they add up to. Pure: no I/O; every change returns the output keys it changed.
 *
 * An entry is keyed by (customer, order), the same pair the output records are keyed by, never
 * by order alone: an order that moves from customer A to B is retracted by a delete routed to
 * A's partition and added by an upsert routed to B's, and a worker that owns both partitions may
 * read them in either order. Keyed this way, each change touches exactly the row it names, so
 * every interleaving converges to the same state (a move may briefly show the order under both
 * customers, never under neither).
 */
export class OrderState {
  /**
   * The store is in columns (a worker holds every live order; see OrderRows): each order's row
   * has a slot, and everything that indexes orders holds slots.
   */
  private readonly rows: OrderRows;
  /** (customer, order) → slot. */
  private readonly slotOf = new PairHash();
  /** customer → the chain of its slots: the customer side of the join. */
  private readonly customerChains = new SlotChains();
  private readonly customerHeads = new Map<number, number>();
  /** product → the chain of slots that join it (the product side of the join). */
  private readonly productChains = new SlotChains();
  private readonly productHeads = new Map<number, number>();
  /** customer → window → summary. */
  private readonly summaries = new SummaryTable();
  /** The live pattern alert of each (customer, pattern, window), by patternSlot: what was last emitted for it. */
  private readonly patternAlerts = new Map<string, FraudAlert>();
  /**
   * While a recompute runs: per customer, the creation times of the rows whose windows need their
   * pattern alerts evaluated once it is done. A tier change re-processes every order of its
   * customer; evaluating the windowed patterns per order cost O(orders in the window) each time,
   * quadratic per window (seconds of stall for a customer with a few thousand orders in a window).
   */
  private deferredPatterns: Map<number, number[]> | null = null;
  /**
   * The same for a restore, which is one record at a time with no end call: the rows restored so
   * far, evaluated by the first call that changes or reads alerts afterwards (`settleRestore`).
   * Per record, a restart of a stack with hot customers took 65 s for 237 609 orders.
   */
  private restoredPatterns: Map<number, number[]> | null = null;
  /** Per windowed pattern (as `windowed`): the live orders of each (customer, window), so a change reads only its window. */
  private readonly patternWindows: readonly { readonly chains: SlotChains; readonly heads: PairHash }[];
  /** The live escalation alert of each (customer, order, pattern), by escalationSlot: what was last emitted for it. */
  private readonly escalationAlerts = new Map<string, FraudAlert>();
  private readonly windowed: readonly CompiledVelocity[];
  private readonly escalations: readonly CompiledEscalation[];
  /** Whether any fan-in pattern is configured: only then are contributions written for stage 3. */
  private readonly fanIn: boolean;
  private count = 0;
  private readonly rules: CompiledRules;
  private readonly tables: ReferenceTables;

  constructor(
    rules: CompiledRules,
    tables: ReferenceTables,
  ) {
    this.rules = rules;
    this.tables = tables;
    this.windowed = rules.patterns.filter(isWindowed);
    this.escalations = rules.patterns.filter((p): p is CompiledEscalation => p.kind === 'escalation');
    this.fanIn = rules.patterns.some(isFanIn);
    this.patternWindows = this.windowed.map(() => ({ chains: new SlotChains(), heads: new PairHash() }));
    this.rows = new OrderRows((capacity) => {
      this.customerChains.grow(capacity);
      this.productChains.grow(capacity);
      for (const window of this.patternWindows) window.chains.grow(capacity);
    });
  }

  get size(): number {
    return this.count;
  }

  /** A new version of an order for its customer: that row's old contribution is retracted and the new one added. */
  upsert(order: SourceOrder, sourceTsMs: number | null): ApplyResult {
    this.settleRestore();
    const customer = this.tables.customer(order.customerId);
    if (!customer) return { blocked: `customer ${order.customerId} of order ${order.id} not found` };
    const product = this.tables.product(order.productId);
    if (!product) return { blocked: `product ${order.productId} of order ${order.id} not found` };
    return { emissions: this.replace({ customerId: order.customerId, orderId: order.id }, this.entryFor(order, customer, product), sourceTsMs) };
  }

  /** A deleted order, or one that left this customer: everything the (customer, order) row contributed is retracted. */
  delete(orderId: number, customerId: number, sourceTsMs: number | null = null): readonly Emission[] {
    this.settleRestore();
    return this.replace({ customerId, orderId }, undefined, sourceTsMs);
  }

  /**
   * A delete that does not name its customer (the repartition format before customers were
   * carried): it was routed to the old customer's partition, so it retracts the rows of that
   * order whose customer belongs there. A scan, but only records written by an older version take it.
   */
  deleteWhere(orderId: number, customerBelongsHere: (customerId: number) => boolean): readonly Emission[] {
    const emissions: Emission[] = [];
    for (const customerId of [...this.customerHeads.keys()]) {
      if (this.slotOf.get(customerId, orderId) !== undefined && customerBelongsHere(customerId)) emissions.push(...this.delete(orderId, customerId));
    }
    return emissions;
  }

  /** A customer changed (e.g. its tier): every order that joins it is recomputed. */
  customerChanged(customerId: number): readonly Emission[] {
    this.settleRestore();
    const head = this.customerHeads.get(customerId);
    return head === undefined ? [] : this.recompute(this.customerChains.members(head).map((slot) => this.rows.ref(slot)));
  }

  /** A product changed (e.g. its category): every order that joins it is recomputed. */
  productChanged(productId: number): readonly Emission[] {
    this.settleRestore();
    const head = this.productHeads.get(productId);
    return head === undefined ? [] : this.recompute(this.productChains.members(head).map((slot) => this.rows.ref(slot)));
  }

  /**
   * Recomputes every order whose join inputs differ from the tables (after a restart). The
   * escalation alert of a stale order was computed before the restart with a tier change time
   * the tables no longer hold, so what was emitted is unknown: an order whose final could have
   * matched, of a customer with a change time, is tombstoned first and recomputed (the last
   * write of a key wins in a transaction).
   */
  reconcileAll(): readonly Emission[] {
    this.settleRestore();
    const stale: OrderRef[] = [];
    const unknown: Emission[] = [];
    for (const [customerId, head] of this.customerHeads) {
      for (const slot of this.customerChains.members(head)) {
        const entry = this.rows.read(slot);
        const orderId = this.rows.ref(slot).orderId;
        const p = entry.processed;
        if (!p) {
          if (this.tables.customer(entry.orphan.customerId) && this.tables.product(entry.orphan.productId)) stale.push({ customerId, orderId });
          continue;
        }
        const customer = this.tables.customer(p.customerId);
        if (customer?.tier !== p.customerTier || this.tables.product(p.productId)?.category !== p.productCategory) {
          stale.push({ customerId, orderId });
          // A row whose record said what its escalation was evaluated with: the state holds exactly what was emitted, and the recompute emits the difference.
          if (entry.tierChangedAt !== undefined) continue;
          // The trigger never clears a change time: a customer without one never had an alert.
          const changed = this.tables.customer(customerId)?.tierChangedAt;
          for (const pattern of this.escalations) {
            if (changed === null || changed === undefined || p.finalCents <= pattern.totalAboveCents) continue;
            this.escalationAlerts.delete(escalationSlot(customerId, orderId, pattern.name));
            unknown.push({ kind: 'alert', orderId, customerId, pattern: pattern.name, alert: null });
          }
        } else if (this.escalations.length > 0 && entry.tierChangedAt !== undefined && entry.tierChangedAt !== (customer.tierChangedAt ?? null)) {
          // The tier went and came back while no worker ran (A → B → A): the row is the same, its escalation may not be.
          stale.push({ customerId, orderId });
        }
      }
    }
    return [...unknown, ...this.recompute(stale)];
  }

  /**
   * Restores one contributing order from the output topic (its latest committed processed row),
   * with the tier change time its record says its escalation was evaluated with (undefined when
   * the record predates that field), so the state holds exactly the alerts that were emitted.
   */
  restore(processed: ProcessedOrder, tierChangedAt?: number | null): void {
    this.restoring(() => this.replace({ customerId: processed.customerId, orderId: processed.orderId }, tierChangedAt === undefined ? { processed } : { processed, tierChangedAt }, null, true));
  }

  /** A tombstone read while restoring: the (customer, order) row is not live (emits nothing, as `restore`). */
  restoreTombstone(orderId: number, customerId: number): void {
    this.restoring(() => this.replace({ customerId, orderId }, undefined, null, true));
  }

  private restoring(apply: () => void): void {
    this.deferringPatterns((this.restoredPatterns ??= new Map()), apply);
  }

  /** Runs `apply` with the pattern windows it touches collected into `into` instead of evaluated. */
  private deferringPatterns(into: Map<number, number[]>, apply: () => void): void {
    this.deferredPatterns = into;
    try {
      apply();
    } finally {
      this.deferredPatterns = null;
    }
  }

  /** Evaluates each collected window once, from its state before the deferral to its state now. */
  private evaluateDeferred(deferred: ReadonlyMap<number, readonly number[]>, emissions: Emission[]): void {
    for (const [customerId, createdAts] of deferred) this.updatePatterns(customerId, createdAts, emissions);
  }

  /** Evaluates once each pattern window the restore touched; what it would emit was emitted before the restart. */
  private settleRestore(): void {
    const restored = this.restoredPatterns;
    if (!restored) return;
    this.restoredPatterns = null;
    this.evaluateDeferred(restored, []);
  }

  summary(customerId: number, windowStartMs: number): SummaryAccumulator | undefined {
    return this.summaries.get(customerId, windowStartMs);
  }

  /** The processed row the state holds for an order under a customer (null while it waits for a reference). */
  processed(orderId: number, customerId: number): ProcessedOrder | null | undefined {
    const slot = this.slotOf.get(customerId, orderId);
    return slot === undefined ? undefined : this.rows.read(slot).processed;
  }

  private recompute(refs: readonly OrderRef[]): Emission[] {
    const emissions: Emission[] = [];
    const deferred = new Map<number, number[]>();
    this.deferringPatterns(deferred, () => {
      for (const ref of refs) {
        const slot = this.slotOf.get(ref.customerId, ref.orderId);
        if (slot === undefined) continue;
        const order = orderOf(this.rows.read(slot));
        const customer = this.tables.customer(order.customerId);
        const product = this.tables.product(order.productId);
        // A referenced row that disappeared: the order stops contributing until it comes back.
        const next = customer && product ? this.entryFor(order, customer, product) : { processed: null, orphan: order };
        emissions.push(...this.replace(ref, next, null));
      }
    });
    this.evaluateDeferred(deferred, emissions);
    return emissions;
  }

  /** The entry for a joined order; undefined when it contributes nothing (cancelled). */
  private entryFor(order: SourceOrder, customer: CustomerRow, product: ProductRow): OrderEntry | undefined {
    const processed = processOrder(order, customer, product, this.rules);
    return processed ? { processed, tierChangedAt: customer.tierChangedAt ?? null } : undefined;
  }

  /**
   * Puts `next` (undefined: nothing) in the place of the (customer, order) row and returns the
   * output keys that changed. `restoring`: what it would emit was emitted before the restart, so
   * only the state is kept (a restore reads every live row; building its emissions was a third of it).
   */
  private replace(ref: OrderRef, next: OrderEntry | undefined, sourceTsMs: number | null, restoring = false): Emission[] {
    const { customerId, orderId } = ref;
    const slot = this.slotOf.get(customerId, orderId);
    const old = slot === undefined ? undefined : this.rows.read(slot);
    if (!old && !next) return [];
    const emissions: Emission[] = [];
    // Each touched window with its value before this change, so an unchanged one is not re-emitted.
    const touched = restoring ? undefined : new Map<number, { readonly windowStartMs: number; readonly before: SummaryAccumulator | undefined }>();
    // Unindexed before the slot is overwritten: the indexes find a slot by what it holds.
    if (slot !== undefined && old) {
      this.unindexProduct(slot);
      if (old.processed) {
        this.contribute(old.processed, retractContribution, touched);
        this.unindexPatterns(slot, old.processed);
      }
    }
    if (next) {
      let target = slot;
      if (target === undefined) {
        target = this.rows.add(next);
        this.slotOf.set(customerId, orderId, target);
        this.customerHeads.set(customerId, this.customerChains.link(target, this.customerHeads.get(customerId) ?? NO_SLOT));
        this.count++;
      } else this.rows.write(target, next);
      this.indexProduct(target);
      if (next.processed) {
        this.contribute(next.processed, addContribution, touched);
        this.indexPatterns(target, next.processed);
      }
    } else if (slot !== undefined) {
      this.slotOf.delete(customerId, orderId);
      const head = this.customerChains.unlink(slot, this.customerHeads.get(customerId) ?? slot);
      if (head === NO_SLOT) this.customerHeads.delete(customerId);
      else this.customerHeads.set(customerId, head);
      this.rows.remove(slot);
      this.count--;
    }
    const oldRow = old?.processed ?? null;
    const newRow = next?.processed ?? null;
    // The tier change time its escalation is evaluated with: the one the entry says, else the table's.
    const tierChangedAt = next?.processed ? (next.tierChangedAt !== undefined ? next.tierChangedAt : (this.tables.customer(customerId)?.tierChangedAt ?? null)) : null;
    if (touched === undefined) {
      // Restoring. The live escalation alerts are state (what was emitted); the emissions themselves are dropped.
      if (this.escalations.length > 0) this.updateEscalations(ref, newRow, tierChangedAt, emissions);
      if (this.windowed.length > 0 && !sameRow(oldRow, newRow)) this.deferPatterns(customerId, oldRow, newRow);
      return [];
    }
    const oldTierChangedAt = old?.processed ? old.tierChangedAt : undefined;
    // Re-emitted also when only that time moved, so the record always says what its alerts were evaluated with.
    if (!sameRow(oldRow, newRow) || (newRow !== null && oldTierChangedAt !== tierChangedAt)) emissions.push({ kind: 'processed', orderId, customerId, row: newRow, sourceTsMs, ...(newRow ? { tierChangedAt } : {}) });
    const oldAlert = oldRow ? fraudAlertFor(oldRow, this.rules) : null;
    const newAlert = newRow ? fraudAlertFor(newRow, this.rules) : null;
    if (!sameAlert(oldAlert, newAlert)) emissions.push({ kind: 'alert', orderId, customerId, pattern: '', alert: newAlert });
    // Not only when the row changed: the customer's tier change time is no part of the row.
    if (this.escalations.length > 0) this.updateEscalations(ref, newRow, tierChangedAt, emissions);
    for (const { windowStartMs, before } of touched.values()) {
      const after = this.summaries.get(customerId, windowStartMs);
      if (!sameSummary(before, after)) emissions.push({ kind: 'summary', customerId, windowStartMs, summary: after ?? null });
    }
    if (this.windowed.length > 0 && !sameRow(oldRow, newRow)) {
      if (this.deferredPatterns) this.deferPatterns(customerId, oldRow, newRow);
      else this.updatePatterns(customerId, createdAtsOf(oldRow, newRow), emissions);
    }
    if (this.fanIn) contributionChanges(oldRow, newRow, emissions);
    return emissions;
  }

  /** Notes a customer's changed rows for the pattern evaluation a deferral runs at its end. */
  private deferPatterns(customerId: number, oldRow: ProcessedOrder | null, newRow: ProcessedOrder | null): void {
    const deferred = this.deferredPatterns;
    if (!deferred) throw new Error('deferPatterns outside a deferral');
    const createdAts = deferred.get(customerId);
    if (createdAts) createdAts.push(...createdAtsOf(oldRow, newRow));
    else deferred.set(customerId, createdAtsOf(oldRow, newRow));
  }

  /** Evaluates the escalation patterns of one (customer, order) row against its customer's last tier change, emitting what changed. */
  private updateEscalations(ref: OrderRef, row: ProcessedOrder | null, tierChangedAt: number | null, emissions: Emission[]): void {
    for (const pattern of this.escalations) {
      const slot = escalationSlot(ref.customerId, ref.orderId, pattern.name);
      const before = this.escalationAlerts.get(slot) ?? null;
      const after = row ? escalationAlert(pattern, row, tierChangedAt) : null;
      if (sameAlert(before, after)) continue;
      if (after) this.escalationAlerts.set(slot, after);
      else this.escalationAlerts.delete(slot);
      emissions.push({ kind: 'alert', orderId: ref.orderId, customerId: ref.customerId, pattern: pattern.name, alert: after });
    }
  }

  /** The live escalation alert of an order under a customer, if any (for tests and tools). */
  escalationAlert(orderId: number, customerId: number, pattern: string): FraudAlert | undefined {
    return this.escalationAlerts.get(escalationSlot(customerId, orderId, pattern));
  }

  /** Links a slot into the window of each windowed pattern its row falls in. */
  private indexPatterns(slot: number, row: ProcessedOrder): void {
    this.windowed.forEach((pattern, i) => {
      const { chains, heads } = this.patternWindows[i]!;
      const key = windowKey(patternWindowStart(pattern, row.createdAt));
      heads.set(row.customerId, key, chains.link(slot, heads.get(row.customerId, key) ?? NO_SLOT));
    });
  }

  /** Unlinks a slot from the windows `row` (what it holds) placed it in. */
  private unindexPatterns(slot: number, row: ProcessedOrder): void {
    this.windowed.forEach((pattern, i) => {
      const { chains, heads } = this.patternWindows[i]!;
      const key = windowKey(patternWindowStart(pattern, row.createdAt));
      const head = heads.get(row.customerId, key);
      if (head === undefined) return;
      const after = chains.unlink(slot, head);
      if (after === NO_SLOT) heads.delete(row.customerId, key);
      else heads.set(row.customerId, key, after);
    });
  }

  /** The live rows of a customer's window of the `i`th windowed pattern. */
  private windowRows(i: number, customerId: number, windowStartMs: number): ProcessedOrder[] {
    const { chains, heads } = this.patternWindows[i]!;
    const head = heads.get(customerId, windowKey(windowStartMs));
    return head === undefined ? [] : chains.members(head).map((slot) => this.rows.processedAt(slot));
  }

  /** The live pattern alert of a customer's window, if any (for tests and tools). */
  patternAlert(customerId: number, pattern: string, windowStartMs: number): FraudAlert | undefined {
    this.settleRestore();
    return this.patternAlerts.get(patternSlot(customerId, pattern, windowStartMs));
  }

  /**
   * Re-evaluates every pattern window of the customer that a changed row was or is in, from the
   * customer's live orders (so a cancelled, deleted or moved order is simply no longer there),
   * and emits what changed: an alert whose anchor order changed is a tombstone of the old key
   * and the new alert; one that no longer holds is a tombstone.
   */
  private updatePatterns(customerId: number, createdAts: readonly number[], emissions: Emission[]): void {
    for (const [i, pattern] of this.windowed.entries()) {
      const starts = new Set<number>();
      for (const createdAt of createdAts) starts.add(patternWindowStart(pattern, createdAt));
      for (const windowStartMs of starts) {
        const slot = patternSlot(customerId, pattern.name, windowStartMs);
        const inWindow = this.windowRows(i, customerId, windowStartMs);
        const before = this.patternAlerts.get(slot) ?? null;
        const after = patternAlert(pattern, customerId, windowStartMs, inWindow);
        if (sameAlert(before, after)) continue;
        if (after) this.patternAlerts.set(slot, after);
        else this.patternAlerts.delete(slot);
        if (before && before.orderId !== after?.orderId) emissions.push({ kind: 'alert', orderId: before.orderId, customerId, pattern: pattern.name, alert: null });
        if (after) emissions.push({ kind: 'alert', orderId: after.orderId, customerId, pattern: pattern.name, alert: after });
      }
    }
  }

  /** Adds or retracts a row's part of its window; `touched` (by window start; one customer per change) keeps each window's value before the change. */
  private contribute(
    row: ProcessedOrder,
    op: (acc: SummaryAccumulator, p: Pick<ProcessedOrder, 'amountCents' | 'finalCents'>) => SummaryAccumulator,
    touched: Map<number, { readonly windowStartMs: number; readonly before: SummaryAccumulator | undefined }> | undefined,
  ): void {
    const windowStartMs = windowStartFor(row.createdAt, this.rules.windowMinutes);
    const current = this.summaries.get(row.customerId, windowStartMs);
    if (touched && !touched.has(windowStartMs)) touched.set(windowStartMs, { windowStartMs, before: current });
    this.summaries.set(row.customerId, windowStartMs, op(current ?? EMPTY_SUMMARY, row));
  }

  private indexProduct(slot: number): void {
    const productId = this.rows.productId(slot);
    this.productHeads.set(productId, this.productChains.link(slot, this.productHeads.get(productId) ?? NO_SLOT));
  }

  private unindexProduct(slot: number): void {
    const productId = this.rows.productId(slot);
    const head = this.productHeads.get(productId);
    if (head === undefined) return;
    const after = this.productChains.unlink(slot, head);
    if (after === NO_SLOT) this.productHeads.delete(productId);
    else this.productHeads.set(productId, after);
  }
}

/** The creation times of a change's old and new rows (those that exist): what places them in windows. */
function createdAtsOf(oldRow: ProcessedOrder | null, newRow: ProcessedOrder | null): number[] {
  const createdAts: number[] = [];
  if (oldRow) createdAts.push(oldRow.createdAt);
  if (newRow) createdAts.push(newRow.createdAt);
  return createdAts;
}

/**
 * What a row's change does to its fan-in contribution (stage 3's input): the part of a live
 * NEW-tier row, keyed by everything that places it. A row that stops counting (cancelled, deleted,
 * moved, its customer no longer NEW) or moves to another key (product, created_at) tombstones the
 * old key; a new or changed part is written under its key.
 */
function contributionChanges(oldRow: ProcessedOrder | null, newRow: ProcessedOrder | null, emissions: Emission[]): void {
  const before = oldRow && countsForFanIn(oldRow) ? oldRow : null;
  const after = newRow && countsForFanIn(newRow) ? newRow : null;
  const sameKey = before !== null && after !== null && before.productId === after.productId && before.createdAt === after.createdAt;
  if (before && !sameKey) emissions.push({ kind: 'contribution', ...contributionKeyOf(before), finalCents: null });
  if (after && !(sameKey && before.finalCents === after.finalCents)) emissions.push({ kind: 'contribution', ...contributionKeyOf(after), finalCents: after.finalCents });
}

function contributionKeyOf(row: ProcessedOrder): ContributionKey {
  return { productId: row.productId, orderId: row.orderId, customerId: row.customerId, createdAt: row.createdAt };
}

/** One state entry: an order as one customer's row. */
interface OrderRef {
  readonly customerId: number;
  readonly orderId: number;
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

function sameSummary(a: SummaryAccumulator | undefined, b: SummaryAccumulator | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.orderCount === b.orderCount && a.totalAmountCents === b.totalAmountCents && a.totalFinalCents === b.totalFinalCents;
}

function patternSlot(customerId: number, pattern: string, windowStartMs: number): string {
  return `${customerId}|${pattern}|${windowStartMs}`;
}

function escalationSlot(customerId: number, orderId: number, pattern: string): string {
  return `${customerId}/${orderId}|${pattern}`;
}



