/**
 * The event-time window `validate` compares. `--window 24h` means [now − settle − 24h, now −
 * settle); `--from/--to` are explicit, but never reach into the settle margin (the newest rows may
 * still be in flight). The window is then rounded INWARD to whole summary windows, from up and to
 * down, so that a summary row is compared only when its whole 5-minute window lies inside (an order
 * near the edge and its summary are then always both in, or both out), and both ends fall on whole
 * seconds, where PostgreSQL's millisecond timestamps and ClickHouse's whole seconds agree on which
 * side of a bound a row lies.
 */
import { parseDuration } from '../core/duration.ts';
import { UsageError } from '../core/errors.ts';

export interface WindowFlags {
  readonly window?: string | undefined;
  readonly from?: string | undefined;
  readonly to?: string | undefined;
  readonly settle?: string | undefined;
}

export interface ValidationWindow {
  readonly fromMs: number;
  readonly toMs: number;
  /** What the flags asked for, before the settle clamp and rounding. */
  readonly requested: { readonly fromMs: number; readonly toMs: number };
  readonly settleMs: number;
  /** Human notes on how the requested window became the compared one. */
  readonly notes: readonly string[];
}

const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/;

export function resolveValidationWindow(flags: WindowFlags, now: Date, defaultSettle: string, windowMinutes: number): ValidationWindow {
  const settleText = flags.settle ?? defaultSettle;
  const settleMs = parseDuration(settleText);
  if (settleMs === undefined) throw new UsageError(`--settle ${settleText}: expected a duration such as 5m or 30s`);
  const horizon = now.getTime() - settleMs;
  const notes: string[] = [];
  let requested: { fromMs: number; toMs: number };
  if (flags.from !== undefined || flags.to !== undefined) {
    if (flags.from === undefined || flags.to === undefined) throw new UsageError('--from and --to go together; give both ends of the window, or --window');
    if (flags.window !== undefined) throw new UsageError('--window cannot be combined with --from/--to');
    requested = { fromMs: parseInstant(flags.from, '--from'), toMs: parseInstant(flags.to, '--to') };
    if (requested.toMs <= requested.fromMs) throw new UsageError(`--to ${flags.to} is not after --from ${flags.from}; the window is [from, to)`);
  } else {
    const text = flags.window ?? '24h';
    const lengthMs = parseDuration(text);
    if (lengthMs === undefined || lengthMs <= 0) throw new UsageError(`--window ${text}: expected a duration such as 24h or 90m`);
    requested = { fromMs: horizon - lengthMs, toMs: horizon };
  }
  let toMs = requested.toMs;
  if (toMs > horizon) {
    toMs = horizon;
    notes.push(`the end was moved back to now − settle (${settleText}): newer rows may still be in flight`);
  }
  const size = windowMinutes * 60_000;
  const fromMs = Math.ceil(requested.fromMs / size) * size;
  toMs = Math.floor(toMs / size) * size;
  if (fromMs !== requested.fromMs || toMs !== Math.min(requested.toMs, horizon)) notes.push(`rounded inward to whole ${windowMinutes}-minute summary windows`);
  if (toMs <= fromMs) {
    throw new UsageError(`the window ${new Date(requested.fromMs).toISOString()} .. ${new Date(requested.toMs).toISOString()} holds no whole ${windowMinutes}-minute summary window before now − settle; widen it`);
  }
  return { fromMs, toMs, requested, settleMs, notes };
}

function parseInstant(text: string, flag: string): number {
  const ms = ISO_WITH_ZONE.test(text.trim()) ? Date.parse(text.trim()) : Number.NaN;
  if (!Number.isFinite(ms)) throw new UsageError(`${flag} ${text}: expected ISO-8601 UTC (or with a zone), e.g. 2026-11-25T10:00:00Z`);
  return ms;
}
