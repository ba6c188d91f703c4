import type { SummaryAccumulator } from '../domain/windows.ts';
import { PairHash, windowKey } from './pair-hash.ts';
import { growFloat64, growInt32 } from './typed-growth.ts';

/**
 * The live summary of each (customer, window), in columns by slot (a worker holds about one per
 * live order when orders are sparse in time). Read back as new objects, which die young.
 */
export class SummaryTable {
  private readonly slots = new PairHash();
  private orderCount = new Int32Array(0);
  private totalAmountCents = new Float64Array(0);
  private totalFinalCents = new Float64Array(0);
  private readonly freeSlots: number[] = [];
  private used = 0;

  get(customerId: number, windowStartMs: number): SummaryAccumulator | undefined {
    const slot = this.slots.get(customerId, windowKey(windowStartMs));
    if (slot === undefined) return undefined;
    return { orderCount: this.orderCount[slot]!, totalAmountCents: this.totalAmountCents[slot]!, totalFinalCents: this.totalFinalCents[slot]! };
  }

  /** Puts the window's summary; one with no orders is removed (the window row no longer exists). */
  set(customerId: number, windowStartMs: number, summary: SummaryAccumulator): void {
    const key = windowKey(windowStartMs);
    let slot = this.slots.get(customerId, key);
    if (summary.orderCount === 0) {
      if (slot === undefined) return;
      this.slots.delete(customerId, key);
      this.freeSlots.push(slot);
      return;
    }
    if (slot === undefined) {
      slot = this.freeSlots.pop() ?? this.used++;
      if (slot >= this.orderCount.length) this.grow(Math.max(1024, this.orderCount.length * 2));
      this.slots.set(customerId, key, slot);
    }
    this.orderCount[slot] = summary.orderCount;
    this.totalAmountCents[slot] = summary.totalAmountCents;
    this.totalFinalCents[slot] = summary.totalFinalCents;
  }

  private grow(capacity: number): void {
    this.orderCount = growInt32(this.orderCount, capacity);
    this.totalAmountCents = growFloat64(this.totalAmountCents, capacity);
    this.totalFinalCents = growFloat64(this.totalFinalCents, capacity);
  }
}
