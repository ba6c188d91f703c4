import { describe, expect, it } from 'vitest';
import { UsageError } from '../core/errors.ts';
import { isoOf, resolveWindow, type WindowFlags } from './window.ts';

const NOW = new Date('2026-11-26T12:34:56.789Z');

function iso(flags: WindowFlags, windowMinutes = 5): { from: string; to: string; rounded: boolean } {
  const w = resolveWindow(flags, NOW, windowMinutes);
  return { from: isoOf(w.fromMs), to: isoOf(w.toMs), rounded: w.rounded };
}

function usage(flags: WindowFlags): string {
  try {
    resolveWindow(flags, NOW, 5);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error(`expected a UsageError for ${JSON.stringify(flags)}`);
}

describe('resolveWindow', () => {
  it('defaults to the previous UTC day', () => {
    expect(iso({})).toEqual({ from: '2026-11-25T00:00:00.000Z', to: '2026-11-26T00:00:00.000Z', rounded: false });
    // Just after midnight it is still the whole day before, not the minutes of today.
    expect(resolveWindow({}, new Date('2026-01-01T00:00:00.000Z'), 5)).toMatchObject({
      fromMs: Date.UTC(2025, 11, 31),
      toMs: Date.UTC(2026, 0, 1),
    });
  });

  it('takes one UTC day with --date, leap days included', () => {
    expect(iso({ date: '2026-11-25' })).toEqual({ from: '2026-11-25T00:00:00.000Z', to: '2026-11-26T00:00:00.000Z', rounded: false });
    expect(iso({ date: '2024-02-29' })).toMatchObject({ from: '2024-02-29T00:00:00.000Z', to: '2024-03-01T00:00:00.000Z' });
  });

  it('takes an explicit window in any zone, reported in UTC', () => {
    expect(iso({ from: '2026-11-25T10:00:00Z', to: '2026-11-25T11:30:00Z' })).toEqual({
      from: '2026-11-25T10:00:00.000Z',
      to: '2026-11-25T11:30:00.000Z',
      rounded: false,
    });
    expect(iso({ from: '2026-11-25T12:00+02:00', to: '2026-11-25T10:05:00.000-0000' })).toMatchObject({
      from: '2026-11-25T10:00:00.000Z',
      to: '2026-11-25T10:05:00.000Z',
    });
    expect(iso({ from: '2026-11-24', to: '2026-11-26' })).toMatchObject({ from: '2026-11-24T00:00:00.000Z', to: '2026-11-26T00:00:00.000Z' });
  });

  it('rounds an unaligned window out to whole summary windows', () => {
    const w = resolveWindow({ from: '2026-11-25T10:02:13.456Z', to: '2026-11-25T10:07:00.001Z' }, NOW, 5);
    expect(isoOf(w.fromMs)).toBe('2026-11-25T10:00:00.000Z');
    expect(isoOf(w.toMs)).toBe('2026-11-25T10:10:00.000Z');
    expect(w.rounded).toBe(true);
    expect(isoOf(w.requested.fromMs)).toBe('2026-11-25T10:02:13.456Z');
    expect(isoOf(w.requested.toMs)).toBe('2026-11-25T10:07:00.001Z');
    // A boundary stays where it is; a 7-minute window size is not aligned with days, so a day rounds out too.
    expect(iso({ from: '2026-11-25T10:05:00Z', to: '2026-11-25T10:10:00Z' }).rounded).toBe(false);
    const day = resolveWindow({ date: '2026-11-25' }, NOW, 7);
    expect(day.rounded).toBe(true);
    expect(day.fromMs).toBeLessThanOrEqual(Date.UTC(2026, 10, 25));
    expect(day.toMs).toBeGreaterThanOrEqual(Date.UTC(2026, 10, 26));
    expect(day.fromMs % (7 * 60_000)).toBe(0);
    expect(day.toMs % (7 * 60_000)).toBe(0);
  });

  it('refuses bad flags with one line naming the flag', () => {
    expect(usage({ date: '2026-11-25', from: '2026-11-25T00:00:00Z' })).toMatch(/^--date cannot be combined with --from\/--to/);
    expect(usage({ from: '2026-11-25T00:00:00Z' })).toMatch(/^--from needs --to/);
    expect(usage({ to: '2026-11-25T00:00:00Z' })).toMatch(/^--to needs --from/);
    expect(usage({ date: '2026-02-30' })).toMatch(/^--date 2026-02-30: expected a calendar day/);
    expect(usage({ date: '25/11/2026' })).toMatch(/^--date 25\/11\/2026: /);
    expect(usage({ date: 'yesterday' })).toMatch(/^--date yesterday: /);
    // No zone: UTC or the machine's zone would be a guess.
    expect(usage({ from: '2026-11-25T10:00:00', to: '2026-11-25T11:00:00Z' })).toMatch(/^--from 2026-11-25T10:00:00: expected an ISO-8601 time with a zone/);
    expect(usage({ from: '2026-11-25T10:00:00Z', to: '2026-11-25T24:30:00Z' })).toMatch(/^--to /);
    expect(usage({ from: '2026-11-25T10:00:00.123456Z', to: '2026-11-25T11:00:00Z' })).toMatch(/^--from /);
    expect(usage({ from: '2026-11-25T11:00:00Z', to: '2026-11-25T11:00:00Z' })).toMatch(/^--to 2026-11-25T11:00:00Z is not after --from/);
    expect(usage({ from: '2026-11-25T12:00:00Z', to: '2026-11-25T11:00:00Z' })).toMatch(/is not after --from/);
  });
});
