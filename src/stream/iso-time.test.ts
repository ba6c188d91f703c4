import { describe, expect, it } from 'vitest';
import { isoTime } from './iso-time.ts';

describe('isoTime', () => {
  it('writes what Date#toISOString writes, over hand-picked edges and 200 000 random times', () => {
    const edges = [0, 1, 999, 1_000, 59_999, 86_399_999, 86_400_000, Date.UTC(2024, 1, 29, 23, 59, 59, 999), Date.UTC(2026, 11, 1, 10, 56, 5, 7), 253_402_300_799_999];
    for (const ms of edges) expect(isoTime(ms)).toBe(new Date(ms).toISOString());
    // A fixed linear congruential sequence: the same cases every run.
    let seed = 12_345;
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648);
    for (let i = 0; i < 200_000; i++) {
      const ms = (next() * 131_072 + (next() % 131_072)) % 4_102_444_800_000; // 1970 .. 2100
      expect(isoTime(ms)).toBe(new Date(ms).toISOString());
    }
    expect(isoTime(Date.UTC(2026, 0, 2, 3, 4, 5, 6))).toBe('2026-01-02T03:04:05.006Z');
  });

  it('takes the Date route outside four-digit years and for fractions, so results and errors stay toISOString\'s', () => {
    expect(isoTime(-1)).toBe('1969-12-31T23:59:59.999Z');
    expect(isoTime(253_402_300_800_000)).toBe('+010000-01-01T00:00:00.000Z');
    expect(isoTime(1.5)).toBe(new Date(1.5).toISOString());
    expect(() => isoTime(Number.NaN)).toThrow(RangeError);
  });
});
