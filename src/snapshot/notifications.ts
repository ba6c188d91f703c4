/**
 * Debezium's incremental-snapshot notifications (sink channel, one JSON record each) folded into
 * where one snapshot stands. Every notification of a snapshot carries the id of the signal that
 * started it, so a snapshot is followed by its own id, whatever else the connector does.
 */

import { assertNever } from '../core/assert-never.ts';

export const INCREMENTAL_SNAPSHOT = 'Incremental Snapshot';

export type NotificationType = 'STARTED' | 'IN_PROGRESS' | 'TABLE_SCAN_COMPLETED' | 'PAUSED' | 'RESUMED' | 'ABORTED' | 'COMPLETED';
const TYPES: readonly string[] = ['STARTED', 'IN_PROGRESS', 'TABLE_SCAN_COMPLETED', 'PAUSED', 'RESUMED', 'ABORTED', 'COMPLETED'];

export interface SnapshotNotification {
  readonly id: string;
  readonly aggregateType: string;
  readonly type: NotificationType;
  readonly data: Readonly<Record<string, string>>;
  readonly timestamp: number;
}

/** A notification record's value, or undefined for anything else (initial-snapshot notices included). */
export function parseNotification(value: Buffer | null): SnapshotNotification | undefined {
  if (value === null) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const v = parsed as Record<string, unknown>;
  if (typeof v.id !== 'string' || typeof v.aggregate_type !== 'string' || typeof v.type !== 'string' || !TYPES.includes(v.type)) return undefined;
  const data: Record<string, string> = {};
  if (typeof v.additional_data === 'object' && v.additional_data !== null) {
    for (const [k, value] of Object.entries(v.additional_data as Record<string, unknown>)) if (typeof value === 'string') data[k] = value;
  }
  return { id: v.id, aggregateType: v.aggregate_type, type: v.type as NotificationType, data, timestamp: typeof v.timestamp === 'number' ? v.timestamp : 0 };
}

export type SnapshotPhase = 'waiting' | 'running' | 'completed' | 'aborted';

export interface TableScan {
  readonly table: string;
  readonly rows: number;
  /** Debezium's TableScanCompletionStatus: SUCCEEDED, EMPTY, SQL_EXCEPTION, SKIPPED, NO_PRIMARY_KEY, UNKNOWN_SCHEMA. */
  readonly status: string;
}

export interface SnapshotProgress {
  readonly phase: SnapshotPhase;
  /** Chunks read (IN_PROGRESS notifications) since the last table scan completed. */
  readonly chunks: number;
  readonly scans: readonly TableScan[];
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
}

export const NOT_STARTED: SnapshotProgress = { phase: 'waiting', chunks: 0, scans: [], startedAt: null, finishedAt: null };

/** The next progress after one notification; notifications of other snapshots change nothing. */
export function foldNotification(progress: SnapshotProgress, signalId: string, n: SnapshotNotification): SnapshotProgress {
  if (n.id !== signalId || n.aggregateType !== INCREMENTAL_SNAPSHOT) return progress;
  switch (n.type) {
    case 'STARTED':
    case 'RESUMED':
      return { ...progress, phase: progress.phase === 'waiting' || n.type === 'RESUMED' ? 'running' : progress.phase, startedAt: progress.startedAt ?? n.timestamp };
    case 'PAUSED':
      return progress;
    case 'IN_PROGRESS':
      return { ...progress, phase: 'running', chunks: progress.chunks + 1, startedAt: progress.startedAt ?? n.timestamp };
    case 'TABLE_SCAN_COMPLETED': {
      const table = n.data.scanned_collection ?? '';
      const rows = Number(n.data.total_rows_scanned ?? '0');
      return { ...progress, chunks: 0, scans: [...progress.scans, { table, rows: Number.isFinite(rows) ? rows : 0, status: n.data.status ?? 'UNKNOWN' }] };
    }
    case 'COMPLETED':
      return { ...progress, phase: 'completed', finishedAt: n.timestamp };
    case 'ABORTED':
      return { ...progress, phase: 'aborted', finishedAt: n.timestamp };
    default:
      return assertNever(n.type);
  }
}

/** Rows re-sent so far: whole scans, plus full chunks of the table being read (a chunk is `chunkSize` rows but the last). */
export function rowsSoFar(progress: SnapshotProgress, chunkSize: number, total: number): number {
  const scanned = progress.scans.reduce((sum, s) => sum + s.rows, 0);
  return Math.min(total, scanned + progress.chunks * chunkSize);
}

/** Scans that did not read their table (a bad filter is SQL_EXCEPTION); EMPTY is a table with no matching row. */
export function failedScans(progress: SnapshotProgress): readonly TableScan[] {
  return progress.scans.filter((s) => s.status !== 'SUCCEEDED' && s.status !== 'EMPTY');
}
