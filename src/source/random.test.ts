import { describe, expect, it } from 'vitest';
import { mulberry32, pickWeighted, randomInt } from './random.ts';

describe('mulberry32', () => {
  it('repeats its sequence for a seed and differs between seeds', () => {
    const take = (seed: number) => {
      const random = mulberry32(seed);
      return Array.from({ length: 5 }, () => random());
    };
    expect(take(42)).toEqual(take(42));
    expect(take(42)).not.toEqual(take(43));
  });

  it('draws uniformly from [0, 1)', () => {
    const random = mulberry32(7);
    const buckets = new Array<number>(10).fill(0);
    let min = 1;
    let max = 0;
    for (let i = 0; i < 100_000; i += 1) {
      const value = random();
      min = Math.min(min, value);
      max = Math.max(max, value);
      buckets[Math.floor(value * 10)]! += 1;
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    for (const count of buckets) expect(count).toBeGreaterThan(9_500);
  });
});

describe('randomInt and pickWeighted', () => {
  it('stays inside the inclusive bounds and reaches both ends', () => {
    const random = mulberry32(1);
    const seen = new Set<number>();
    for (let i = 0; i < 1_000; i += 1) seen.add(randomInt(random, 1, 5));
    expect([...seen].sort()).toEqual([1, 2, 3, 4, 5]);
  });

  it('draws keys in proportion to their weights and never a zero weight', () => {
    const random = mulberry32(3);
    const counts = { a: 0, b: 0, c: 0 };
    for (let i = 0; i < 100_000; i += 1) counts[pickWeighted(random, { a: 3, b: 1, c: 0 })] += 1;
    expect(counts.c).toBe(0);
    expect(counts.a / counts.b).toBeCloseTo(3, 0);
  });
});
