/**
 * A number for each pair of numbers (customer and order → slot, customer and window → slot,
 * order → customer), in an open-addressing hash table over typed arrays: off the JavaScript heap,
 * so the garbage collector neither marks it nor grows the heap in proportion to it (V8 lets the
 * heap reach 1.6-4× what is live before a full collection; as nested Maps a million entries cost
 * ~40 MB live and two or three times that in resident memory).
 *
 * Linear probing, at most 3/4 full, deletion by shifting the run back (no tombstones). Keys are
 * any numbers but NaN; values any numbers but NaN.
 */
export class PairHash {
  private mask: number;
  private firsts: Float64Array;
  private seconds: Float64Array;
  /** NaN: an empty bucket. */
  private values: Float64Array;
  private count = 0;

  constructor(initialCapacity = 1024) {
    const capacity = 2 ** Math.ceil(Math.log2(Math.max(16, initialCapacity)));
    this.mask = capacity - 1;
    this.firsts = new Float64Array(capacity);
    this.seconds = new Float64Array(capacity);
    this.values = new Float64Array(capacity).fill(Number.NaN);
  }

  get size(): number {
    return this.count;
  }

  get(a: number, b: number): number | undefined {
    const at = this.find(a, b);
    return at < 0 ? undefined : this.values[at];
  }

  set(a: number, b: number, value: number): void {
    if (Number.isNaN(value) || Number.isNaN(a) || Number.isNaN(b)) throw new Error(`PairHash cannot hold NaN (${a}, ${b}) → ${value}`);
    let at = pairHash(a, b) & this.mask;
    for (;;) {
      const held = this.values[at]!;
      if (held !== held) break; // empty (NaN)
      if (this.firsts[at] === a && this.seconds[at] === b) {
        this.values[at] = value;
        return;
      }
      at = (at + 1) & this.mask;
    }
    this.firsts[at] = a;
    this.seconds[at] = b;
    this.values[at] = value;
    this.count++;
    if (this.count * 4 > this.values.length * 3) this.rehash(this.values.length * 2);
  }

  delete(a: number, b: number): void {
    let hole = this.find(a, b);
    if (hole < 0) return;
    this.values[hole] = Number.NaN;
    this.count--;
    // Moves back each entry of the run after the hole that would no longer be found past it.
    for (let at = (hole + 1) & this.mask; ; at = (at + 1) & this.mask) {
      const held = this.values[at]!;
      if (held !== held) return;
      const home = pairHash(this.firsts[at]!, this.seconds[at]!) & this.mask;
      // The entry stays when its home lies cyclically in (hole, at]: it is still reachable from there.
      const reachable = hole <= at ? hole < home && home <= at : hole < home || home <= at;
      if (reachable) continue;
      this.firsts[hole] = this.firsts[at]!;
      this.seconds[hole] = this.seconds[at]!;
      this.values[hole] = held;
      this.values[at] = Number.NaN;
      hole = at;
    }
  }

  /** Calls `visit` for every entry (in no particular order); the table must not change meanwhile. */
  forEach(visit: (a: number, b: number, value: number) => void): void {
    for (let at = 0; at < this.values.length; at++) {
      const value = this.values[at]!;
      if (value === value) visit(this.firsts[at]!, this.seconds[at]!, value);
    }
  }

  private find(a: number, b: number): number {
    let at = pairHash(a, b) & this.mask;
    for (;;) {
      const held = this.values[at]!;
      if (held !== held) return -1;
      if (this.firsts[at] === a && this.seconds[at] === b) return at;
      at = (at + 1) & this.mask;
    }
  }

  private rehash(capacity: number): void {
    const { firsts, seconds, values } = this;
    this.mask = capacity - 1;
    this.firsts = new Float64Array(capacity);
    this.seconds = new Float64Array(capacity);
    this.values = new Float64Array(capacity).fill(Number.NaN);
    this.count = 0;
    for (let at = 0; at < values.length; at++) {
      const value = values[at]!;
      if (value === value) this.set(firsts[at]!, seconds[at]!, value);
    }
  }
}

const scratch = new Float64Array(1);
const scratchWords = new Uint32Array(scratch.buffer);

/** 32 bits of a number: itself when it is a 32-bit integer (ids and minute keys are), else its two words mixed. */
function numberBits(n: number): number {
  if ((n | 0) === n) return n | 0;
  scratch[0] = n;
  return Math.imul(scratchWords[0]! ^ 0x2c1b3c6d, 0x297a2d39) ^ scratchWords[1]!;
}

/** Murmur3's finaliser over both numbers' bits: consecutive ids spread over the table. */
function pairHash(a: number, b: number): number {
  let h = Math.imul(numberBits(a), 0x9e3779b1) ^ numberBits(b);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/** One number for each number (order → customer): a PairHash whose second number is always 0. */
export class NumberHash {
  private readonly pairs = new PairHash();

  get size(): number {
    return this.pairs.size;
  }

  get(key: number): number | undefined {
    return this.pairs.get(key, 0);
  }

  set(key: number, value: number): void {
    this.pairs.set(key, 0, value);
  }

  delete(key: number): void {
    this.pairs.delete(key, 0);
  }
}

const MINUTE_MS = 60_000;

/**
 * The key of a window in a PairHash: its start in minutes. Windows are whole minutes, so this is a
 * 32-bit integer (hashed as it is) where the start in milliseconds is not.
 */
export function windowKey(windowStartMs: number): number {
  return windowStartMs / MINUTE_MS;
}

/** The start (epoch ms) of the window a windowKey names. */
export function windowStartOf(key: number): number {
  return key * MINUTE_MS;
}
