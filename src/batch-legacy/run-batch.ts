import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import { connectPostgres, unreachable, type PostgresTarget } from '../clients/postgres.ts';
import type { Config } from '../config/schema.ts';
import type { Clock } from '../core/clock.ts';
import { ConfigError, DependencyError, messageOf, StreamMigrateError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { DEFAULT_RETRY, withRetry, type RetryOptions } from '../core/retry.ts';
import { OUTPUT_TABLE_NAMES, OUTPUT_TABLES, type OutputTableName } from '../domain/output-tables.ts';
import { compileRules, type CompiledRules } from '../domain/rules.ts';
import type { Progress } from '../phases/phase.ts';
import type { StateStore } from '../state/state-store.ts';
import { readExternalOrders } from '../sources/external-orders.ts';
import { CreatedAtMerge, OrderExtraction } from './extract.ts';
import { runExternalJob } from './external.ts';
import { ensureBatchOutputs, WindowLoad, windowRowsSql, zeroCounts, type RowCounts } from './load.ts';
import { scheduledRunAllowed, type ScheduleDecision } from './schedule-guard.ts';
import { emptyIgnored, PatternAccumulators, SummaryAccumulators, transformBatch, type IgnoredOrders } from './transform.ts';
import { isoOf, type BatchWindow } from './window.ts';

export type BatchMode = 'builtin' | 'external';
export type BatchRunStatus = 'running' | 'succeeded' | 'failed' | 'skipped';
type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.Client, 'query'>;

export interface BatchRunRequest {
  readonly window: BatchWindow;
  /** Started by the crontab line: asks the schedule guard first. */
  readonly scheduled: boolean;
}

export interface BatchRunDeps {
  readonly config: Config;
  readonly store: StateStore;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly actor: string;
  readonly progress?: Progress | undefined;
  readonly retry?: RetryOptions;
  readonly env?: NodeJS.ProcessEnv;
  /** Whether a scheduled run may go ahead; scheduledRunAllowed unless a caller (a test) decides otherwise. */
  readonly guard?: (store: StateStore) => Promise<ScheduleDecision>;
}

/** Where the time of a built-in run went; extract and load overlap, so these are waits, not shares. */
export interface BatchTimings {
  /** Waiting for the source's FETCHes (the next one runs while a batch is loaded). */
  readonly extractMs: number;
  readonly transformMs: number;
  /** DELETE of the old window, INSERTs and COMMIT in the warehouse. */
  readonly loadMs: number;
  readonly totalMs: number;
  readonly attempts: number;
}

export interface BatchRunOutcome {
  readonly runId: number;
  readonly window: BatchWindow;
  readonly mode: BatchMode;
  readonly scheduled: boolean;
  readonly status: Exclude<BatchRunStatus, 'running'>;
  /** Rows the run left in each output table for the window. */
  readonly rows: RowCounts;
  /** Rows of the window the run replaced (built-in mode). */
  readonly replaced: RowCounts;
  readonly skipped: boolean;
  /** Why it was skipped or failed; null when it succeeded. */
  readonly reason: string | null;
  /** The external job's exit status; null in built-in mode. */
  readonly exitCode: number | null;
  /** Orders of the window read from the source (built-in mode). */
  readonly sourceOrders: number;
  readonly ignored: IgnoredOrders;
  readonly timings: BatchTimings;
  /** The error a failed run stopped on: a DependencyError means a database stayed unreachable. */
  readonly error?: unknown;
}

/**
 * One run of the legacy batch job for a window: asks the schedule guard when scheduled, records
 * the run as `running`, then runs the built-in ETL (retrying transient errors, each attempt from
 * scratch) or the team's external command, records the outcome and appends to the audit log.
 * A failed run is returned, not thrown, so its id and reason reach the output; only a state store
 * that cannot be written is thrown.
 */
export async function runBatch(request: BatchRunRequest, deps: BatchRunDeps): Promise<BatchRunOutcome> {
  const { config, store, logger } = deps;
  const mode: BatchMode = config.batch.mode;
  const window = request.window;
  const command = config.batch.command ?? [];
  if (mode === 'external' && command.length === 0) {
    throw new ConfigError('batch.command: required when batch.mode is external (the program and its arguments, as a list)', {
      details: { path: 'batch.command' },
    });
  }
  const runs = new BatchRuns(store.pool);
  const base = { window, mode, scheduled: request.scheduled, replaced: zeroCounts(), sourceOrders: 0, ignored: emptyIgnored() };

  if (request.scheduled) {
    const decision = await (deps.guard ?? scheduledRunAllowed)(store);
    if (!decision.allowed) {
      const runId = await runs.recordSkipped(window, mode, decision.reason, deps.actor);
      logger.info(`scheduled batch run skipped: ${decision.reason}`);
      const outcome: BatchRunOutcome = {
        ...base,
        runId,
        status: 'skipped',
        rows: zeroCounts(),
        skipped: true,
        reason: decision.reason,
        exitCode: null,
        timings: { extractMs: 0, transformMs: 0, loadMs: 0, totalMs: 0, attempts: 0 },
      };
      await audit(deps, outcome);
      return outcome;
    }
  }

  await ensureBatchOutputs(config.warehouse);
  const abandoned = await runs.failAbandoned();
  if (abandoned > 0) logger.warn(`marked ${abandoned} batch run(s) failed whose process stopped without finishing`);
  // This connection lives as long as the run and carries its id: how a later run tells a live run from a dead one.
  const liveness = await connectPostgres(config.warehouse, 'warehouse', 'stream-migrate-batch');
  let outcome: BatchRunOutcome;
  try {
    const runId = await runs.start(liveness, window, mode, request.scheduled, deps.actor);
    logger.info(`batch run ${runId} (${mode}) started for ${isoOf(window.fromMs)} .. ${isoOf(window.toMs)}`);
    outcome = mode === 'external' ? await externalRun(runId, command, base, deps, runs) : await builtinRun(runId, base, deps, runs);
  } finally {
    await liveness.end().catch(() => undefined);
  }
  deps.progress?.done();
  await audit(deps, outcome);
  return outcome;
}

type RunBase = Pick<BatchRunOutcome, 'window' | 'mode' | 'scheduled' | 'replaced' | 'sourceOrders' | 'ignored'>;

async function externalRun(runId: number, command: readonly string[], base: RunBase, deps: BatchRunDeps, runs: BatchRuns): Promise<BatchRunOutcome> {
  const started = performance.now();
  const job = await runExternalJob(command, base.window, deps.logger, deps.env);
  const rows = job.succeeded ? await countWindowRows(deps.store.pool, base.window) : zeroCounts();
  const timings = { extractMs: 0, transformMs: 0, loadMs: 0, totalMs: Math.round(performance.now() - started), attempts: 1 };
  if (job.succeeded) await runs.finish(deps.store.pool, runId, 'succeeded', rows, null, job.exitCode);
  else await recordFailure(runs, runId, job.reason ?? 'failed', job.exitCode, deps.logger);
  return { ...base, runId, status: job.succeeded ? 'succeeded' : 'failed', rows, skipped: false, reason: job.reason, exitCode: job.exitCode, timings };
}

async function builtinRun(runId: number, base: RunBase, deps: BatchRunDeps, runs: BatchRuns): Promise<BatchRunOutcome> {
  const started = performance.now();
  const rules = compileRules(deps.config.rules);
  let attempts = 0;
  try {
    const result = await withRetry(
      async () => {
        attempts++;
        return await builtinAttempt(runId, base.window, deps.config, rules, deps, runs);
      },
      {
        ...(deps.retry ?? DEFAULT_RETRY),
        onRetry: (error, attempt, delayMs) => deps.logger.warn(`batch run ${runId}: ${messageOf(error)}; retrying (attempt ${attempt + 1}) in ${delayMs} ms`),
      },
    );
    const timings = { ...result.timings, totalMs: Math.round(performance.now() - started), attempts };
    return { ...base, ...result, runId, status: 'succeeded', skipped: false, reason: null, exitCode: null, timings };
  } catch (error) {
    const reason = messageOf(error);
    await recordFailure(runs, runId, reason, null, deps.logger);
    const timings = { extractMs: 0, transformMs: 0, loadMs: 0, totalMs: Math.round(performance.now() - started), attempts };
    return { ...base, runId, status: 'failed', rows: zeroCounts(), skipped: false, reason, exitCode: null, timings, error };
  }
}

interface AttemptResult {
  readonly rows: RowCounts;
  readonly replaced: RowCounts;
  readonly sourceOrders: number;
  readonly ignored: IgnoredOrders;
  readonly timings: Omit<BatchTimings, 'totalMs' | 'attempts'>;
}

/**
 * Extract → transform → load, streaming: the warehouse transaction (window deleted first) stays
 * open while the source cursor is read batch by batch in created_at order; each batch is
 * transformed and inserted as it arrives while the next FETCH is already on its way, and each
 * summary window is inserted as soon as a later one starts. Memory is one or two batches plus the
 * customers of the current window, whatever the day's volume. The run's `succeeded` record
 * commits with the rows.
 */
async function builtinAttempt(
  runId: number,
  window: BatchWindow,
  config: Config,
  rules: CompiledRules,
  deps: BatchRunDeps,
  runs: BatchRuns,
): Promise<AttemptResult> {
  const runAtMs = deps.clock.now().getTime();
  let extractMs = 0;
  let transformMs = 0;
  let loadMs = 0;
  const timed = async <T>(work: () => Promise<T>, add: (ms: number) => void): Promise<T> => {
    const t0 = performance.now();
    try {
      return await work();
    } finally {
      add(performance.now() - t0);
    }
  };
  const onSource = <T>(work: Promise<T>) => transient(work, config.source, 'source');
  const onWarehouse = <T>(work: Promise<T>) => transient(work, config.warehouse, 'warehouse');

  // Partner API pages and store files first: the source snapshot that joins them is taken after.
  const external = config.sources.http.length + config.sources.files.length > 0 ? await timed(() => readExternalOrders(config, deps.logger), (ms) => (extractMs += ms)) : undefined;
  for (const reason of external?.invalid ?? []) deps.logger.warn(`batch run ${runId}: external order skipped, ${reason}`);
  const source = await connectPostgres(config.source, 'source', 'stream-migrate-batch');
  let warehouse: pg.Client | undefined;
  let load: WindowLoad | undefined;
  let extraction: OrderExtraction | undefined;
  try {
    const target = await connectPostgres(config.warehouse, 'warehouse', 'stream-migrate-batch');
    warehouse = target;
    // The lock is taken before the source snapshot, so of two overlapping runs the one that commits last read the newer state.
    const current = await timed(() => onWarehouse(WindowLoad.begin(target, window)), (ms) => (loadMs += ms));
    load = current;
    const cursor = await timed(() => onSource(OrderExtraction.start(source, window)), (ms) => (extractMs += ms));
    extraction = cursor;
    const extra = new CreatedAtMerge(external ? await timed(() => onSource(cursor.joinExternal(external.orders, window)), (ms) => (extractMs += ms)) : []);
    const summaries = new SummaryAccumulators(rules.windowMinutes);
    const patterns = new PatternAccumulators(rules.patterns);
    const ignored = emptyIgnored();
    let read = 0;
    let pending = onSource(cursor.next());
    for (;;) {
      const waiting = pending;
      const batch = extra.merge(await timed(() => waiting, (ms) => (extractMs += ms)));
      if (batch.length === 0) break;
      pending = onSource(cursor.next());
      // If the load below throws, this FETCH is abandoned with its connection; its rejection is not news.
      pending.catch(() => undefined);
      const t0 = performance.now();
      const out = transformBatch(batch, rules, summaries, ignored, patterns);
      transformMs += performance.now() - t0;
      for (const reason of out.invalidReasons) deps.logger.warn(`batch run ${runId}: order skipped, ${reason}`);
      await timed(
        () =>
          onWarehouse(
            (async () => {
              await current.insertProcessed(out.processed, runAtMs);
              await current.insertAlerts([...out.alerts, ...patterns.takeCompleted()], runAtMs);
              await current.insertSummaries(summaries.takeCompleted());
            })(),
          ),
        (ms) => (loadMs += ms),
      );
      read += batch.length;
      deps.progress?.update('orders', read, Math.max(cursor.total, read));
    }
    await onSource(cursor.close());
    await timed(
      () =>
        onWarehouse(
          (async () => {
            await current.insertSummaries(summaries.takeAll());
            await current.insertAlerts(patterns.takeAll(), runAtMs);
            await current.commit((db) => runs.finish(db, runId, 'succeeded', current.inserted, null, null));
          })(),
        ),
      (ms) => (loadMs += ms),
    );
    return {
      rows: { ...current.inserted },
      replaced: { ...current.deleted },
      sourceOrders: read,
      ignored,
      timings: { extractMs: Math.round(extractMs), transformMs: Math.round(transformMs), loadMs: Math.round(loadMs) },
    };
  } catch (error) {
    await load?.rollback().catch(() => undefined);
    await extraction?.close().catch(() => undefined);
    throw error;
  } finally {
    await source.end().catch(() => undefined);
    await warehouse?.end().catch(() => undefined);
  }
}

/** A connection lost mid-run (server restart, network) becomes a retriable DependencyError naming the database. */
async function transient<T>(work: Promise<T>, target: PostgresTarget, role: string): Promise<T> {
  try {
    return await work;
  } catch (error) {
    throw isConnectionLoss(error) ? unreachable(target, role, error) : error;
  }
}

const CONNECTION_LOST_CODES = new Set(['57P01', '57P02', '57P03', '53300']);

function isConnectionLoss(error: unknown): boolean {
  if (error instanceof StreamMigrateError) return false;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && (code.startsWith('08') || CONNECTION_LOST_CODES.has(code))) return true;
  return /Connection terminated|terminating connection|ECONNRESET|ECONNREFUSED|EPIPE|Client has encountered a connection error/i.test(messageOf(error));
}

