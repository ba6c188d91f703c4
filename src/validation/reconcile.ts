/**
 * The reconciliation engine: batch outputs (warehouse PostgreSQL) against stream outputs
 * (ClickHouse current state), table by table, over one event-time window.
 *
 * 1. Plan: a row estimate from both sides (PostgreSQL's planner, ClickHouse's stored versions)
 *    picks the bucket count (~512 rows a bucket, at most 65 536 buckets).
 * 2. First pass, both engines at once: per bucket, the row count and the sum modulo 2^64 of a
 *    64-bit hash of each canonical row (fingerprint-sql.ts). PostgreSQL's share runs on several connections over disjoint block ranges
 *    (its planner will not parallelise a GROUP BY whose group count it overestimates), and the
 *    parts' sums are added here.
 * 3. Drill-down, only into buckets whose fingerprints differ: each side streams (key, MD5 of the
 *    canonical row) in key order; a merge finds keys missing on either side, keys held twice by
 *    the stream, and rows whose hashes differ. Memory: one fetch batch per side.
 * 4. Detail: only for differing keys (up to a limit), the canonical value of every column from
 *    both sides, so each mismatch names its columns and both values.
 */
import type pg from 'pg';
import type { ClickHouseSettings } from '../clients/clickhouse.ts';
import { createPostgresPool, unreachable, type PostgresTarget } from '../clients/postgres.ts';
import { messageOf, StreamMigrateError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { canonicalTimestamp } from './canonical.ts';
import { CHANNELS, type Channel } from '../domain/output-tables.ts';
import { channelOfOrderId } from '../sources/order-input.ts';
import {
  chRowsPerSql,
  chDetailSql,
  chDrillSql,
  chEstimateSql,
  chFirstPassSql,
  chLatencySql,
  fingerprints,
  pgRowsPerSql,
  pgDetailSql,
  pgDrillSql,
  pgEstimateSql,
  pgFirstPassSql,
  pgPagesSql,
  type EpochWindow,
  type FirstPassPlan,
  type Fingerprint,
  type PageRange,
  type RowGroup,
  type SortableKey,
  type SqlTarget,
} from './fingerprint-sql.ts';
import { checkout, createClickHouseStreamer, postgresError, postgresRows, type ClickHouseStreamer } from './row-streams.ts';
import { bucketCount, TABLE_SPECS, type OutputTableName, type TableSpec } from './tables.ts';

/** An output table or its stream storage is missing: a setup problem, not a difference. */
export class ValidationSetupError extends StreamMigrateError {
  readonly code = 'VALIDATION_SETUP';
  readonly exitCode = 2 as const;
  readonly retriable = false;
}

export interface ReconcileOptions {
  readonly tables: readonly OutputTableName[];
  readonly window: EpochWindow;
  readonly target: SqlTarget;
  /** Mismatched rows reported with their columns, per table. */
  readonly samples: number;
  /** Mismatched rows whose columns are fetched to count which columns differ (samples are the first of them). */
  readonly detailLimit?: number;
  /** PostgreSQL connections sharing a large table's first pass. */
  readonly pgParallel?: number;
  /** A fixed bucket count instead of the estimate's (tests use it to exercise the bucket arithmetic on small tables). */
  readonly buckets?: number;
}

export interface ReconcileDeps {
  readonly warehouse: PostgresTarget;
  readonly clickhouse: ClickHouseSettings;
  readonly logger?: Logger;
}

export interface ColumnDifference {
  readonly name: string;
  readonly batch: string | null;
  readonly stream: string | null;
}

export interface MismatchSample {
  readonly key: string;
  /** Why the row counts as mismatched when it is not only its values (a key the stream holds twice). */
  readonly reason?: string;
  readonly columns: readonly ColumnDifference[];
}

export interface TableTimings {
  readonly planMs: number;
  readonly firstPassMs: number;
  readonly firstPassPostgresMs: number;
  readonly firstPassClickHouseMs: number;
  readonly drillMs: number;
  readonly detailMs: number;
}

export interface TableResult {
  readonly name: OutputTableName;
  readonly batchRows: number;
  readonly streamRows: number;
  readonly missingInStream: number;
  readonly missingInBatch: number;
  readonly mismatched: number;
  /** Keys the stream holds more than once (counted in mismatched when the batch has the key, else in missingInBatch). */
  readonly duplicateKeysInStream: number;
  readonly samples: readonly MismatchSample[];
  readonly missingInStreamKeys: readonly string[];
  readonly missingInBatchKeys: readonly string[];
  /** Column → rows among the examined mismatches where it differs. */
  readonly mismatchedColumns: Readonly<Record<string, number>>;
  readonly examinedMismatches: number;
  readonly keyColumns: readonly string[];
  readonly comparedColumns: readonly string[];
  readonly excludedColumns: readonly { readonly name: string; readonly why: string }[];
  readonly buckets: {
    readonly count: number;
    readonly differing: number;
    readonly drilledAll: boolean;
    readonly drilledBatchRows: number;
    readonly drilledStreamRows: number;
    readonly postgresParts: number;
  };
  readonly timings: TableTimings;
  /**
   * Per channel (web, partner, store), for tables keyed by order: a missing store file or a
   * skipped API page shows as rows of that channel missing in one side. Absent for summaries,
   * which add up every channel of a customer.
   */
  readonly channels?: readonly ChannelResult[];
  /** Per fraud pattern ('' = the per-order thresholds), for a table keyed by pattern (fraud_alerts). */
  readonly patterns?: readonly PatternResult[];
}

export interface PatternResult {
  readonly pattern: string;
  readonly batchRows: number;
  readonly streamRows: number;
  readonly missingInStream: number;
  readonly missingInBatch: number;
  readonly mismatched: number;
}

export interface ChannelResult {
  readonly channel: Channel;
  readonly batchRows: number;
  readonly streamRows: number;
  readonly missingInStream: number;
  readonly missingInBatch: number;
  readonly mismatched: number;
}

/** Differences of one channel or pattern, counted while the drill merges keys. */
interface Diffs {
  missingInStream: number;
  missingInBatch: number;
  mismatched: number;
}

export type ChannelDiffs = Record<Channel, Diffs>;

export interface LatencyResult {
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
  readonly rows: number;
  readonly note: string;
}

export interface ReconcileResult {
  readonly tables: readonly TableResult[];
  readonly latency: LatencyResult;
}

const DEFAULT_DETAIL_LIMIT = 1_000;
const DETAIL_CHUNK = 500;
/** Beyond this many differing buckets, drilling into everything costs less than the IN list. */
const MAX_LISTED_BUCKETS = 4_096;
/** A table this small (pages) is not worth splitting across connections. */
const SPLIT_MIN_PAGES = 20_000;

/** Runs the comparison; throws DependencyError (exit 3) when a database is unreachable. */
export async function reconcile(options: ReconcileOptions, deps: ReconcileDeps): Promise<ReconcileResult> {
  const parallel = Math.max(1, options.pgParallel ?? 2);
  const pool = createPostgresPool(deps.warehouse, parallel + 2, 'stream-migrate-validate');
  const streamer = createClickHouseStreamer(deps.clickhouse);
  const engine = new Engine(options, deps, pool, streamer, parallel);
  try {
    await engine.checkReachable();
    const latency = options.tables.includes('processed_orders')
      ? engine.latency()
      : Promise.resolve<LatencyResult>({ p50: null, p95: null, p99: null, rows: 0, note: 'processed_orders was not validated' });
    // Settle the promise now, so a failure is not reported as unhandled while tables run.
    latency.catch(() => undefined);
    const tables: TableResult[] = [];
    for (const name of options.tables) tables.push(await engine.table(TABLE_SPECS[name]));
    return { tables, latency: await latency };
  } finally {
    await Promise.allSettled([pool.end(), streamer.close()]);
  }
}

interface DrillRow {
  readonly k0: string;
  readonly k1?: string;
  readonly h: string;
  readonly [k: string]: string | undefined;
}

interface DetailRow {
  readonly [k: string]: string;
}

interface Mismatch {
  readonly key: SortableKey;
  readonly reason?: string;
}

class Engine {
  private readonly options: ReconcileOptions;
  private readonly deps: ReconcileDeps;
  private readonly pool: pg.Pool;
  private readonly streamer: ClickHouseStreamer;
  private readonly parallel: number;
  constructor(
    options: ReconcileOptions,
    deps: ReconcileDeps,
    pool: pg.Pool,
    streamer: ClickHouseStreamer,
    parallel: number,
  ) {
    this.options = options;
    this.deps = deps;
    this.pool = pool;
    this.streamer = streamer;
    this.parallel = parallel;
  }

  private get target(): SqlTarget {
    return this.options.target;
  }

  /** Fails fast with exit 3 before any work when either database is down. */
  async checkReachable(): Promise<void> {
    await Promise.all([this.pgQuery('SELECT 1'), this.streamer.all('SELECT 1 AS one')]);
  }

  async table(spec: TableSpec): Promise<TableResult> {
    const w = this.options.window;
    const started = performance.now();
    const plan = await this.plan(spec);
    const planMs = performance.now() - started;

    const pgStarted = performance.now();
    const parts = this.pageRanges(plan.pages);
    const timed = async <T>(run: () => Promise<T>): Promise<[T, number]> => {
      const t0 = performance.now();
      const value = await run();
      return [value, performance.now() - t0];
    };
    const [[pgRows, pgMs], [chRows, chMs]] = await Promise.all([
      timed(() => Promise.all(parts.map((range) => this.pgQuery<Record<string, string | number>>(pgFirstPassSql(spec, this.target, w, plan, range ?? undefined))))),
      timed(() => this.chQuery<Record<string, string | number>>(chFirstPassSql(spec, this.target, w, plan), spec)),
    ]);
    const firstPassMs = performance.now() - pgStarted;
    const fps = fingerprints(spec);
    const batch = new Map<number, bigint[]>();
    for (const rows of pgRows) addBuckets(batch, rows, fps);
    const stream = new Map<number, bigint[]>();
    addBuckets(stream, chRows, fps);
    reduceBuckets(batch, fps);
    reduceBuckets(stream, fps);
    const differing = differingBuckets(batch, stream);
    const batchRows = totalRows(batch);
    const streamRows = totalRows(stream);
    this.deps.logger?.debug(`${spec.name}: first pass ${ms(firstPassMs)} (PostgreSQL ${ms(pgMs)} in ${parts.length} part(s), ClickHouse ${ms(chMs)}), ${plan.buckets} buckets, ${differing.length} differ`);

    const drillStarted = performance.now();
    const drilledAll = differing.length > Math.min(MAX_LISTED_BUCKETS, Math.max(1, plan.buckets / 4));
    const drill = differing.length === 0 ? emptyDrill() : await this.drill(spec, plan.buckets, drilledAll ? null : differing);
    const drillMs = performance.now() - drillStarted;

    const detailStarted = performance.now();
    const detail = await this.detail(spec, drill.mismatches);
    const detailMs = performance.now() - detailStarted;
    const channels = byOrder(spec) ? await this.channels(spec, drill.channels) : undefined;
    const patterns = patternKeyIndex(spec) >= 0 ? await this.patterns(spec, drill.patterns) : undefined;

    return {
      name: spec.name,
      batchRows,
      streamRows,
      missingInStream: drill.missingInStream,
      missingInBatch: drill.missingInBatch,
      mismatched: drill.mismatched,
      duplicateKeysInStream: drill.duplicates,
      samples: detail.samples.slice(0, this.options.samples),
      missingInStreamKeys: drill.missingInStreamKeys.slice(0, this.options.samples).map((k) => displayKey(spec, k)),
      missingInBatchKeys: drill.missingInBatchKeys.slice(0, this.options.samples).map((k) => displayKey(spec, k)),
      mismatchedColumns: detail.columns,
      examinedMismatches: drill.mismatches.length,
      keyColumns: spec.key.map((c) => c.name),
      comparedColumns: spec.columns.map((c) => c.name),
      excludedColumns: spec.excluded,
      buckets: {
        count: plan.buckets,
        differing: differing.length,
        drilledAll: differing.length > 0 && drilledAll,
        drilledBatchRows: drill.batchRows,
        drilledStreamRows: drill.streamRows,
        postgresParts: parts.length,
      },
      timings: { planMs: round(planMs), firstPassMs: round(firstPassMs), firstPassPostgresMs: round(pgMs), firstPassClickHouseMs: round(chMs), drillMs: round(drillMs), detailMs: round(detailMs) },
      ...(channels ? { channels } : {}),
      ...(patterns ? { patterns } : {}),
    };
  }

  /** Rows per pattern on each side beside the drill's differences per pattern. */
  private async patterns(spec: TableSpec, diffs: ReadonlyMap<string, Diffs>): Promise<readonly PatternResult[]> {
    const { batch, stream } = await this.rowsPer(spec, 'pattern');
    const names = [...new Set([...batch.keys(), ...stream.keys(), ...diffs.keys()])].sort();
    return names.map((pattern) => ({ pattern, batchRows: batch.get(pattern) ?? 0, streamRows: stream.get(pattern) ?? 0, ...(diffs.get(pattern) ?? zeroDiffs()) }));
  }

  /** Rows per channel on each side beside the drill's differences per channel. */
  private async channels(spec: TableSpec, diffs: ChannelDiffs): Promise<readonly ChannelResult[]> {
    const { batch, stream } = await this.rowsPer(spec, 'channel');
    return CHANNELS.map((channel) => ({ channel, batchRows: batch.get(channel) ?? 0, streamRows: stream.get(channel) ?? 0, ...diffs[channel] }));
  }

  /** Rows of the window on each side per channel or pattern (a GROUP BY on each database). */
  private async rowsPer(spec: TableSpec, by: RowGroup): Promise<{ readonly batch: ReadonlyMap<string, number>; readonly stream: ReadonlyMap<string, number> }> {
    const w = this.options.window;
    const [pgRows, chRows] = await Promise.all([
      this.pgQuery<{ g: string; n: string }>(pgRowsPerSql(spec, this.target, w, by)),
      this.chQuery<{ g: string; n: string }>(chRowsPerSql(spec, this.target, w, by), spec),
    ]);
    const byGroup = (rows: readonly { g: string; n: string }[]) => new Map(rows.map((r) => [r.g, Number(r.n)]));
    return { batch: byGroup(pgRows), stream: byGroup(chRows) };
  }

  async latency(): Promise<LatencyResult> {
    const rows = await this.chQuery<{ n: string; q: string[] }>(chLatencySql(this.target, this.options.window), TABLE_SPECS.processed_orders);
    const n = Number(rows[0]?.n ?? 0);
    if (n === 0) return { p50: null, p95: null, p99: null, rows: 0, note: 'no processed order in the window carries its source commit time (source_ts)' };
    const q = (rows[0]?.q ?? []).map((x) => Math.round(Number(x) * 1000));
    return {
      p50: q[0] ?? null,
      p95: q[1] ?? null,
      p99: q[2] ?? null,
      rows: n,
      note: 'sink write (ingested_at) minus source commit (source_ts) over every stored version of the window; both are whole seconds, so values are multiples of 1000 ms',
    };
  }

  private async plan(spec: TableSpec): Promise<FirstPassPlan & { readonly pages: number }> {
    const w = this.options.window;
    const [chEstimate, pgPlan, pgPages] = await Promise.all([
      this.chQuery<{ n: string }>(chEstimateSql(spec, this.target, w), spec),
      this.pgQuery<{ 'QUERY PLAN': { Plan: { 'Plan Rows': number } }[] }>(pgEstimateSql(spec, this.target, w)),
      this.pgQuery<{ pages: string }>(pgPagesSql(spec, this.target)),
    ]);
    const estimate = Math.max(Number(chEstimate[0]?.n ?? 0), Number(pgPlan[0]?.['QUERY PLAN'][0]?.Plan['Plan Rows'] ?? 0));
    return { buckets: this.options.buckets ?? bucketCount(estimate), pages: Number(pgPages[0]?.pages ?? 0) };
  }

  private pageRanges(pages: number): readonly (PageRange | null)[] {
    if (this.parallel === 1 || pages < SPLIT_MIN_PAGES) return [null];
    const step = Math.ceil(pages / this.parallel);
    return Array.from({ length: this.parallel }, (_, i) => ({ fromPage: i * step, toPage: i === this.parallel - 1 ? null : (i + 1) * step }));
  }

  private async drill(spec: TableSpec, buckets: number, only: readonly number[] | null): Promise<DrillOutcome> {
    const w = this.options.window;
    const batch = new Cursor(postgresRows<DrillRow>(this.pool, this.deps.warehouse, pgDrillSql(spec, this.target, w, buckets, only)));
    const stream = new Cursor(this.streamer.rows<DrillRow>(chDrillSql(spec, this.target, w, buckets, only)));
    try {
      // Both queries start now and run at once; from here each side is pulled as the merge needs it.
      await Promise.all([batch.advance(), stream.advance()]);
      return await mergeDrill(spec, batch, stream, this.options.detailLimit ?? Math.max(DEFAULT_DETAIL_LIMIT, this.options.samples));
    } catch (error) {
      throw this.setupError(spec, error);
    } finally {
      await Promise.allSettled([batch.close(), stream.close()]);
    }
  }

  private async detail(spec: TableSpec, mismatches: readonly Mismatch[]): Promise<{ samples: MismatchSample[]; columns: Record<string, number> }> {
    const columns: Record<string, number> = {};
    const samples: MismatchSample[] = [];
    const w = this.options.window;
    for (let i = 0; i < mismatches.length; i += DETAIL_CHUNK) {
      const chunk = mismatches.slice(i, i + DETAIL_CHUNK);
      const keys = chunk.map((m) => m.key);
      const [batchRows, streamRows] = await Promise.all([
        this.pgQuery<DetailRow>(pgDetailSql(spec, this.target, w, keys)),
        this.chQuery<DetailRow>(chDetailSql(spec, this.target, w, keys), spec),
      ]);
      const batchByKey = groupByKey(spec, batchRows);
      const streamByKey = groupByKey(spec, streamRows);
      for (const m of chunk) {
        const id = m.key.join('\u0000');
        const b = batchByKey.get(id)?.[0];
        const copies = streamByKey.get(id) ?? [];
        const differences = compareColumns(spec, b, copies);
        for (const d of differences) columns[d.name] = (columns[d.name] ?? 0) + 1;
        samples.push({ key: displayKey(spec, m.key), ...(m.reason ? { reason: m.reason } : {}), columns: differences });
      }
    }
    return { samples, columns };
  }

  private async pgQuery<T extends pg.QueryResultRow>(sql: string): Promise<T[]> {
    const client = await checkout(this.pool, this.deps.warehouse);
    let broken = false;
    try {
      return (await client.query<T>(sql)).rows;
    } catch (error) {
      broken = true;
      throw this.setupError(undefined, postgresError(this.deps.warehouse, error));
    } finally {
      client.release(broken ? true : undefined);
    }
  }

  private async chQuery<T>(sql: string, spec: TableSpec): Promise<T[]> {
    try {
      return await this.streamer.all<T>(sql);
    } catch (error) {
      throw this.setupError(spec, error);
    }
  }

  /** Turns "no such table" on either side into a message saying which one and what creates it. */
  private setupError(spec: TableSpec | undefined, error: unknown): unknown {
    if (error instanceof StreamMigrateError) return error;
    const message = messageOf(error);
    if (/ECONNREFUSED/.test(message) && !/ClickHouse/.test(message)) return unreachable(this.deps.warehouse, 'warehouse', error);
    if (/relation .* does not exist/.test(message)) {
      return new ValidationSetupError(`warehouse ${message}; the batch outputs are created by \`stream-migrate batch run\` (schema ${this.target.schema})`, { cause: error });
    }
    if (/Code: 60/.test(message) || /Code: 81/.test(message)) {
      return new ValidationSetupError(
        `ClickHouse ${spec ? `${this.target.database}.${spec.name}` : this.target.database}: ${message.split(': ').slice(-1)[0] ?? message}; the stream outputs are created by \`stream-migrate phase run output\``,
        { cause: error },
      );
    }
    return error;
  }
}

function ms(value: number): string {
  return `${(value / 1000).toFixed(2)}s`;
}

function round(value: number): number {
  return Math.round(value);
}

function addBuckets(into: Map<number, bigint[]>, rows: readonly Record<string, string | number>[], fps: readonly Fingerprint[]): void {
  for (const row of rows) {
    const bucket = Number(row.b);
    const values = fps.map((_, i) => BigInt(String(row[`f${i}`] ?? '0')));
    const existing = into.get(bucket);
    if (!existing) into.set(bucket, values);
    else values.forEach((v, i) => (existing[i] = (existing[i] ?? 0n) + v));
  }
}

/** Sums kept modulo 2^64 are reduced once all parts are added (PostgreSQL's are exact and signed). */
export function reduceBuckets(buckets: Map<number, bigint[]>, fps: readonly Fingerprint[]): void {
  for (const values of buckets.values()) {
    fps.forEach((f, i) => {
      if (f.reduce === 'mod64') values[i] = BigInt.asUintN(64, values[i] ?? 0n);
    });
  }
}

/** Buckets present on one side only, or whose fingerprints differ; sorted. */
export function differingBuckets(batch: ReadonlyMap<number, readonly bigint[]>, stream: ReadonlyMap<number, readonly bigint[]>): number[] {
  const out: number[] = [];
  for (const [bucket, values] of batch) {
    const other = stream.get(bucket);
    if (!other || values.some((v, i) => v !== other[i])) out.push(bucket);
  }
  for (const bucket of stream.keys()) if (!batch.has(bucket)) out.push(bucket);
  return out.sort((a, b) => a - b);
}

function totalRows(buckets: ReadonlyMap<number, readonly bigint[]>): number {
  let n = 0n;
  for (const values of buckets.values()) n += values[0] ?? 0n;
  return Number(n);
}

/** An async iterator with a one-row lookahead. */
export class Cursor<T> {
  head: T | undefined;
  private readonly iterator: AsyncGenerator<T>;
  constructor(iterator: AsyncGenerator<T>) {
    this.iterator = iterator;
  }
  async advance(): Promise<void> {
    const next = await this.iterator.next();
    this.head = next.done ? undefined : next.value;
  }
  async close(): Promise<void> {
    await this.iterator.return(undefined);
  }
}

export interface DrillOutcome {
  readonly missingInStream: number;
  readonly missingInBatch: number;
  readonly mismatched: number;
  readonly duplicates: number;
  readonly batchRows: number;
  readonly streamRows: number;
  readonly missingInStreamKeys: readonly SortableKey[];
  readonly missingInBatchKeys: readonly SortableKey[];
  readonly mismatches: readonly Mismatch[];
  /** Every difference by the channel of its order (tables keyed by order; all web otherwise). */
  readonly channels: ChannelDiffs;
  /** Every difference by its pattern, for tables keyed by pattern (empty otherwise). */
  readonly patterns: ReadonlyMap<string, Diffs>;
}

function emptyDrill(): DrillOutcome {
  return { missingInStream: 0, missingInBatch: 0, mismatched: 0, duplicates: 0, batchRows: 0, streamRows: 0, missingInStreamKeys: [], missingInBatchKeys: [], mismatches: [], channels: emptyChannels(), patterns: new Map() };
}

function zeroDiffs(): Diffs {
  return { missingInStream: 0, missingInBatch: 0, mismatched: 0 };
}

function emptyChannels(): ChannelDiffs {
  return { web: zeroDiffs(), partner: zeroDiffs(), store: zeroDiffs() };
}

/** Where a table's key holds the fraud pattern (fraud_alerts), or -1. */
function patternKeyIndex(spec: TableSpec): number {
  return spec.key.findIndex((c) => c.name === 'pattern');
}

/** Whether a table's key starts with the order, whose id says its channel. */
function byOrder(spec: TableSpec): boolean {
  return spec.key[0]?.name === 'order_id';
}

function keyOf(spec: TableSpec, row: DrillRow | DetailRow): SortableKey {
  return spec.key.map((_, i) => String(row[`k${i}`] ?? ''));
}

/** Orders sortable keys as both databases do: integers and epoch seconds numerically, text bytewise (PostgreSQL with COLLATE "C"). */
export function compareKeys(spec: TableSpec, a: SortableKey, b: SortableKey): number {
  for (let i = 0; i < spec.key.length; i++) {
    const x = a[i] ?? '';
    const y = b[i] ?? '';
    const kind = spec.key[i]!.kind;
    const c = kind === 'text' ? Buffer.compare(Buffer.from(x, 'utf8'), Buffer.from(y, 'utf8')) : cmpBig(BigInt(x), BigInt(y));
    if (c !== 0) return c;
  }
  return 0;
}

function cmpBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Merges the two key-ordered drill streams. Pure apart from pulling the cursors. */
export async function mergeDrill(spec: TableSpec, batch: Cursor<DrillRow>, stream: Cursor<DrillRow>, detailLimit: number): Promise<DrillOutcome> {
  const out = { missingInStream: 0, missingInBatch: 0, mismatched: 0, duplicates: 0, batchRows: 0, streamRows: 0 };
  const missingInStreamKeys: SortableKey[] = [];
  const missingInBatchKeys: SortableKey[] = [];
  const mismatches: Mismatch[] = [];
  const keep = <T>(list: T[], item: T) => void (list.length < detailLimit && list.push(item));
  const channels = emptyChannels();
  const channelOf = (key: SortableKey): Channel => (byOrder(spec) ? channelOfOrderId(Number(key[0])) : 'web');
  const patterns = new Map<string, Diffs>();
  const patternIndex = patternKeyIndex(spec);
  // Each difference counted once per channel and, for a table keyed by pattern, once per pattern.
  const count = (key: SortableKey, what: keyof Diffs): void => {
    channels[channelOf(key)][what]++;
    if (patternIndex < 0) return;
    const pattern = key[patternIndex] ?? '';
    let diffs = patterns.get(pattern);
    if (!diffs) patterns.set(pattern, (diffs = zeroDiffs()));
    diffs[what]++;
  };
  while (batch.head || stream.head) {
    const b = batch.head;
    const s = stream.head;
    const order = !b ? 1 : !s ? -1 : compareKeys(spec, keyOf(spec, b), keyOf(spec, s));
    if (order < 0 && b) {
      out.batchRows++;
      out.missingInStream++;
      count(keyOf(spec, b), 'missingInStream');
      keep(missingInStreamKeys, keyOf(spec, b));
      await batch.advance();
      continue;
    }
    const key = keyOf(spec, s!);
    const copies = [s!];
    await stream.advance();
    while (stream.head && compareKeys(spec, keyOf(spec, stream.head), key) === 0) {
      copies.push(stream.head);
      await stream.advance();
    }
    out.streamRows += copies.length;
    if (copies.length > 1) out.duplicates++;
    if (order > 0) {
      out.missingInBatch++;
      count(key, 'missingInBatch');
      keep(missingInBatchKeys, key);
      continue;
    }
    out.batchRows++;
    await batch.advance();
    if (copies.length > 1) {
      out.mismatched++;
      count(key, 'mismatched');
      keep(mismatches, { key, reason: `the stream holds this key ${copies.length} times (its view keys rows by more columns than the batch's primary key)` });
    } else if (copies[0]!.h !== b!.h) {
      out.mismatched++;
      count(key, 'mismatched');
      keep(mismatches, { key });
    }
  }
  return { ...out, missingInStreamKeys, missingInBatchKeys, mismatches, channels, patterns };
}

function groupByKey(spec: TableSpec, rows: readonly DetailRow[]): Map<string, DetailRow[]> {
  const map = new Map<string, DetailRow[]>();
  for (const row of rows) {
    const id = keyOf(spec, row).join('\u0000');
    const list = map.get(id);
    if (list) list.push(row);
    else map.set(id, [row]);
  }
  return map;
}

/** The columns where the batch row and any stream copy differ; several copies show as "a | b". */
export function compareColumns(spec: TableSpec, batch: DetailRow | undefined, copies: readonly DetailRow[]): ColumnDifference[] {
  const out: ColumnDifference[] = [];
  spec.columns.forEach((c, i) => {
    const b = batch ? (batch[`c${i}`] ?? null) : null;
    const values = copies.map((row) => row[`c${i}`] ?? null);
    if (values.length === 1 && values[0] === b) return;
    if (values.length > 1 && values.every((v) => v === b)) return;
    out.push({ name: c.name, batch: b, stream: values.length === 0 ? null : values.join(' | ') });
  });
  return out;
}

/** A key as a person reads it: the value, or `name=value` pairs for a composite key; timestamps in ISO. */
export function displayKey(spec: TableSpec, key: SortableKey): string {
  const parts = spec.key.map((c, i) => {
    const v = key[i] ?? '';
    return c.kind === 'timestamp' ? canonicalTimestamp(v) : v;
  });
  return spec.key.length === 1 ? (parts[0] ?? '') : spec.key.map((c, i) => `${c.name}=${parts[i]}`).join(' ');
}
