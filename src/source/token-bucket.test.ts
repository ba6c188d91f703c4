import { describe, expect, it } from 'vitest';
import { TokenBucket, batchSizeFor } from './token-bucket.ts';

describe('TokenBucket', () => {
  it('spaces concurrent reservations one batch interval apart instead of bursting', () => {
    const bucket = new TokenBucket(500, 25, 0);
    // Four workers asking at the same instant: the first goes now, the others 50 ms apart.
    expect([0, 0, 0, 0].map((t) => bucket.reserve(25, t))).toEqual([0, 50, 100, 150]);
  });

  it('delivers the rate over a run: four workers for 3 s at 500/s send 60 batches of 25', () => {
    const bucket = new TokenBucket(500, 25, 0);
    const workers = [0, 0, 0, 0];
    const sent: number[] = [];
    for (;;) {
      const index = workers.indexOf(Math.min(...workers));
      const at = workers[index]!;
      const startAt = at + bucket.reserve(25, at);
      if (startAt >= 3_000) break;
      sent.push(startAt);
      workers[index] = startAt + 7; // each batch takes 7 ms
    }
    expect(sent).toHaveLength(60);
    const gaps = sent.slice(1).map((t, i) => t - sent[i]!);
    expect(Math.min(...gaps)).toBeCloseTo(50, 6);
    expect(Math.max(...gaps)).toBeCloseTo(50, 6);
  });

  it('does not save up an idle spell for a burst later', () => {
    const bucket = new TokenBucket(1_000, 100, 0);
    expect(bucket.reserve(100, 0)).toBe(0);
    // Ten idle seconds refill only up to the capacity: one batch goes at once, the next waits.
    expect(bucket.reserve(100, 10_000)).toBe(0);
    expect(bucket.reserve(100, 10_000)).toBeCloseTo(100, 6);
    expect(bucket.balance(10_000)).toBe(-100);
  });

  it('rejects a rate or capacity that is not positive', () => {
    expect(() => new TokenBucket(0, 10, 0)).toThrow(RangeError);
    expect(() => new TokenBucket(10, 0, 0)).toThrow(RangeError);
  });
});

describe('batchSizeFor', () => {
  it('aims at the tick rate and is bounded on both sides', () => {
    expect(batchSizeFor(500, 20, 500)).toBe(25);
    expect(batchSizeFor(5_000, 20, 500)).toBe(250);
    expect(batchSizeFor(100_000, 20, 500)).toBe(500);
    expect(batchSizeFor(3, 20, 500)).toBe(1);
  });
});
