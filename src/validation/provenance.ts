/**
 * How a validation report was made, and whether that makes it evidence for the cutover gate. Pure.
 * A report counts only when it compared every output table, with the configured settle margin,
 * tolerances and minimum rows, against the configured batch schema and ClickHouse database: a
 * report narrowed by flags may be useful to a person, but it proves less than the gate needs.
 */
import type { Config } from '../config/schema.ts';
import { formatDuration, durationMs } from '../core/duration.ts';
import type { StreamRead } from './fingerprint-sql.ts';
import type { Tolerances } from './policy.ts';
import { OUTPUT_TABLES } from './tables.ts';

/** Where the batch ETL writes its outputs in the warehouse. */
export const BATCH_SCHEMA = 'public';

export interface IsoWindow {
  readonly from: string;
  readonly to: string;
}

/** The newest source change the stream outputs had taken in when the report was made. */
export interface SourcePosition {
  /** The newest source commit time among the stream's processed orders (all of them, not only the window's). */
  readonly newestSourceCommit: string | null;
  readonly slotName: string;
  /** The replication slot's confirmed_flush_lsn: what Debezium has acknowledged reading. */
  readonly slotConfirmedLsn: string | null;
  /** Why a position is unknown, when one is. */
  readonly note: string | null;
}

export interface ReportProvenance {
  readonly tables: readonly string[];
  readonly settle: string;
  readonly settleMs: number;
  readonly batchSchema: string;
  readonly streamDatabase: string;
  readonly streamRead: StreamRead;
  readonly tolerances: Tolerances;
  readonly minRows: number;
  readonly requestedWindow: IsoWindow;
  readonly comparedWindow: IsoWindow;
  readonly sourcePosition: SourcePosition;
  /** Channels whose orders the window held (processed_orders, either side); reports made before channels say web. */
  readonly channels: readonly string[];
}

/** What a report must have been made with to count. */
export interface EvidencePolicy {
  readonly tables: readonly string[];
  /** Every configured channel: web, partner with sources.http, store with sources.files. */
  readonly channels: readonly string[];
  readonly settleMs: number;
  readonly batchSchema: string;
  readonly streamDatabase: string;
  readonly tolerances: Tolerances;
  readonly minRows: number;
}

export function evidencePolicy(config: Config): EvidencePolicy {
  return {
    tables: OUTPUT_TABLES,
    channels: configuredChannels(config),
    settleMs: durationMs(config.validation.settle),
    batchSchema: BATCH_SCHEMA,
    streamDatabase: config.clickhouse.database,
    tolerances: config.validation.tolerances,
    minRows: config.validation.minRows,
  };
}

/** The channels the configuration brings orders from. */
export function configuredChannels(config: Config): readonly string[] {
  return ['web', ...(config.sources.http.length > 0 ? ['partner'] : []), ...(config.sources.files.length > 0 ? ['store'] : [])];
}

const TOLERANCE_KEYS = ['missingInStream', 'missingInBatch', 'mismatched'] as const;

/** Why a report does not count toward the gate; empty when it does. */
export function notCountingReasons(p: ReportProvenance | null, policy: EvidencePolicy): readonly string[] {
  if (!p) return ['made before reports recorded how they were made (no provenance); run validate again'];
  const reasons: string[] = [];
  const missing = policy.tables.filter((t) => !p.tables.includes(t));
  if (missing.length > 0) reasons.push(`leaves out ${missing.join(', ')}`);
  const channels = policy.channels.filter((c) => !p.channels.includes(c));
  // A channel without orders in the window proves nothing about it, like a table without rows.
  if (channels.length > 0) reasons.push(`has no ${channels.join(', ')} orders in its window (every configured channel must be covered)`);
  if (p.settleMs !== policy.settleMs) reasons.push(`settle ${p.settle}, configured ${formatDuration(policy.settleMs)}`);
  if (p.batchSchema !== policy.batchSchema) reasons.push(`batch schema ${p.batchSchema}, configured ${policy.batchSchema}`);
  if (p.streamDatabase !== policy.streamDatabase) reasons.push(`ClickHouse database ${p.streamDatabase}, configured ${policy.streamDatabase}`);
  const tolerances = TOLERANCE_KEYS.filter((k) => p.tolerances[k] !== policy.tolerances[k]);
  if (tolerances.length > 0) reasons.push(`tolerances differ from the configured ones (${tolerances.map((k) => `${k} ${p.tolerances[k]} vs ${policy.tolerances[k]}`).join(', ')})`);
  if (p.minRows < policy.minRows) reasons.push(`minRows ${p.minRows}, configured ${policy.minRows}`);
  return reasons;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isWindow = (v: unknown): v is IsoWindow => isRecord(v) && typeof v.from === 'string' && typeof v.to === 'string';
const stringOrNull = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** Reads a stored provenance (jsonb); null when absent or not in this shape. */
export function parseProvenance(value: unknown): ReportProvenance | null {
  if (!isRecord(value)) return null;
  const { tables, settle, settleMs, batchSchema, streamDatabase, streamRead, tolerances, minRows, requestedWindow, comparedWindow, sourcePosition, channels } = value;
  if (!Array.isArray(tables) || !tables.every((t): t is string => typeof t === 'string')) return null;
  if (typeof settle !== 'string' || typeof settleMs !== 'number' || typeof batchSchema !== 'string' || typeof streamDatabase !== 'string') return null;
  if (streamRead !== 'final' && streamRead !== 'view') return null;
  if (!isRecord(tolerances) || !TOLERANCE_KEYS.every((k) => typeof tolerances[k] === 'number')) return null;
  if (typeof minRows !== 'number' || !isWindow(requestedWindow) || !isWindow(comparedWindow) || !isRecord(sourcePosition)) return null;
  return {
    tables,
    settle,
    settleMs,
    batchSchema,
    streamDatabase,
    streamRead,
    tolerances: { missingInStream: Number(tolerances.missingInStream), missingInBatch: Number(tolerances.missingInBatch), mismatched: Number(tolerances.mismatched) },
    minRows,
    requestedWindow: { from: requestedWindow.from, to: requestedWindow.to },
    comparedWindow: { from: comparedWindow.from, to: comparedWindow.to },
    sourcePosition: {
      newestSourceCommit: stringOrNull(sourcePosition.newestSourceCommit),
      slotName: stringOrNull(sourcePosition.slotName) ?? '',
      slotConfirmedLsn: stringOrNull(sourcePosition.slotConfirmedLsn),
      note: stringOrNull(sourcePosition.note),
    },
    channels: Array.isArray(channels) && channels.every((c): c is string => typeof c === 'string') ? channels : ['web'],
  };
}
