import { describe, expect, it } from 'vitest';
import { ranOutOfHeap } from './workers.ts';

describe('ranOutOfHeap', () => {
  it("recognises V8's fatal out-of-heap lines, and nothing else", () => {
    // As Node 24 prints them when --max-old-space-size is reached.
    const oom = ['<--- Last few GCs --->', '[1234:0x5e]   81234 ms: Mark-Compact 766.1 (781.2) -> 765.9 (782.0) MB', 'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory', ' 1: 0xb8b0a3 node::OOMErrorHandler'].join('\n');
    expect(ranOutOfHeap(oom)).toBe(true);
    expect(ranOutOfHeap('{"level":"warn","msg":"processor session ended: broker unreachable"}')).toBe(false);
  });
});
