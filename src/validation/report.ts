/**
 * The validation report: one data structure (the `validate --json` contract of DESIGN.md plus
 * extra fields), rendered as Markdown for the files and as plain text for the terminal. Pure.
 */
import { formatDuration } from '../core/duration.ts';
import { renderTable } from '../commands/table.ts';
import type { StreamRead } from './fingerprint-sql.ts';
import type { PolicyOutcome, Tolerances, Verdict } from './policy.ts';
import type { ReportProvenance, SourcePosition } from './provenance.ts';
import type { LatencyResult, PatternResult, TableResult } from './reconcile.ts';

export interface TableReport extends TableResult {
  readonly passed: boolean;
  /** The table's own result: NO_DATA when it had too few rows on both sides to prove anything. */
  readonly result: Verdict;
}

/**
 * The report as stored (jsonb) and printed with --json; `reportId` is the state store's id. A type
 * alias rather than an interface, so it is assignable to Record<string, unknown> (JSON helpers).
 */
export type ValidationReport = {
  readonly reportId: number;
  readonly verdict: Verdict;
  /** The compared window (the DESIGN contract's `window`); `comparedWindow` says the same, beside `requestedWindow`. */
  readonly window: { readonly from: string; readonly to: string };
  readonly requestedWindow: { readonly from: string; readonly to: string };
  readonly comparedWindow: { readonly from: string; readonly to: string };
  /** True when the compared window is narrower than the requested one (settle margin, whole summary windows). */
  readonly narrowed: boolean;
  readonly tables: readonly TableReport[];
  readonly latencyMs: { readonly p50: number | null; readonly p95: number | null; readonly p99: number | null };
  readonly latency: { readonly rows: number; readonly note: string };
  readonly failures: readonly string[];
  /** Why the verdict is NO_DATA: tables with too few rows on both sides. */
  readonly noData: readonly string[];
  readonly tolerances: Tolerances;
  readonly settle: string;
  readonly windowNotes: readonly string[];
  readonly batch: { readonly schema: string };
  readonly stream: { readonly database: string; readonly read: StreamRead };
  /** How the report was made: what the cutover gate checks before counting it. */
  readonly provenance: ReportProvenance;
  readonly elapsedMs: number;
  readonly createdAt: string;
  readonly files: { readonly json: string; readonly markdown: string } | null;
};

