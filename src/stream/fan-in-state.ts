import { fanInAlert, patternWindowStart, type CompiledFanIn, type FanInContribution } from '../domain/patterns.ts';
import { sameAlert, type FraudAlert } from '../domain/process-order.ts';
import type { Emission } from './order-state.ts';
import { contributionKey } from './records.ts';

/**
 * The key of one NEW-tier order's part in fan-in, as stage 2 writes it to the product-keyed
 * changelog: the product (its partition), the (order, customer) row of stage 2 it comes from, and
 * its created_at, so a tombstone alone names the windows it leaves. A change of product or
 * created_at is a new key (and a tombstone of the old one).
 */
export interface ContributionKey {
  readonly productId: number;
  readonly orderId: number;
  readonly customerId: number;
  readonly createdAt: number;
}

type Contribution = ContributionKey & FanInContribution;

/**
 * Stage 3 of the processor, one worker's fan-in state for the product partitions it owns: the
 * live contributions (NEW-tier orders) of each (pattern, product, window), and the alert last
 * emitted for each, so a change emits exactly what changed. Pure: no I/O.
 */
export class FanInState {
  private readonly contributions = new Map<string, Contribution>();
  /** pattern → product → window start → contribution key → contribution. */
  private readonly windows = new Map<string, Map<number, Map<number, Map<string, Contribution>>>>();
  /** The live alert of each (pattern, product, window), by slot. */
  private readonly alerts = new Map<string, FraudAlert>();
  /** Windows restored but not evaluated yet: each is evaluated once when the restore ends, not once per record read. */
  private readonly restored = new Map<string, { readonly pattern: CompiledFanIn; readonly productId: number; readonly windowStartMs: number }>();
  private readonly patterns: readonly CompiledFanIn[];

  constructor(patterns: readonly CompiledFanIn[]) {
    this.patterns = patterns;
  }

  get size(): number {
    return this.contributions.size;
  }

  /** A contribution added or changed (finalCents), or retracted (null): re-evaluates its windows and returns the alert changes. */
  apply(key: ContributionKey, finalCents: number | null): readonly Emission[] {
    const id = contributionKey(key);
    const old = this.contributions.get(id);
    if (finalCents === null && old === undefined) return this.repair(key);
    this.set(id, key, finalCents);
    if (old !== undefined && finalCents !== null && old.finalCents === finalCents) return [];
    const emissions: Emission[] = [];
    for (const pattern of this.patterns) this.evaluate(pattern, key.productId, patternWindowStart(pattern, key.createdAt), emissions);
    return emissions;
  }

  /**
   * Restores a contribution read back from the changelog (its committed part only). The alerts
   * are recomputed, not emitted, by `finishRestore`: evaluating a window per record read would
   * cost O(n²) for a window of n parts.
   */
  restore(key: ContributionKey, finalCents: number | null): void {
    this.set(contributionKey(key), key, finalCents);
    for (const pattern of this.patterns) {
      const windowStartMs = patternWindowStart(pattern, key.createdAt);
      this.restored.set(slotOf(pattern.name, key.productId, windowStartMs), { pattern, productId: key.productId, windowStartMs });
    }
  }

  /** Computes the alerts of every window restored since the last call, without emitting them (they are what the committed output holds). */
  finishRestore(): void {
    for (const { pattern, productId, windowStartMs } of this.restored.values()) this.evaluate(pattern, productId, windowStartMs, []);
    this.restored.clear();
  }

  /** The live alert of a product's window, if any (for tests and tools). */
  alert(pattern: string, productId: number, windowStartMs: number): FraudAlert | undefined {
    return this.alerts.get(slotOf(pattern, productId, windowStartMs));
  }

