/**
 * A number for each pair of numbers (customer and order → slot, customer and window → slot), as
 * nested maps: with small-integer keys and values there is no key string or object per entry,
 * which is what a worker holding a million of them cannot afford.
 */
export class PairIndex {
  private readonly outer = new Map<number, Map<number, number>>();

  get(a: number, b: number): number | undefined {
    return this.outer.get(a)?.get(b);
  }

  set(a: number, b: number, value: number): void {
    const inner = this.outer.get(a);
    if (inner) inner.set(b, value);
    else this.outer.set(a, new Map([[b, value]]));
  }

  delete(a: number, b: number): void {
    const inner = this.outer.get(a);
    if (!inner) return;
    inner.delete(b);
    if (inner.size === 0) this.outer.delete(a);
  }

  /** Every pair under `a`, by its second number. */
  under(a: number): ReadonlyMap<number, number> | undefined {
    return this.outer.get(a);
  }

  /** Every first number with the pairs under it. */
  groups(): IterableIterator<[number, ReadonlyMap<number, number>]> {
    return this.outer.entries();
  }
}

const MINUTE_MS = 60_000;

/**
 * The key of a window in a PairIndex: its start in minutes. Windows are whole minutes, so this is
 * a small integer, where the start in milliseconds would be a boxed number on the heap per entry.
 */
export function windowKey(windowStartMs: number): number {
  return windowStartMs / MINUTE_MS;
}
