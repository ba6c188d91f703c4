/**
 * The migration as the state store and the cutover gate tell it: phase states, the latest
 * validation reports with their differences, and the cutover checklist. Raw rows come in, plain
 * JSON-safe rows go out; shared by `status` and `dashboard`.
 */
import { PHASE_NAMES, type PhaseName } from '../phases/phase.ts';

export type PhaseState = 'not_started' | 'running' | 'succeeded' | 'failed';

export interface PhaseRow {
  readonly name: PhaseName;
  readonly status: PhaseState;
  readonly lastRunAt: string | null;
  readonly finishedAt: string | null;
  readonly actor: string | null;
}

/** One differing row of a report table, as `validate` sampled it. */
export interface ReportSample {
  readonly key: string;
  readonly reason: string | null;
  readonly columns: readonly { readonly name: string; readonly batch: string | null; readonly stream: string | null }[];
}

export interface ReportTableRow {
  readonly name: string;
  readonly batchRows: number | null;
  readonly streamRows: number | null;
  readonly missingInStream: number | null;
  readonly missingInBatch: number | null;
  readonly mismatched: number | null;
  /** The first few sampled differences (the state store keeps more). */
  readonly samples: readonly ReportSample[];
}

export interface ReportRow {
  readonly id: number;
  readonly windowFrom: string;
  readonly windowTo: string;
  readonly verdict: 'PASS' | 'FAIL' | 'NO_DATA';
  readonly elapsedMs: number;
  readonly actor: string;
  readonly createdAt: string;
  readonly tables: readonly ReportTableRow[];
}

export type CutoverState = 'dual-run' | 'cut-over' | 'rolled-back';

export interface CutoverCheck {
  readonly name: string;
  readonly passed: boolean;
  readonly detail: string;
}

export interface CutoverInfo {
  readonly state: CutoverState;
  readonly allowed: boolean;
  readonly checks: readonly CutoverCheck[];
}

/** A raw row of the latest validation reports query. */
export interface ValidationReportDbRow {
  readonly id: string | number;
  readonly window_from: Date;
  readonly window_to: Date;
  readonly verdict: string;
  readonly elapsed_ms: number;
  readonly actor: string;
  readonly created_at: Date;
  readonly tables: unknown;
}

export interface PhaseRunDbRow {
  readonly phase: string;
  readonly status: string;
  readonly started_at: Date;
  readonly finished_at: Date | null;
  readonly actor: string;
}

/** Every phase in order with its latest run; phases never run are `not_started`. */
export function phaseRows(runs: readonly PhaseRunDbRow[]): PhaseRow[] {
  const latest = new Map(runs.map((r) => [r.phase, r]));
  return PHASE_NAMES.map((name) => {
    const run = latest.get(name);
    const status: PhaseState = run && (run.status === 'running' || run.status === 'succeeded' || run.status === 'failed') ? run.status : 'not_started';
    return { name, status, lastRunAt: run ? iso(run.started_at) : null, finishedAt: run?.finished_at ? iso(run.finished_at) : null, actor: run?.actor ?? null };
  });
}

/** A stored report, checked field by field: its jsonb was written by whichever version ran `validate`. */
export function reportRow(row: ValidationReportDbRow): ReportRow {
  const tables = Array.isArray(row.tables) ? row.tables.filter(isRecord) : [];
  return {
    id: Number(row.id),
    windowFrom: iso(row.window_from),
    windowTo: iso(row.window_to),
    // Anything unknown reads as FAIL: a status screen must never show a pass it cannot vouch for.
    verdict: row.verdict === 'PASS' || row.verdict === 'NO_DATA' ? row.verdict : 'FAIL',
    elapsedMs: Number(row.elapsed_ms),
    actor: row.actor,
    createdAt: iso(row.created_at),
    tables: tables.map((t) => ({
      name: typeof t.name === 'string' ? t.name : '?',
      batchRows: count(t.batchRows),
      streamRows: count(t.streamRows),
      missingInStream: count(t.missingInStream),
      missingInBatch: count(t.missingInBatch),
      mismatched: count(t.mismatched),
      samples: Array.isArray(t.samples) ? t.samples.filter(isRecord).map(sample) : [],
    })),
  };
}

function sample(s: Record<string, unknown>): ReportSample {
  const columns = Array.isArray(s.columns) ? s.columns.filter(isRecord) : [];
  return {
    key: typeof s.key === 'string' ? s.key : JSON.stringify(s.key ?? null),
    reason: typeof s.reason === 'string' ? s.reason : null,
    columns: columns.map((c) => ({ name: typeof c.name === 'string' ? c.name : '?', batch: text(c.batch), stream: text(c.stream) })),
  };
}

function text(value: unknown): string | null {
  return value === null || value === undefined ? null : typeof value === 'string' ? value : JSON.stringify(value);
}

/** Report counts may be numbers, numeric strings, or arrays of samples (their length). */
function count(value: unknown): number | null {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  if (Array.isArray(value)) return value.length;
  return null;
}

/** Type guard for what `gatherGate` returns. */
export function parseGate(value: unknown): CutoverInfo | undefined {
  if (!isRecord(value) || typeof value.allowed !== 'boolean' || !Array.isArray(value.checks)) return undefined;
  const state = value.state;
  if (state !== 'dual-run' && state !== 'cut-over' && state !== 'rolled-back') return undefined;
  const checks: CutoverCheck[] = [];
  for (const c of value.checks) {
    if (!isRecord(c) || typeof c.name !== 'string' || typeof c.passed !== 'boolean') return undefined;
    checks.push({ name: c.name, passed: c.passed, detail: typeof c.detail === 'string' ? c.detail : '' });
  }
  return { state, allowed: value.allowed, checks };
}

function iso(value: Date | string): string {
  return (value instanceof Date ? value : new Date(value)).toISOString();
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
