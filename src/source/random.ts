/** A source of uniform numbers in [0, 1); injected so seeds, plans and tests are reproducible. */
export type Random = () => number;

/**
 * mulberry32: a tiny 32-bit PRNG, good enough for workload shapes and fast on the hot path.
 * The same seed always yields the same sequence, which is what `load --seed` promises.
 */
export function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A whole number in [min, max], both inclusive. */
export function randomInt(random: Random, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

/** One element of a non-empty list, uniformly. */
export function pick<T>(random: Random, items: readonly T[]): T {
  if (items.length === 0) throw new Error('pick: the list is empty');
  return items[Math.floor(random() * items.length)] as T;
}

/** A key drawn with probability proportional to its weight; weights need not sum to 1. */
export function pickWeighted<K extends string>(random: Random, weights: Readonly<Record<K, number>>): K {
  const entries = Object.entries(weights) as [K, number][];
  const total = entries.reduce((sum, [, w]) => sum + w, 0);
  if (!(total > 0)) throw new Error('pickWeighted: the weights sum to zero');
  let point = random() * total;
  for (const [key, weight] of entries) {
    point -= weight;
    if (point < 0) return key;
  }
  // Only reachable through rounding at the very top of the range.
  return entries.findLast(([, w]) => w > 0)![0];
}