async function recordFailure(runs: BatchRuns, runId: number, reason: string, exitCode: number | null, log: Logger): Promise<void> {
  log.error(`batch run ${runId} failed: ${reason}`);
  try {
    await runs.finish(runs.db, runId, 'failed', zeroCounts(), reason, exitCode);
  } catch (error) {
    log.warn(`batch run ${runId}: could not record the failure (${messageOf(error)}); the run stays 'running' in stream_migrate.batch_runs`);
  }
}

async function audit(deps: BatchRunDeps, outcome: BatchRunOutcome): Promise<void> {
  await deps.store.audit.append({
    actor: deps.actor,
    command: 'batch run',
    target: `${isoOf(outcome.window.fromMs)}..${isoOf(outcome.window.toMs)}`,
    outcome: outcome.status === 'succeeded' ? 'succeeded' : outcome.status === 'skipped' ? 'refused' : 'failed',
    detail: {
      runId: outcome.runId,
      mode: outcome.mode,
      scheduled: outcome.scheduled,
      rows: outcome.rows,
      replaced: outcome.replaced,
      sourceOrders: outcome.sourceOrders,
      ignored: outcome.ignored,
      timings: outcome.timings,
      reason: outcome.reason,
      exitCode: outcome.exitCode,
    },
  });
}

