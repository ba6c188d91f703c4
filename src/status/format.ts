/** Small formatters shared by the TUI views and the plain-text rendering, so both read alike. */
import { formatDuration } from '../core/duration.ts';

/** "1234.5/s", or "-" before there is a previous snapshot to compare with. */
export function formatRate(perSecond: number | null): string {
  if (perSecond === null) return '-';
  return `${perSecond >= 100 ? Math.round(perSecond) : perSecond.toFixed(1)}/s`;
}

/** A fraction as a percentage with two places; "-" when undefined (no orders). */
export function formatPercent(fraction: number | null): string {
  return fraction === null ? '-' : `${(fraction * 100).toFixed(2)}%`;
}

/** How long before `now` an ISO instant was: "12s ago", "3m05s ago"; "-" for null. */
export function formatAge(at: string | null, now: string): string {
  if (at === null) return '-';
  const ms = Date.parse(now) - Date.parse(at);
  if (!Number.isFinite(ms)) return '-';
  return ms < 0 ? 'just now' : `${formatDuration(ms)} ago`;
}

/** An ISO instant shortened for a table cell: "2026-11-26 12:26:08Z". */
export function formatInstant(at: string | null): string {
  return at === null ? '-' : `${at.slice(0, 10)} ${at.slice(11, 19)}Z`;
}

/** Thousands separated with a thin, copy-safe comma. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** Phase states in the words the TUI and text show (upper case reads as a label, not a colour). */
export function phaseLabel(status: 'not_started' | 'running' | 'succeeded' | 'failed'): string {
  return { not_started: 'NOT STARTED', running: 'RUNNING', succeeded: 'SUCCEEDED', failed: 'FAILED' }[status];
}

/** Shortens text to `width` characters with an ellipsis. */
export function clip(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`;
}

/** One validation report table in a few words: "processed_orders ok" or "fraud_alerts 2 mismatched, 1 missing in stream". */
export function reportTableSummary(t: {
  readonly name: string;
  readonly missingInStream: number | null;
  readonly missingInBatch: number | null;
  readonly mismatched: number | null;
}): string {
  const parts = [
    [t.mismatched, 'mismatched'],
    [t.missingInStream, 'missing in stream'],
    [t.missingInBatch, 'missing in batch'],
  ] as const;
  const problems = parts.filter(([n]) => n === null || n > 0).map(([n, what]) => `${n ?? '?'} ${what}`);
  return `${t.name} ${problems.length === 0 ? 'ok' : problems.join(', ')}`;
}