export interface ReportInput {
  readonly window: { readonly fromMs: number; readonly toMs: number; readonly requested: { readonly fromMs: number; readonly toMs: number }; readonly notes: readonly string[]; readonly settleMs: number };
  readonly settle: string;
  readonly minRows: number;
  readonly sourcePosition: SourcePosition;
  readonly tables: readonly TableResult[];
  readonly latency: LatencyResult;
  /** The verdict and its reasons, as policy.ts judged the tables. */
  readonly outcome: PolicyOutcome;
  readonly tolerances: Tolerances;
  readonly batchSchema: string;
  readonly streamDatabase: string;
  readonly streamRead: StreamRead;
  readonly elapsedMs: number;
  readonly createdAt: Date;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Everything but the id and the file paths, which exist only once the report is stored and written. */
export function buildReport(input: ReportInput): Omit<ValidationReport, 'reportId' | 'files'> {
  const { outcome } = input;
  const failedTables = new Set(outcome.failedTables);
  const noDataTables = new Set(outcome.noDataTables);
  const result = (name: string): Verdict => (failedTables.has(name) ? 'FAIL' : noDataTables.has(name) ? 'NO_DATA' : 'PASS');
  const compared = { from: iso(input.window.fromMs), to: iso(input.window.toMs) };
  const requested = { from: iso(input.window.requested.fromMs), to: iso(input.window.requested.toMs) };
  return {
    verdict: outcome.verdict,
    window: compared,
    requestedWindow: requested,
    comparedWindow: compared,
    narrowed: compared.from !== requested.from || compared.to !== requested.to,
    tables: input.tables.map((t) => ({ ...t, passed: !failedTables.has(t.name), result: result(t.name) })),
    latencyMs: { p50: input.latency.p50, p95: input.latency.p95, p99: input.latency.p99 },
    latency: { rows: input.latency.rows, note: input.latency.note },
    failures: outcome.failures,
    noData: outcome.noData,
    tolerances: input.tolerances,
    settle: input.settle,
    windowNotes: input.window.notes,
    batch: { schema: input.batchSchema },
    stream: { database: input.streamDatabase, read: input.streamRead },
    provenance: {
      tables: input.tables.map((t) => t.name),
      settle: input.settle,
      settleMs: input.window.settleMs,
      batchSchema: input.batchSchema,
      streamDatabase: input.streamDatabase,
      streamRead: input.streamRead,
      tolerances: input.tolerances,
      minRows: input.minRows,
      requestedWindow: requested,
      comparedWindow: compared,
      sourcePosition: input.sourcePosition,
      channels: coveredChannels(input.tables),
    },
    elapsedMs: Math.round(input.elapsedMs),
    createdAt: input.createdAt.toISOString(),
  };
}

/**
 * The channels whose orders the window holds on either side (processed_orders); web alone when
 * the table carries no per-channel counts.
 */
export function coveredChannels(tables: readonly TableResult[]): readonly string[] {
  const processed = tables.find((t) => t.name === 'processed_orders');
  if (!processed?.channels) return processed && processed.batchRows + processed.streamRows > 0 ? ['web'] : [];
  return processed.channels.filter((c) => c.batchRows + c.streamRows > 0).map((c) => c.channel);
}

/** A table's rows, then one row per channel (`  · partner`) and per fraud pattern (`  · pattern velocity`) when it has them. */
function tableRows(t: TableReport): string[][] {
  const row = [t.name, String(t.batchRows), String(t.streamRows), String(t.missingInStream), String(t.missingInBatch), String(t.mismatched), t.result];
  const part = (label: string, p: Omit<PatternResult, 'pattern'>) => [`  · ${label}`, String(p.batchRows), String(p.streamRows), String(p.missingInStream), String(p.missingInBatch), String(p.mismatched), p.missingInStream + p.missingInBatch + p.mismatched > 0 ? 'differs' : ''];
  const channels = (t.channels ?? []).map((c) => part(c.channel, c));
  const patterns = (t.patterns ?? []).map((p) => part(patternLabel(p.pattern), p));
  return [row, ...channels, ...patterns];
}

/** A fraud_alerts pattern as reports name it: the per-order thresholds have the empty pattern. */
export function patternLabel(pattern: string): string {
  return pattern === '' ? 'thresholds' : `pattern ${pattern}`;
}

/** The window line: both windows side by side when only part of the requested one was compared. */
function windowLine(r: Pick<ValidationReport, 'requestedWindow' | 'comparedWindow' | 'narrowed' | 'settle'>): string {
  return r.narrowed
    ? `requested ${r.requestedWindow.from} .. ${r.requestedWindow.to}, compared ${r.comparedWindow.from} .. ${r.comparedWindow.to} (narrower: only closed summary windows before now − settle ${r.settle})`
    : `${r.comparedWindow.from} .. ${r.comparedWindow.to} (as requested; settle ${r.settle})`;
}

function positionLine(p: SourcePosition): string {
  const parts = [`newest source commit in the stream ${p.newestSourceCommit ?? 'unknown'}`, `slot ${p.slotName} confirmed ${p.slotConfirmedLsn ?? 'unknown'}`];
  return `${parts.join(', ')}${p.note ? ` (${p.note})` : ''}`;
}

const latencyText = (v: number | null) => (v === null ? 'n/a' : formatDuration(v));

function streamSource(r: Pick<ValidationReport, 'stream'>): string {
  return r.stream.read === 'final'
    ? `ClickHouse database \`${r.stream.database}\` (current state: the versioned storage tables read with FINAL, tombstones dropped, as the views answer it)`
    : `ClickHouse database \`${r.stream.database}\` (current state: the views)`;
}

const md = (value: string | null) => (value === null ? '*(absent)*' : `\`${value.replace(/\|/g, '\\|').replace(/`/g, "'")}\``);

