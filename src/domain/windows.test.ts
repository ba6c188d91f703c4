import { describe, expect, it } from 'vitest';
import {
  EMPTY_SUMMARY,
  addContribution,
  parseSummaryKey,
  retractContribution,
  summaryKeyOf,
  windowEndFor,
  windowStartFor,
} from './windows.ts';

const at = (iso: string): number => Date.parse(iso);

describe('windowStartFor / windowEndFor', () => {
  it('puts a time exactly on a boundary in the window starting there', () => {
    expect(windowStartFor(at('2026-11-25T12:05:00.000Z'), 5)).toBe(at('2026-11-25T12:05:00.000Z'));
    expect(windowEndFor(at('2026-11-25T12:05:00.000Z'), 5)).toBe(at('2026-11-25T12:10:00.000Z'));
  });

  it('puts 1 ms before a boundary in the previous window', () => {
    expect(windowStartFor(at('2026-11-25T12:04:59.999Z'), 5)).toBe(at('2026-11-25T12:00:00.000Z'));
    expect(windowEndFor(at('2026-11-25T12:04:59.999Z'), 5)).toBe(at('2026-11-25T12:05:00.000Z'));
  });

  it('aligns to the epoch in UTC, not to the hour of the event', () => {
    expect(windowStartFor(at('2026-11-25T12:03:17.250Z'), 5)).toBe(at('2026-11-25T12:00:00.000Z'));
    expect(windowStartFor(at('2026-11-25T12:03:17.250Z'), 7)).toBe(Math.floor(at('2026-11-25T12:03:17.250Z') / 420_000) * 420_000);
    expect(windowStartFor(at('2026-11-25T23:59:59.999Z'), 60)).toBe(at('2026-11-25T23:00:00.000Z'));
    expect(windowStartFor(0, 5)).toBe(0);
  });

  it('floors times before 1970 downwards', () => {
    expect(windowStartFor(-1, 5)).toBe(-300_000);
    expect(windowStartFor(-300_000, 5)).toBe(-300_000);
    expect(windowEndFor(-1, 5)).toBe(0);
  });

  it('maps a window start to its own window', () => {
    const start = windowStartFor(at('2026-11-25T12:03:00Z'), 5);
    expect(windowStartFor(start, 5)).toBe(start);
    expect(windowEndFor(start, 5) - start).toBe(300_000);
  });
});

describe('summary keys', () => {
  it('round-trips customer and window start', () => {
    const start = at('2026-11-25T12:00:00Z');
    const key = summaryKeyOf(42, start);
    expect(key).toBe(`42:${start}`);
    expect(parseSummaryKey(key)).toEqual({ customerId: 42, windowStartMs: start });
    expect(summaryKeyOf(42, start)).not.toBe(summaryKeyOf(4, Number(`2${start}`)));
  });

  it('rejects malformed keys', () => {
    for (const key of ['', '42', '42:', ':1', '42:1:2', 'a:1']) expect(() => parseSummaryKey(key)).toThrow(/invalid summary key/);
  });
});

describe('summary accumulator', () => {
  const a = { amountCents: 12_345, finalCents: 13_333 };
  const b = { amountCents: -500, finalCents: -540 };

  it('adds contributions', () => {
    expect(addContribution(addContribution(EMPTY_SUMMARY, a), b)).toEqual({
      orderCount: 2,
      totalAmountCents: 11_845,
      totalFinalCents: 12_793,
    });
  });

  it('retracts exactly what was added, in any order, down to an empty window', () => {
    const start = addContribution(EMPTY_SUMMARY, { amountCents: 100, finalCents: 108 });
    const both = addContribution(addContribution(start, a), b);
    expect(retractContribution(retractContribution(both, a), b)).toEqual(start);
    expect(retractContribution(start, { amountCents: 100, finalCents: 108 })).toEqual(EMPTY_SUMMARY);
  });

  it('models an update as retract old version, add new version', () => {
    const v1 = { amountCents: 1_000, finalCents: 1_080 };
    const v2 = { amountCents: 2_000, finalCents: 2_160 };
    const acc = addContribution(retractContribution(addContribution(EMPTY_SUMMARY, v1), v1), v2);
    expect(acc).toEqual({ orderCount: 1, totalAmountCents: 2_000, totalFinalCents: 2_160 });
  });

  it('never mutates its input', () => {
    const acc = addContribution(EMPTY_SUMMARY, a);
    addContribution(acc, b);
    retractContribution(acc, a);
    expect(acc).toEqual({ orderCount: 1, totalAmountCents: 12_345, totalFinalCents: 13_333 });
    expect(EMPTY_SUMMARY).toEqual({ orderCount: 0, totalAmountCents: 0, totalFinalCents: 0 });
  });

  it('refuses to retract from an empty window', () => {
    expect(() => retractContribution(EMPTY_SUMMARY, a)).toThrow(/never added/);
  });
});
