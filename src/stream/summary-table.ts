import type { SummaryAccumulator } from '../domain/windows.ts';
import { NumberColumns } from './number-columns.ts';
import { PairHash, windowKey } from './pair-hash.ts';

/**
 * The live summary of each (customer, window), in columns by slot (a worker holds about one per
 * live order when orders are sparse in time). Read back as new objects, which die young.
 */
export class SummaryTable {
  private readonly slots = new PairHash();
  private readonly rows = new NumberColumns<keyof SummaryAccumulator>(['orderCount', 'totalAmountCents', 'totalFinalCents']);

  get(customerId: number, windowStartMs: number): SummaryAccumulator | undefined {
    const slot = this.slots.get(customerId, windowKey(windowStartMs));
    if (slot === undefined) return undefined;
    return { orderCount: this.rows.value(slot, 'orderCount'), totalAmountCents: this.rows.value(slot, 'totalAmountCents'), totalFinalCents: this.rows.value(slot, 'totalFinalCents') };
  }

  /** Puts the window's summary; one with no orders is removed (the window row no longer exists). */
  set(customerId: number, windowStartMs: number, summary: SummaryAccumulator): void {
    const key = windowKey(windowStartMs);
    const slot = this.slots.get(customerId, key);
    if (summary.orderCount === 0) {
      if (slot === undefined) return;
      this.slots.delete(customerId, key);
      this.rows.remove(slot);
    } else if (slot === undefined) this.slots.set(customerId, key, this.rows.add(summary));
    else this.rows.write(slot, summary);
  }
}
