import { fanInAlert, patternWindowStart, type CompiledFanIn, type FanInContribution } from '../domain/patterns.ts';
import { sameAlert, type FraudAlert } from '../domain/process-order.ts';
import { NumberColumns } from './number-columns.ts';
import type { Emission } from './order-state.ts';
import { PairHash, windowKey, windowStartOf } from './pair-hash.ts';
import { NO_SLOT, SlotChains } from './slot-chains.ts';

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
  /**
   * The live contributions in columns, by slot: a worker holds one per live NEW-tier order of its
   * products, and as objects under string keys in nested maps each cost ~530 bytes of heap.
   */
  private readonly parts: NumberColumns<keyof Contribution>;
  /** (order, customer) → the chain of its parts (one, but for a moment when its product or created_at changes). */
  private readonly byOrder = new PairHash();
  private readonly orderChains = new SlotChains();
  /** Per pattern (as `patterns`): product → window (windowKey) → the chain of the window's parts. */
  private readonly windows: readonly { readonly heads: Map<number, Map<number, number>>; readonly chains: SlotChains }[];
  private count = 0;
  /** The live alert of each (pattern, product, window), by slot. */
  private readonly alerts = new Map<string, FraudAlert>();
  /** Windows restored but not evaluated yet: each is evaluated once when the restore ends, not once per record read. */
  private readonly restored = new Map<string, { readonly pattern: CompiledFanIn; readonly productId: number; readonly windowStartMs: number }>();
  private readonly patterns: readonly CompiledFanIn[];

  constructor(patterns: readonly CompiledFanIn[]) {
    this.patterns = patterns;
    this.windows = patterns.map(() => ({ heads: new Map(), chains: new SlotChains() }));
    this.parts = new NumberColumns(['productId', 'orderId', 'customerId', 'createdAt', 'finalCents'], (capacity) => {
      this.orderChains.grow(capacity);
      for (const window of this.windows) window.chains.grow(capacity);
    });
  }

  get size(): number {
    return this.count;
  }

  /** A contribution added or changed (finalCents), or retracted (null): re-evaluates its windows and returns the alert changes. */
  apply(key: ContributionKey, finalCents: number | null): readonly Emission[] {
    const old = this.find(key);
    if (finalCents === null && old === NO_SLOT) return this.repair(key);
    const oldFinalCents = old === NO_SLOT ? undefined : this.parts.value(old, 'finalCents');
    this.set(key, finalCents, old);
    if (oldFinalCents !== undefined && finalCents !== null && oldFinalCents === finalCents) return [];
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
    this.set(key, finalCents);
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

  /** The slot of the part with this key, or NO_SLOT. */
  private find(key: ContributionKey): number {
    const head = this.byOrder.get(key.orderId, key.customerId);
    if (head === undefined) return NO_SLOT;
    for (const slot of this.orderChains.members(head)) {
      if (this.parts.value(slot, 'productId') === key.productId && this.parts.value(slot, 'createdAt') === key.createdAt) return slot;
    }
    return NO_SLOT;
  }

  /** Puts the part (null: none) under its key (`old`: its slot, when the caller has found it); a changed part goes to the end of its windows, as a new one. */
  private set(key: ContributionKey, finalCents: number | null, old = this.find(key)): void {
    if (old !== NO_SLOT) {
      const head = this.orderChains.unlink(old, this.byOrder.get(key.orderId, key.customerId)!);
      if (head === NO_SLOT) this.byOrder.delete(key.orderId, key.customerId);
      else this.byOrder.set(key.orderId, key.customerId, head);
      this.patterns.forEach((pattern, i) => {
        const { heads, chains } = this.windows[i]!;
        const byWindow = heads.get(key.productId)!;
        const window = windowKey(patternWindowStart(pattern, key.createdAt));
        const after = chains.unlink(old, byWindow.get(window)!);
        if (after !== NO_SLOT) byWindow.set(window, after);
        else {
          byWindow.delete(window);
          if (byWindow.size === 0) heads.delete(key.productId);
        }
      });
      this.parts.remove(old);
      this.count--;
    }
    if (finalCents === null) return;
    const slot = this.parts.add({ productId: key.productId, orderId: key.orderId, customerId: key.customerId, createdAt: key.createdAt, finalCents });
    this.count++;
    this.byOrder.set(key.orderId, key.customerId, this.orderChains.link(slot, this.byOrder.get(key.orderId, key.customerId) ?? NO_SLOT));
    this.patterns.forEach((pattern, i) => {
      const { heads, chains } = this.windows[i]!;
      let byWindow = heads.get(key.productId);
      if (!byWindow) heads.set(key.productId, (byWindow = new Map()));
      const window = windowKey(patternWindowStart(pattern, key.createdAt));
      byWindow.set(window, chains.link(slot, byWindow.get(window) ?? NO_SLOT));
    });
  }

  /** The live parts of a product's window of the `i`th pattern, as new objects. */
  private windowParts(i: number, productId: number, windowStartMs: number): Contribution[] {
    const { heads, chains } = this.windows[i]!;
    const head = heads.get(productId)?.get(windowKey(windowStartMs));
    if (head === undefined) return [];
    return chains.members(head).map((slot) => ({
      productId: this.parts.value(slot, 'productId'),
      orderId: this.parts.value(slot, 'orderId'),
      customerId: this.parts.value(slot, 'customerId'),
      createdAt: this.parts.value(slot, 'createdAt'),
      finalCents: this.parts.value(slot, 'finalCents'),
    }));
  }

  /** Evaluates one window and emits what changed: a tombstone of an anchor that no longer holds the alert, and the alert. */
  private evaluate(pattern: CompiledFanIn, productId: number, windowStartMs: number, emissions: Emission[]): void {
    const slot = slotOf(pattern.name, productId, windowStartMs);
    const parts = this.windowParts(this.patterns.indexOf(pattern), productId, windowStartMs);
    const before = this.alerts.get(slot) ?? null;
    const after = parts.length > 0 ? fanInAlert(pattern, productId, windowStartMs, parts) : null;
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
    for (const [i, pattern] of this.patterns.entries()) {
      const windowStartMs = patternWindowStart(pattern, key.createdAt);
      const anchors = new Map<number, number>([[key.orderId, key.customerId]]);
      for (const p of this.windowParts(i, key.productId, windowStartMs)) anchors.set(p.orderId, p.customerId);
      for (const [orderId, customerId] of anchors) emissions.push({ kind: 'alert', orderId, customerId, pattern: pattern.name, alert: null });
      // Then every live alert of the product one of those keys anchors (this window's, or another's the order moved to), rewritten.
      for (const window of this.windows[i]!.heads.get(key.productId)?.keys() ?? []) {
        const live = this.alerts.get(slotOf(pattern.name, key.productId, windowStartOf(window)));
        if (live && anchors.get(live.orderId) === live.customerId) emissions.push({ kind: 'alert', orderId: live.orderId, customerId: live.customerId, pattern: pattern.name, alert: live });
      }
    }
    return emissions;
  }
}


function slotOf(pattern: string, productId: number, windowStartMs: number): string {
  return `${pattern}|${productId}|${windowStartMs}`;
}