/** Rows each output table holds for the window: what an external job left behind. */
async function countWindowRows(db: Queryable, window: BatchWindow): Promise<RowCounts> {
  const count = (table: OutputTableName) => `(${windowRowsSql(OUTPUT_TABLES[table], 'SELECT count(*)')}) AS ${table}`;
  const { rows } = await db.query<Record<OutputTableName, string>>(`SELECT ${OUTPUT_TABLE_NAMES.map(count).join(', ')}`, [new Date(window.fromMs), new Date(window.toMs)]);
  const r = rows[0];
  return { processed_orders: Number(r?.processed_orders ?? 0), order_summaries: Number(r?.order_summaries ?? 0), fraud_alerts: Number(r?.fraud_alerts ?? 0) };
}

const LIVENESS_PREFIX = 'stream-migrate-batch-run-';

/** `stream_migrate.batch_runs`: one row per run, `running` until it ends. */
export class BatchRuns {
  readonly db: Queryable;
  constructor(db: Queryable) {
    this.db = db;
  }

  /**
   * Records a run as `running` through `liveness`, the connection that stays open for the whole run,
   * naming that connection after the run in the same statement: the row is visible only once the
   * name is, so failAbandoned can never mistake a starting run for a dead one.
   */
  async start(liveness: Pick<pg.Client, 'query'>, window: BatchWindow, mode: BatchMode, scheduled: boolean, actor: string): Promise<number> {
    const { rows } = await liveness.query<{ id: string }>(
      `WITH run AS (
         INSERT INTO stream_migrate.batch_runs (window_from, window_to, mode, scheduled, status, actor)
         VALUES ($1, $2, $3, $4, 'running', $5) RETURNING id
       )
       SELECT id, set_config('application_name', '${LIVENESS_PREFIX}' || id, false) FROM run`,
      [new Date(window.fromMs), new Date(window.toMs), mode, scheduled, actor],
    );
    return Number(rows[0]?.id);
  }

