import { UsageError } from '../core/errors.ts';
import { windowStartFor } from '../domain/windows.ts';

const MS_PER_DAY = 86_400_000;
const MS_PER_MINUTE = 60_000;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?(Z|[+-]\d{2}:?\d{2})$/;

/** A half-open event-time window [from, to) in epoch milliseconds, UTC. */
export interface BatchWindow {
  readonly fromMs: number;
  readonly toMs: number;
}

/** The window a run covers, and whether it had to be widened to whole summary windows. */
export interface ResolvedWindow extends BatchWindow {
  /** What the flags asked for, before rounding out. */
  readonly requested: BatchWindow;
  readonly rounded: boolean;
}

export interface WindowFlags {
  readonly date?: string | undefined;
  readonly from?: string | undefined;
  readonly to?: string | undefined;
}

/**
 * Turns `--date D` or `--from ISO --to ISO` (or nothing: the previous UTC day before `now`) into
 * the window a batch run replaces.
 *
 * A window that does not fall on summary-window boundaries is rounded OUT to them (from down,
 * to up), never refused: a summary row is computed from all orders of its 5-minute window, so a
 * run over part of one would write a partial total over a complete one. Rounding out keeps every
 * row the run writes complete, and `--from/--to` can be pasted from `load --json` as they are.
 * The caller reports the rounding. Bad flags are UsageErrors naming the flag.
 */
export function resolveWindow(flags: WindowFlags, now: Date, windowMinutes: number): ResolvedWindow {
  const requested = requestedWindow(flags, now);
  const size = windowMinutes * MS_PER_MINUTE;
  const fromMs = windowStartFor(requested.fromMs, windowMinutes);
  const toStart = windowStartFor(requested.toMs, windowMinutes);
  const toMs = toStart === requested.toMs ? toStart : toStart + size;
  return { fromMs, toMs, requested, rounded: fromMs !== requested.fromMs || toMs !== requested.toMs };
}

function requestedWindow(flags: WindowFlags, now: Date): BatchWindow {
  const { date, from, to } = flags;
  if (date !== undefined && (from !== undefined || to !== undefined)) {
    throw new UsageError('--date cannot be combined with --from/--to; give one day, or an explicit window');
  }
  if (date !== undefined) {
    const fromMs = parseDay(date, '--date');
    return { fromMs, toMs: fromMs + MS_PER_DAY };
  }
  if (from === undefined && to === undefined) {
    const today = Math.floor(now.getTime() / MS_PER_DAY) * MS_PER_DAY;
    return { fromMs: today - MS_PER_DAY, toMs: today };
  }
  if (from === undefined || to === undefined) {
    throw new UsageError(`${from === undefined ? '--to' : '--from'} needs ${from === undefined ? '--from' : '--to'} as well; give both ends of the window, or --date`);
  }
  const fromMs = parseInstant(from, '--from');
  const toMs = parseInstant(to, '--to');
  if (toMs <= fromMs) throw new UsageError(`--to ${to} is not after --from ${from}; the window is [from, to)`);
  return { fromMs, toMs };
}

/** A calendar day YYYY-MM-DD as its UTC midnight; V8 would turn 2026-02-30 into March 2, so the parts are checked. */
function parseDay(text: string, flag: string): number {
  const match = DATE.exec(text);
  const ms = match ? calendarMs(match[1]!, match[2]!, match[3]!) : undefined;
  if (ms === undefined) throw new UsageError(`${flag} ${text}: expected a calendar day as YYYY-MM-DD (a UTC day), e.g. 2026-11-25`);
  return ms;
}

/**
 * An instant: ISO-8601 with a zone (2026-11-25T10:00:00Z, …+01:00, at most millisecond
 * precision), or a bare day meaning its UTC midnight. A time without a zone is refused: whether it
 * meant UTC or the machine's zone would silently move the window.
 */
function parseInstant(text: string, flag: string): number {
  const day = DATE.exec(text);
  if (day) return parseDay(text, flag);
  const match = DATE_TIME.exec(text);
  const problem = `${flag} ${text}: expected an ISO-8601 time with a zone, e.g. 2026-11-25T10:00:00Z (or a day YYYY-MM-DD)`;
  if (!match) throw new UsageError(problem);
  const [, year, month, dayOfMonth, hour, minute, second = '0', fraction = '', zone] = match;
  const midnight = calendarMs(year!, month!, dayOfMonth!);
  if (midnight === undefined || Number(hour) > 23 || Number(minute) > 59 || Number(second) > 59) throw new UsageError(problem);
  const offsetMs = zoneOffsetMs(zone!);
  if (offsetMs === undefined) throw new UsageError(problem);
  return midnight + ((Number(hour) * 60 + Number(minute)) * 60 + Number(second)) * 1_000 + Number(fraction.padEnd(3, '0')) - offsetMs;
}

function calendarMs(year: string, month: string, day: string): number | undefined {
  const ms = Date.UTC(Number(year), Number(month) - 1, Number(day));
  const back = new Date(ms);
  const same = back.getUTCFullYear() === Number(year) && back.getUTCMonth() === Number(month) - 1 && back.getUTCDate() === Number(day);
  return same ? ms : undefined;
}

function zoneOffsetMs(zone: string): number | undefined {
  if (zone === 'Z') return 0;
  const match = /^([+-])(\d{2}):?(\d{2})$/.exec(zone);
  if (!match) return undefined;
  const hours = Number(match[2]);
  const minutes = Number(match[3]);
  if (hours > 23 || minutes > 59) return undefined;
  return (match[1] === '-' ? -1 : 1) * (hours * 60 + minutes) * MS_PER_MINUTE;
}

/** ISO-8601 UTC, the form every output of stream-migrate uses. */
export function isoOf(ms: number): string {
  return new Date(ms).toISOString();
}
