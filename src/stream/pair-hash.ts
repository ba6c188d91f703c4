/**
 * A number for each pair of numbers (customer and order → slot, customer and window → slot,
 * order → customer), in an open-addressing hash table over typed arrays: off the JavaScript heap,
 * so the garbage collector neither marks it nor grows the heap in proportion to it (V8 lets the
 * heap reach 1.6-4× what is live before a full collection; as nested Maps a million entries cost
 * ~40 MB live and two or three times that in resident memory).
 *
 * Ids, slots and minute keys are 32-bit integers, so the table holds 32-bit keys and values: 12
 * bytes a bucket. A pair or value that is not one (a bigint id past 2^31, a fraction) goes to a
 * Map beside it: always right, only slower and larger for such keys.
 *
 * Linear probing with Robin Hood placement, at most 9/10 full, deletion by shifting the run back
 * (no tombstones).
 */
export class PairHash {
  private mask: number;
  private firsts: Int32Array;
  private seconds: Int32Array;
  /** EMPTY: a free bucket. */
  private values: Int32Array;
  private count = 0;
  private readonly others = new Map<string, number>();

  constructor(initialCapacity = 1024) {
    const capacity = 2 ** Math.ceil(Math.log2(Math.max(16, initialCapacity)));
    this.mask = capacity - 1;
    this.firsts = new Int32Array(capacity);
    this.seconds = new Int32Array(capacity);
    this.values = new Int32Array(capacity).fill(EMPTY);
  }

  get size(): number {
    return this.count + this.others.size;
  }

  get(a: number, b: number): number | undefined {
    if (isInt32(a) && isInt32(b)) {
      const at = this.find(a, b);
      if (at >= 0) return this.values[at];
    }
    return this.others.size === 0 ? undefined : this.others.get(otherKey(a, b));
  }

  set(a: number, b: number, value: number): void {
    if (Number.isNaN(a) || Number.isNaN(b)) throw new Error(`PairHash cannot key on NaN (${a}, ${b})`);
    if (!(isInt32(a) && isInt32(b) && isInt32(value) && value !== EMPTY)) {
      this.deleteHere(a, b);
      this.others.set(otherKey(a, b), value);
      return;
    }
    if (this.others.size > 0) this.others.delete(otherKey(a, b));
    // Robin Hood: an entry farther from its home than the one in a bucket takes the bucket, and the
    // displaced one moves on. Probe lengths stay even, so the table can run 9/10 full.
    // One probe finds (a, b) or places it: (a, b) can only sit before the first bucket it would
    // take (where `find` stops too). Plain swaps: destructuring allocated an array per swap.
    let first = a;
    let second = b;
    let held = value;
    let displaced = false;
    for (let at = pairHash(a, b) & this.mask, distance = 0; ; at = (at + 1) & this.mask, distance++) {
      if (this.values[at] === EMPTY) {
        this.firsts[at] = first;
        this.seconds[at] = second;
        this.values[at] = held;
        break;
      }
      if (!displaced && this.firsts[at] === a && this.seconds[at] === b) {
        this.values[at] = value;
        return;
      }
      const residentDistance = this.distance(at);
      if (residentDistance < distance) {
        displaced = true;
        const residentFirst = this.firsts[at]!;
        const residentSecond = this.seconds[at]!;
        const residentValue = this.values[at]!;
        this.firsts[at] = first;
        this.seconds[at] = second;
        this.values[at] = held;
        first = residentFirst;
        second = residentSecond;
        held = residentValue;
        distance = residentDistance;
      }
    }
    this.count++;
    if (this.count * 10 > this.values.length * 9) this.rehash(this.values.length * 2);
  }

  delete(a: number, b: number): void {
    this.deleteHere(a, b);
    if (this.others.size > 0) this.others.delete(otherKey(a, b));
  }

  /** Deletes from the table itself (not from `others`). */
  private deleteHere(a: number, b: number): void {
    if (!(isInt32(a) && isInt32(b))) return;
    let hole = this.find(a, b);
    if (hole < 0) return;
    this.values[hole] = EMPTY;
    this.count--;
    // Shifts the rest of the run back by one, up to an empty bucket or an entry already at its home.
    for (let at = (hole + 1) & this.mask; this.values[at] !== EMPTY && this.distance(at) > 0; at = (at + 1) & this.mask) {
      this.firsts[hole] = this.firsts[at]!;
      this.seconds[hole] = this.seconds[at]!;
      this.values[hole] = this.values[at]!;
      this.values[at] = EMPTY;
      hole = at;
    }
  }

  /** The bucket holding (a, b), or -1. A search stops at an entry nearer its home than the search is to (a, b)'s: Robin Hood would have placed (a, b) there. */
  private find(a: number, b: number): number {
    for (let at = pairHash(a, b) & this.mask, distance = 0; ; at = (at + 1) & this.mask, distance++) {
      if (this.values[at] === EMPTY) return -1;
      if (this.firsts[at] === a && this.seconds[at] === b) return at;
      if (this.distance(at) < distance) return -1;
    }
  }

  /** How far the entry in bucket `at` is from its home bucket. */
  private distance(at: number): number {
    return (at - (pairHash(this.firsts[at]!, this.seconds[at]!) & this.mask)) & this.mask;
  }

  private rehash(capacity: number): void {
    const { firsts, seconds, values } = this;
    this.mask = capacity - 1;
    this.firsts = new Int32Array(capacity);
    this.seconds = new Int32Array(capacity);
    this.values = new Int32Array(capacity).fill(EMPTY);
    this.count = 0;
    for (let at = 0; at < values.length; at++) {
      const value = values[at]!;
      if (value !== EMPTY) this.set(firsts[at]!, seconds[at]!, value);
    }
  }
}

/** The one 32-bit value a bucket cannot hold: it marks the bucket free. */
const EMPTY = -0x80000000;

/** Whether a number is a 32-bit integer (-0 counts as 0, as === has it). */
function isInt32(n: number): boolean {
  return (n | 0) === n;
}

function otherKey(a: number, b: number): string {
  return `${a}|${b}`;
}

/** Murmur3's finaliser over both 32-bit keys: consecutive ids spread over the table. */
function pairHash(a: number, b: number): number {
  let h = Math.imul(a, 0x9e3779b1) ^ b;
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
 * 32-bit integer (held in the table itself) where the start in milliseconds is not.
 */
export function windowKey(windowStartMs: number): number {
  return windowStartMs / MINUTE_MS;
}

/** The start (epoch ms) of the window a windowKey names. */
export function windowStartOf(key: number): number {
  return key * MINUTE_MS;
}