  /** Runs left `running` by a process that died (killed, machine lost): their liveness connection is gone. */
  async failAbandoned(): Promise<number> {
    const { rowCount } = await this.db.query(
      `UPDATE stream_migrate.batch_runs b
          SET status = 'failed', finished_at = now(), reason = 'interrupted: the process running it stopped before it finished'
        WHERE status = 'running'
          AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.application_name = '${LIVENESS_PREFIX}' || b.id)`,
    );
    return rowCount ?? 0;
  }

  async recordSkipped(window: BatchWindow, mode: BatchMode, reason: string, actor: string): Promise<number> {
    const { rows } = await this.db.query<{ id: string }>(
      `INSERT INTO stream_migrate.batch_runs (window_from, window_to, mode, scheduled, status, reason, actor, finished_at)
       VALUES ($1, $2, $3, true, 'skipped', $4, $5, now()) RETURNING id`,
      [new Date(window.fromMs), new Date(window.toMs), mode, reason, actor],
    );
    return Number(rows[0]?.id);
  }

  /** `db` may be the load's open transaction; clock_timestamp, since now() there is the transaction's start. */
  async finish(db: Queryable, runId: number, status: 'succeeded' | 'failed', rows: RowCounts, reason: string | null, exitCode: number | null): Promise<void> {
    await db.query(
      'UPDATE stream_migrate.batch_runs SET status = $2, rows = $3, reason = $4, exit_code = $5, finished_at = clock_timestamp() WHERE id = $1',
      [runId, status, JSON.stringify(rows), reason, exitCode],
    );
  }
}

/** True when a failed run stopped because a database stayed unreachable (exit 3 rather than 1). */
export function failedOnDependency(outcome: BatchRunOutcome): boolean {
  return outcome.error instanceof DependencyError;
}