export function renderMarkdown(r: ValidationReport): string {
  const lines: string[] = [];
  lines.push(`# Validation report ${r.reportId}: ${r.verdict}`, '');
  lines.push(`- Window (event time): ${windowLine(r)}`);
  for (const note of r.windowNotes) lines.push(`  - ${note}`);
  lines.push(`- Batch: warehouse PostgreSQL, schema \`${r.batch.schema}\``);
  lines.push(`- Stream: ${streamSource(r)}`);
  lines.push(`- Tolerances per table: missing in stream ${r.tolerances.missingInStream}, missing in batch ${r.tolerances.missingInBatch}, mismatched ${r.tolerances.mismatched}; at least ${r.provenance.minRows} row(s) per table`);
  lines.push(`- Tables: ${r.provenance.tables.join(', ')}; channels with orders in the window: ${r.provenance.channels.join(', ') || 'none'}`);
  lines.push(`- Source position covered: ${positionLine(r.provenance.sourcePosition)}`);
  lines.push(`- Created ${r.createdAt}, took ${formatDuration(r.elapsedMs)}`, '');
  lines.push('| table | batch rows | stream rows | missing in stream | missing in batch | mismatched | result |', '|---|---:|---:|---:|---:|---:|---|');
  for (const t of r.tables) for (const row of tableRows(t)) lines.push(`| ${row.join(' | ')} |`);
  lines.push('');
  if (r.failures.length > 0) {
    lines.push('## Why it failed', '');
    for (const f of r.failures) lines.push(`- ${f}`);
    lines.push('');
  }
  if (r.verdict === 'NO_DATA') {
    lines.push('## Why there is no verdict (NO_DATA)', '');
    for (const n of r.noData) lines.push(`- ${n}`);
    lines.push('', 'A window without data proves nothing: this report does not count toward cutover.', '');
  }
  for (const t of r.tables) {
    lines.push(`## ${t.name}`, '');
    lines.push(`- Key: ${t.keyColumns.join(', ')}; compared: ${t.comparedColumns.join(', ')}`);
    for (const e of t.excludedColumns) lines.push(`- Not compared: \`${e.name}\`, ${e.why}`);
    lines.push(`- Buckets: ${t.buckets.count}, ${t.buckets.differing} differed${t.buckets.drilledAll ? ' (drilled into the whole window)' : ''}; rows drilled into: batch ${t.buckets.drilledBatchRows}, stream ${t.buckets.drilledStreamRows}`);
    if (t.duplicateKeysInStream > 0) lines.push(`- Keys the stream holds more than once: ${t.duplicateKeysInStream}`);
    const columns = Object.entries(t.mismatchedColumns);
    if (columns.length > 0) {
      const over = t.examinedMismatches < t.mismatched ? ` (over the first ${t.examinedMismatches} mismatched rows)` : '';
      lines.push(`- Differing columns${over}: ${columns.map(([name, n]) => `${name} (${n})`).join(', ')}`);
    }
    if (t.samples.length > 0) {
      lines.push('', '| key | column | batch | stream |', '|---|---|---|---|');
      for (const s of t.samples) {
        if (s.reason) lines.push(`| ${s.key} | *${s.reason}* | | |`);
        for (const c of s.columns) lines.push(`| ${s.key} | ${c.name} | ${md(c.batch)} | ${md(c.stream)} |`);
      }
    }
    if (t.missingInStreamKeys.length > 0) lines.push('', `Missing in stream (first ${t.missingInStreamKeys.length}): ${t.missingInStreamKeys.join('; ')}`);
    if (t.missingInBatchKeys.length > 0) lines.push('', `Missing in batch (first ${t.missingInBatchKeys.length}): ${t.missingInBatchKeys.join('; ')}`);
    lines.push('');
  }
  lines.push('## Stream latency', '');
  lines.push(`p50 ${latencyText(r.latencyMs.p50)}, p95 ${latencyText(r.latencyMs.p95)}, p99 ${latencyText(r.latencyMs.p99)} over ${r.latency.rows} rows: ${r.latency.note}`, '');
  return lines.join('\n');
}

/** What a person reads in the terminal: the table, why it failed, samples, latency and where the files are. */
export function renderText(r: ValidationReport): string {
  const lines = [`validation report ${r.reportId}: ${r.verdict}   window ${windowLine(r)}`];
  for (const note of r.windowNotes) lines.push(`  ${note}`);
  lines.push(
    renderTable(
      ['table', 'batch rows', 'stream rows', 'missing in stream', 'missing in batch', 'mismatched', 'result'],
      r.tables.flatMap(tableRows),
    ),
  );
  for (const f of r.failures) lines.push(`  FAIL ${f}`);
  for (const n of r.noData) lines.push(`  NO_DATA ${n}`);
  for (const t of r.tables) {
    for (const s of t.samples) {
      const detail = s.columns.map((c) => `${c.name}: batch ${c.batch ?? '(absent)'}, stream ${c.stream ?? '(absent)'}`).join('; ');
      lines.push(`  ${t.name} ${s.key}: ${s.reason ? `${s.reason}; ` : ''}${detail}`);
    }
    if (t.missingInStreamKeys.length > 0) lines.push(`  ${t.name} missing in stream: ${t.missingInStreamKeys.join(', ')}`);
    if (t.missingInBatchKeys.length > 0) lines.push(`  ${t.name} missing in batch: ${t.missingInBatchKeys.join(', ')}`);
  }
  const excluded = [...new Set(r.tables.flatMap((t) => t.excludedColumns.map((e) => e.name)))];
  if (excluded.length > 0) lines.push(`  not compared: ${excluded.join(', ')} (processing timestamps, different by nature)`);
  lines.push(`latency p50 ${latencyText(r.latencyMs.p50)}  p95 ${latencyText(r.latencyMs.p95)}  p99 ${latencyText(r.latencyMs.p99)}${r.latencyMs.p50 === null ? ` (${r.latency.note})` : ''}`);
  lines.push(`source position: ${positionLine(r.provenance.sourcePosition)}`);
  lines.push(`took ${formatDuration(r.elapsedMs)}${r.files ? `; report ${r.files.markdown}` : ''}`);
  return lines.join('\n');
}
