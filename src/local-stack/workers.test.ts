import { describe, expect, it } from 'vitest';
import { ranOutOfHeap, restartDelayMs } from './workers.ts';

describe('ranOutOfHeap', () => {
  it("recognises V8's fatal out-of-heap lines, and nothing else", () => {
    // As Node 24 prints them when --max-old-space-size is reached.
    const oom = ['<--- Last few GCs --->', '[1234:0x5e]   81234 ms: Mark-Compact 766.1 (781.2) -> 765.9 (782.0) MB', 'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory', ' 1: 0xb8b0a3 node::OOMErrorHandler'].join('\n');
    expect(ranOutOfHeap(oom)).toBe(true);
    expect(ranOutOfHeap('{"level":"warn","msg":"processor session ended: broker unreachable"}')).toBe(false);
  });
});

describe('restartDelayMs', () => {
  it('restarts a first crash at once, then backs off 1, 2, 4 s ... to at most 30 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 20].map(restartDelayMs)).toEqual([100, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
  });
});
