import { describe, expect, it } from 'vitest';
import { resolveValidationWindow } from './window.ts';

const now = new Date('2026-11-26T13:17:42Z');
const at = (iso: string) => Date.parse(iso);

describe('the compared window', () => {
  it('--window 24h ends at now − settle, rounded inward to whole 5-minute windows', () => {
    const w = resolveValidationWindow({ window: '24h' }, now, '5m', 5);
    expect(w.toMs).toBe(at('2026-11-26T13:10:00Z'));
    expect(w.fromMs).toBe(at('2026-11-25T13:15:00Z'));
    expect(w.requested.toMs).toBe(at('2026-11-26T13:12:42Z'));
    expect(w.notes.join(' ')).toMatch(/rounded inward/);
  });

  it('explicit --from/--to on window boundaries are kept as they are', () => {
    const w = resolveValidationWindow({ from: '2026-11-25T00:00:00Z', to: '2026-11-26T00:00:00Z' }, now, '5m', 5);
    expect([w.fromMs, w.toMs]).toEqual([at('2026-11-25T00:00:00Z'), at('2026-11-26T00:00:00Z')]);
    expect(w.notes).toEqual([]);
  });

  it('--to never reaches into the settle margin', () => {
    const w = resolveValidationWindow({ from: '2026-11-26T12:00:00Z', to: '2026-11-26T14:00:00Z', settle: '10m' }, now, '5m', 5);
    expect(w.toMs).toBe(at('2026-11-26T13:05:00Z'));
    expect(w.notes[0]).toMatch(/settle \(10m\)/);
  });

  it('refuses half a window, a window with nothing whole in it, and zone-less times', () => {
    expect(() => resolveValidationWindow({ from: '2026-11-25T00:00:00Z' }, now, '5m', 5)).toThrow(/--from and --to go together/);
    expect(() => resolveValidationWindow({ from: '2026-11-25T00:01:00Z', to: '2026-11-25T00:04:00Z' }, now, '5m', 5)).toThrow(/no whole 5-minute/);
    expect(() => resolveValidationWindow({ from: '2026-11-25T00:00:00', to: '2026-11-25T01:00:00Z' }, now, '5m', 5)).toThrow(/ISO-8601/);
    expect(() => resolveValidationWindow({ window: 'yesterday' }, now, '5m', 5)).toThrow(/--window/);
  });
});
