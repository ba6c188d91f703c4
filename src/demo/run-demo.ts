/**
 * The whole migration on the local stack, from nothing: services, source, the four phases, a
 * workload (with a processor crash in the middle, to measure recovery), the legacy batch for the
 * same window, validation, the cutover gate and the cutover itself. Each step calls the service
 * the matching command calls (never the command), says what it did, and a failure names the step.
 */
import { runBatch } from '../batch-legacy/run-batch.ts';
import { resolveWindow } from '../batch-legacy/window.ts';
import { alignmentMinutes } from '../domain/patterns.ts';
import { createPostgresPool } from '../clients/postgres.ts';
import type { Config } from '../config/schema.ts';
import type { Clock } from '../core/clock.ts';
import { formatDuration } from '../core/duration.ts';
import { CheckFailedError, messageOf, StreamMigrateError, type ExitCode } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { runCutover } from '../cutover/run-cutover.ts';
import { renderChecklist, type GateCheck } from '../cutover/policy.ts';
import { stackPaths } from '../local-stack/paths.ts';
import { stackUp } from '../local-stack/stack.ts';
import { PHASES } from '../phases/index.ts';
import type { PhaseName, Progress } from '../phases/phase.ts';
import { runPhase } from '../phases/runner.ts';
import { ensureDemoSchema } from '../source/demo-schema.ts';
import { loadCatalogue, runLoad, type LoadReport } from '../source/load-generator.ts';
import { mulberry32 } from '../source/random.ts';
import { seedDemoSource } from '../source/seed.ts';
import { openStateStore } from '../state/state-store.ts';
import { BATCH_SCHEMA } from '../validation/provenance.ts';
import type { ValidationReport } from '../validation/report.ts';
import { runValidation } from '../validation/run-validation.ts';
import { OUTPUT_TABLES } from '../validation/tables.ts';
import { resolveValidationWindow } from '../validation/window.ts';
import { probeLatency, type LatencyFigure } from './latency-probe.ts';
import { measureRecovery, waitForCatchUp, type RecoveryFigure } from './stream-checks.ts';
import { sleep } from '../core/time.ts';

export interface DemoRequest {
  readonly ratePerSecond: number;
  readonly durationMs: number;
}

export interface DemoDeps {
  readonly config: Config;
  readonly configFile: string | undefined;
  /** Masks resolved secrets in what the phases store. */
  readonly redact?: (text: string) => string;
  readonly cwd: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly actor: string;
  /** Where the validation reports are written. */
  readonly reportsDir: string;
}

export interface StepRecord {
  readonly step: string;
  readonly seconds: number;
  readonly detail: string;
}

export interface DemoSummary {
  readonly steps: readonly StepRecord[];
  readonly window: { readonly from: string; readonly to: string };
  readonly load: { readonly orders: LoadReport['counts']; readonly seconds: number; readonly ordersPerSecond: number; readonly changesPerSecond: number };
  readonly latencyMs: { readonly p50: number; readonly p95: number; readonly p99: number; readonly probes: number } | null;
  readonly reportLatencyMs: ValidationReport['latencyMs'] | null;
  readonly reportIds: readonly number[];
  readonly recovery: RecoveryFigure | null;
  readonly catchUpSeconds: number;
  readonly batch: { readonly seconds: number; readonly rows: Readonly<Record<string, number>>; readonly rowsPerSecond: number | null; readonly window: { readonly from: string; readonly to: string } };
  readonly gate: readonly GateCheck[];
  readonly cutover: { readonly allowed: boolean; readonly executed: boolean; readonly checks: readonly GateCheck[] };
}

const TOTAL_STEPS = 11;
const DEMO_CUSTOMERS = 1000;
const DEMO_PRODUCTS = 200;

/**
 * A demo cannot wait three days: three passing reports over the demo's own windows, fresh within
 * the hour, and no settle margin (the demo waits for the stream to catch up before validating).
 */