  private set(id: string, key: ContributionKey, finalCents: number | null): void {
    const old = this.contributions.get(id);
    if (old) {
      this.contributions.delete(id);
      for (const pattern of this.patterns) {
        const byProduct = this.windows.get(pattern.name);
        const byWindow = byProduct?.get(key.productId);
        const windowStartMs = patternWindowStart(pattern, key.createdAt);
        const parts = byWindow?.get(windowStartMs);
        parts?.delete(id);
        if (parts?.size === 0) byWindow?.delete(windowStartMs);
        if (byWindow?.size === 0) byProduct?.delete(key.productId);
      }
    }
    if (finalCents === null) return;
    const next: Contribution = { productId: key.productId, orderId: key.orderId, customerId: key.customerId, createdAt: key.createdAt, finalCents };
    this.contributions.set(id, next);
    for (const pattern of this.patterns) {
      let byProduct = this.windows.get(pattern.name);
      if (!byProduct) this.windows.set(pattern.name, (byProduct = new Map()));
      let byWindow = byProduct.get(key.productId);
      if (!byWindow) byProduct.set(key.productId, (byWindow = new Map()));
      const windowStartMs = patternWindowStart(pattern, key.createdAt);
      let parts = byWindow.get(windowStartMs);
      if (!parts) byWindow.set(windowStartMs, (parts = new Map()));
      parts.set(id, next);
    }
  }

  /** Evaluates one window and emits what changed: a tombstone of an anchor that no longer holds the alert, and the alert. */
  private evaluate(pattern: CompiledFanIn, productId: number, windowStartMs: number, emissions: Emission[]): void {
    const slot = slotOf(pattern.name, productId, windowStartMs);
    const parts = this.windows.get(pattern.name)?.get(productId)?.get(windowStartMs);
    const before = this.alerts.get(slot) ?? null;
    const after = parts ? fanInAlert(pattern, productId, windowStartMs, [...parts.values()]) : null;
    if (sameAlert(before, after)) return;
    if (after) this.alerts.set(slot, after);
    else this.alerts.delete(slot);
    if (before && (before.orderId !== after?.orderId || before.customerId !== after.customerId)) {
      emissions.push({ kind: 'alert', orderId: before.orderId, customerId: before.customerId, pattern: pattern.name, alert: null });
    }
    if (after) emissions.push({ kind: 'alert', orderId: after.orderId, customerId: after.customerId, pattern: pattern.name, alert: after });
  }

  /**
   * A tombstone of a contribution the state does not hold. Stage 2 writes one only after a value
   * of that key, so either both were written in one transaction (its output keeps the last write
   * of a key: an order placed and cancelled within a commit interval), and the output never
   * counted the part; or the value was compacted away before this worker's committed offset while
   * the tombstone lies after it (the restore reads up to the committed offset), and what the
   * output holds for its windows was computed with the part. The two cannot be told apart, so
   * every order of the window and the retracted one, each a possible emitted anchor, is
   * tombstoned before the window's current alert is written (the last write of a key in a
   * transaction wins): right in both cases, at the price of a few tombstones of absent keys.
   */
  private repair(key: ContributionKey): readonly Emission[] {
    const emissions: Emission[] = [];
    for (const pattern of this.patterns) {
      const windowStartMs = patternWindowStart(pattern, key.createdAt);
      const parts = this.windows.get(pattern.name)?.get(key.productId)?.get(windowStartMs);
      const anchors = new Map<number, number>([[key.orderId, key.customerId]]);
      for (const p of parts?.values() ?? []) anchors.set(p.orderId, p.customerId);
      for (const [orderId, customerId] of anchors) emissions.push({ kind: 'alert', orderId, customerId, pattern: pattern.name, alert: null });
      // Then every live alert of the product one of those keys anchors (this window's, or another's the order moved to), rewritten.
      for (const start of this.windows.get(pattern.name)?.get(key.productId)?.keys() ?? []) {
        const live = this.alerts.get(slotOf(pattern.name, key.productId, start));
        if (live && anchors.get(live.orderId) === live.customerId) emissions.push({ kind: 'alert', orderId: live.orderId, customerId: live.customerId, pattern: pattern.name, alert: live });
      }
    }
    return emissions;
  }
}


function slotOf(pattern: string, productId: number, windowStartMs: number): string {
  return `${pattern}|${productId}|${windowStartMs}`;
}

