import { describe, expect, it } from 'vitest';
import { DependencyError } from './errors.ts';
import { withRetry } from './retry.ts';

describe('withRetry', () => {
  it('throws the last error instead of a wait that would end after giveUpAt', async () => {
    let attempts = 0;
    const waits: number[] = [];
    const started = Date.now();
    const run = withRetry(
      async () => {
        attempts++;
        throw new DependencyError(`down (attempt ${attempts})`);
      },
      // These sleeps take no time, so it gives up at the first wait longer than 500 ms (the 4th or 5th).
      { retries: 100, initialDelayMs: 100, maxDelayMs: 10_000, giveUpAt: started + 500, sleep: async (ms) => void waits.push(ms) },
    );
    await expect(run).rejects.toThrow(/^down \(attempt \d\)$/);
    expect(attempts).toBeGreaterThanOrEqual(4);
    expect(attempts).toBeLessThanOrEqual(6);
    expect(waits.every((ms) => ms <= 500)).toBe(true);
  });
});