export function demoConfig(config: Config): Config {
  return {
    ...config,
    validation: { ...config.validation, settle: '0s' },
    cutover: { ...config.cutover, requiredReports: 3, minCoverage: '5m', maxReportAge: '1h', maxConsumerLag: 1000, maxDeadLetterGrowth: 0 },
  };
}

export async function runDemo(request: DemoRequest, deps: DemoDeps): Promise<DemoSummary> {
  const config = demoConfig(deps.config);
  const { logger } = deps;
  const steps: StepRecord[] = [];
  const step = async <T>(index: number, name: string, hint: string, fn: () => Promise<T>, describe: (value: T) => string): Promise<T> => {
    logger.info(`[${index}/${TOTAL_STEPS}] ${name} ...`);
    const started = Date.now();
    try {
      const value = await fn();
      const detail = describe(value);
      const seconds = (Date.now() - started) / 1000;
      steps.push({ step: name, seconds, detail });
      logger.info(`[${index}/${TOTAL_STEPS}] ${name}: ${detail} (${formatDuration(seconds * 1000)})`);
      return value;
    } catch (error) {
      const why = error instanceof StreamMigrateError ? error.message : messageOf(error);
      throw new DemoStepError(`demo stopped at step ${index} (${name}): ${why}; ${hint}`, error);
    }
  };

  await step(1, 'local stack', 'see `stream-migrate dev status` and `stream-migrate dev logs SERVICE`', () => stackUp({ config, paths: stackPaths(config, deps.cwd), logger }), (r) => `${r.services.length} services up in ${r.seconds.toFixed(1)} s`);
  await step(2, 'demo source', 'check `stream-migrate dev logs postgres`', async () => {
    await ensureDemoSchema(config.source);
    const pool = createPostgresPool(config.source, 2, 'stream-migrate-demo');
    try {
      return await seedDemoSource(pool, { customers: DEMO_CUSTOMERS, products: DEMO_PRODUCTS, random: mulberry32(20261126) });
    } finally {
      await pool.end();
    }
  }, (s) => (s.customers + s.products > 0 ? `seeded ${s.customers} customers and ${s.products} products` : 'tables and seed data already there'));

  const phases: readonly (readonly [number, PhaseName])[] = [[3, 'infrastructure'], [4, 'ingestion'], [5, 'processing'], [6, 'output']];
  for (const [index, phase] of phases) {
    const hint = `see \`stream-migrate phase verify ${phase}\`${phase === 'processing' || phase === 'output' ? ' and `stream-migrate workers status`' : ''}`;
    await step(index, `phase ${phase}`, hint, () => runDemoPhase(phase, config, deps), () => 'succeeded');
  }

  let recovery: RecoveryFigure | undefined;
  let latency: LatencyFigure | undefined;
  const load = await step(7, `workload ${request.ratePerSecond} orders/s for ${formatDuration(request.durationMs)}`, 'see `stream-migrate dev logs postgres`', async () => {
    // Halfway through, the processor is killed: the supervisor restarts it and we time the recovery.
    const crash = (async () => {
      await sleep(request.durationMs / 2);
      recovery = await measureRecovery(config, deps.cwd, logger);
    })();
    // Latency is probed in the first, undisturbed half, before the crash.
    const stopProbing = new AbortController();
    setTimeout(() => stopProbing.abort(), request.durationMs / 2 - 1_000);
    const probing = probeLatency(config, stopProbing.signal).then((figure) => (latency = figure));
    const pool = createPostgresPool(config.source, 4, 'stream-migrate-demo-load');
    try {
      const report = await runLoad(pool, await loadCatalogue(pool), { ratePerSecond: request.ratePerSecond, durationMs: request.durationMs, random: mulberry32(20261127), connections: 4 });
      await Promise.all([crash, probing]);
      return report;
    } finally {
      await pool.end().catch(() => undefined);
    }
  }, (r) => {
    const c = r.counts;
    return `${c.inserted} orders inserted, ${c.updated} updated, ${c.cancelled} cancelled, ${c.deleted} deleted, ${c.tierChanges} tier changes; ${Math.round(c.inserted / Math.max(0.001, r.elapsedMs / 1000))} orders/s`;
  });
  if (!load.window) throw new DemoStepError('demo stopped at step 7 (workload): no order was inserted', undefined);
  const loadWindow = { from: load.window.from.toISOString(), to: new Date(load.window.to.getTime() + 1).toISOString() };

  const caughtUp = await step(8, 'stream catches up', 'see `stream-migrate workers status` and the worker logs under .stream-migrate/workers/', () => waitForCatchUp(config, 180_000), (c) => `connector, processor and sink caught up in ${c.seconds.toFixed(1)} s after the load`);

  const summaryMs = config.rules.windowMinutes * 60_000;
  const loadBatchWindow = resolveWindow(loadWindow, deps.clock.now(), alignmentMinutes(config.rules));
  const validationWindows = demoWindows(loadBatchWindow.fromMs, loadBatchWindow.toMs, summaryMs);
  // The batch covers every validated window (the widest is the first).
  const batchWindow = { ...loadBatchWindow, fromMs: Math.min(...validationWindows.map((w) => w.fromMs)) };
  const batch = await step(9, 'legacy batch for the load window', 'see `stream-migrate audit` and the batch run in the state store', async () => {
    const store = await openStateStore(config.warehouse);
    try {
      const outcome = await runBatch({ window: batchWindow, scheduled: false }, { config, store, logger, clock: deps.clock, actor: deps.actor });
      if (outcome.status !== 'succeeded') throw new CheckFailedError(`batch run ${outcome.runId} ${outcome.status}: ${outcome.reason ?? ''}`);
      return outcome;
    } finally {
      await store.close();
    }
  }, (b) => `${b.rows.processed_orders} processed orders, ${b.rows.order_summaries} summaries, ${b.rows.fraud_alerts} alerts for ${iso(batchWindow.fromMs)} .. ${iso(batchWindow.toMs)}`);

  const reports = await step(10, 'validate batch vs stream (3 windows)', 'read the report: mismatched rows name their columns; see `stream-migrate audit`', async () => {
    // Validation compares whole summary windows that have closed: wait for the last one.
    const closesInMs = batchWindow.toMs - deps.clock.now().getTime() + 1_000;
    if (closesInMs > 0) {
      logger.info(`waiting ${formatDuration(closesInMs)} for the summary window ending ${iso(batchWindow.toMs)} to close`);
      await sleep(closesInMs);
    }
    const out: ValidationReport[] = [];
    for (const w of validationWindows) {
      const window = resolveValidationWindow({ from: iso(w.fromMs), to: iso(w.toMs) }, deps.clock.now(), config.validation.settle, config.rules.windowMinutes);
      const report = await runValidation(
        { window, settle: config.validation.settle, tables: OUTPUT_TABLES, samples: config.validation.samples, batchSchema: BATCH_SCHEMA, streamDatabase: config.clickhouse.database, streamRead: 'final', outDir: deps.reportsDir },
        { config, clock: deps.clock, logger, actor: deps.actor },
      );
      if (report.verdict !== 'PASS') throw new CheckFailedError(`validation report ${report.reportId} over ${report.window.from} .. ${report.window.to} is ${report.verdict}: ${[...report.failures, ...report.noData].join('; ')}`);
      out.push(report);
    }
    return out;
  }, (r) => `${r.length} reports PASS (#${r.map((x) => x.reportId).join(', #')})`);

  const cutover = await step(11, 'cutover gate, then cutover', 'run `stream-migrate cutover --dry-run` to see the checklist', async () => {
    const cutoverDeps = { config, clock: deps.clock, actor: deps.actor, cwd: deps.cwd };
    const dry = await runCutover({ dryRun: true }, cutoverDeps);
    for (const line of renderChecklist(dry.checks)) logger.info(line);
    const real = await runCutover({ dryRun: false }, cutoverDeps);
    if (!real.transition.allowed) throw new CheckFailedError(`cutover refused: ${real.checks.filter((c) => !c.passed).map((c) => `${c.name}: ${c.detail}`).join('; ')}`);
    return { dry, real };
  }, ({ real }) => (real.transition.executed ? 'gate held; the batch job is retired' : 'gate held; already cut over'));

  const batchSeconds = steps.find((s) => s.step.startsWith('legacy batch'))?.seconds ?? 0;
  const loadSeconds = load.elapsedMs / 1000;
  const c = load.counts;
  return {
    steps,
    window: loadWindow,
    load: {
      orders: c,
      seconds: loadSeconds,
      ordersPerSecond: Math.round((c.inserted / Math.max(0.001, loadSeconds)) * 10) / 10,
      changesPerSecond: Math.round(((c.inserted + c.updated + c.cancelled + c.deleted + c.tierChanges + c.moved) / Math.max(0.001, loadSeconds)) * 10) / 10,
    },
    latencyMs: latency ? { p50: latency.p50, p95: latency.p95, p99: latency.p99, probes: latency.probes } : null,
    reportLatencyMs: reports[0]?.latencyMs ?? null,
    reportIds: reports.map((r) => r.reportId),
    recovery: recovery ?? null,
    catchUpSeconds: caughtUp.seconds,
    batch: {
      seconds: batchSeconds,
      rows: batch.rows,
      rowsPerSecond: batchSeconds > 0 ? Math.round(batch.rows.processed_orders / batchSeconds) : null,
      window: { from: iso(batchWindow.fromMs), to: iso(batchWindow.toMs) },
    },
    gate: cutover.dry.checks,
    cutover: { allowed: cutover.real.transition.allowed, executed: cutover.real.transition.executed, checks: cutover.real.checks },
  };
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Three distinct windows ending where the load ended: the load's own summary windows, then the
 * same widened back by one and by two summary windows (the batch covers the widest, so both sides
 * hold the same rows there). A re-run of one window would not add to the streak.
 */
export function demoWindows(fromMs: number, toMs: number, sizeMs: number): readonly { readonly fromMs: number; readonly toMs: number }[] {
  return [{ fromMs: fromMs - 2 * sizeMs, toMs }, { fromMs: fromMs - sizeMs, toMs }, { fromMs, toMs }];
}

async function runDemoPhase(name: PhaseName, config: Config, deps: DemoDeps): Promise<void> {
  const store = await openStateStore(config.warehouse);
  try {
    const result = await runPhase(PHASES[name], { config, logger: deps.logger, clock: deps.clock, progress: logProgress(deps.logger), options: { prune: false }, cwd: deps.cwd, configFile: deps.configFile, redact: deps.redact }, store, deps.actor);
    const failed = result.steps.find((s) => s.status === 'failed');
    if (result.status !== 'succeeded') throw new CheckFailedError(`phase ${name} did not succeed${failed ? `: ${failed.name}: ${failed.detail}` : ''}`);
  } finally {
    await store.close();
  }
}

/** Phase progress as log lines only: the demo prints its own step lines. */
function logProgress(logger: Logger): Progress {
  return { update: () => undefined, note: (message) => logger.info(message), done: () => undefined };
}

/** A step failed: the message names it; the exit code stays that of the cause (3 for an unreachable service). */
export class DemoStepError extends StreamMigrateError {
  readonly code = 'DEMO_STEP_FAILED';
  readonly exitCode: ExitCode;
  readonly retriable = false;
  constructor(message: string, cause: unknown) {
    super(message, cause === undefined ? {} : { cause });
    this.exitCode = cause instanceof StreamMigrateError ? cause.exitCode : 1;
  }
}
