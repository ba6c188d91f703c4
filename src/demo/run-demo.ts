/**
 * The whole migration on the local stack, from nothing: services, sources, the four phases, a
 * workload (with a processor crash in the middle, to measure recovery), the legacy batch for the
 * same window, validation, the cutover gate and the cutover itself. Each step calls the service
 * the matching command calls (never the command), says what it did, and a failure names the step.
 *
 * Three channels: web orders in PostgreSQL (CDC), partner orders from an HTTP API the demo runs,
 * and store orders from files the demo drops while the load runs (src/demo/demo-channels.ts).
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
import type { PatternResult } from '../validation/reconcile.ts';
import type { ValidationReport } from '../validation/report.ts';
import { runValidation } from '../validation/run-validation.ts';
import { OUTPUT_TABLES } from '../validation/tables.ts';
import { resolveValidationWindow } from '../validation/window.ts';
import type { Channel } from '../domain/output-tables.ts';
import { CHANNEL_ID_BASE } from '../sources/order-input.ts';
import { openDemoChannels, runChannelLoad, type ChannelLoadReport, type DemoChannels } from './demo-channels.ts';
import { probeLatency, type LatencyFigure } from './latency-probe.ts';
import { measureRecovery, waitForCatchUp, type ChannelExpectation, type RecoveryFigure } from './stream-checks.ts';
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

/** One channel in the widest validation report: processed orders on each side and how they differ. */
export interface ChannelFigure {
  readonly channel: Channel;
  /** Where its orders come from. */
  readonly source: string;
  readonly batchRows: number;
  readonly streamRows: number;
  readonly missingInStream: number;
  readonly missingInBatch: number;
  readonly mismatched: number;
}

/** What the partner API and the store directory did during the run. */
export interface DemoSources {
  readonly partner: { readonly url: string; readonly changes: number; readonly created: number; readonly corrected: number; readonly cancelled: number; readonly requests: number; readonly rateLimited: number; readonly serverErrors: number };
  readonly store: { readonly directory: string; readonly files: readonly string[]; readonly lines: number; readonly created: number; readonly corrected: number; readonly cancelled: number; readonly correctingFile: string | null; readonly correctedOrderId: number | null; readonly cancelledOrderId: number | null };
}

export interface DemoSummary {
  readonly steps: readonly StepRecord[];
  /** Per channel (web, partner, store), batch vs stream, from the widest validation report. */
  readonly channels: readonly ChannelFigure[];
  /** Fraud alerts per pattern ('' = the per-order thresholds), batch vs stream, from the widest validation report. */
  readonly patterns: readonly PatternResult[];
  readonly sources: DemoSources;
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
  let channels: DemoChannels | undefined;
  try {
    return await runDemoSteps(request, deps, (opened) => (channels = opened));
  } finally {
    await channels?.stop();
  }
}

async function runDemoSteps(request: DemoRequest, deps: DemoDeps, opened: (channels: DemoChannels) => void): Promise<DemoSummary> {
  // The user's configuration until step 2 has started the sources; the demo's own (with them) after.
  let config = demoConfig(deps.config);
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
  const sources = await step(2, 'demo sources', 'check `stream-migrate dev logs postgres` and the files under .stream-migrate/demo/', async () => {
    await ensureDemoSchema(config.source);
    const pool = createPostgresPool(config.source, 2, 'stream-migrate-demo');
    let seeded: Awaited<ReturnType<typeof seedDemoSource>>;
    try {
      seeded = await seedDemoSource(pool, { customers: DEMO_CUSTOMERS, products: DEMO_PRODUCTS, random: mulberry32(20261126) });
    } finally {
      await pool.end();
    }
    const channels = await openDemoChannels(deps.configFile, deps.cwd, deps.config, logger);
    opened(channels);
    return { seeded, channels };
  }, ({ seeded, channels }) => {
    const source = seeded.customers + seeded.products > 0 ? `seeded ${seeded.customers} customers and ${seeded.products} products` : 'PostgreSQL tables and seed data already there';
    const history = channels.partnerHistory > 0 ? ` (${channels.partnerHistory} changes from earlier runs)` : '';
    return `${source}; partner API on ${channels.partnerUrl}${history}; store files dropped into ${channels.paths.storeDir}`;
  });
  const channels = sources.channels;
  config = demoConfig(channels.config);
  const configFile = channels.configFile;

  const phases: readonly (readonly [number, PhaseName])[] = [[3, 'infrastructure'], [4, 'ingestion'], [5, 'processing'], [6, 'output']];
  for (const [index, phase] of phases) {
    const hint = `see \`stream-migrate phase verify ${phase}\`${phase === 'processing' || phase === 'output' ? ' and `stream-migrate workers status`' : ''}`;
    await step(index, `phase ${phase}`, hint, () => runDemoPhase(phase, config, configFile, deps), () => (phase === 'processing' ? `succeeded; processor, sink and source workers ${[...config.sources.http, ...config.sources.files].map((s) => `source-${s.name}`).join(', ')} supervised` : 'succeeded'));
  }

  let recovery: RecoveryFigure | undefined;
  let latency: LatencyFigure | undefined;
  let external: ChannelLoadReport | undefined;
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
      const catalogue = await loadCatalogue(pool);
      // Partner API changes and store files arrive while the web orders are written.
      const [report, channelLoad] = await Promise.all([
        runLoad(pool, catalogue, { ratePerSecond: request.ratePerSecond, durationMs: request.durationMs, random: mulberry32(20261127), connections: 4 }),
        runChannelLoad(channels, { ratePerSecond: request.ratePerSecond, durationMs: request.durationMs, random: mulberry32(20261128), catalogue }),
      ]);
      external = channelLoad;
      await Promise.all([crash, probing]);
      return report;
    } finally {
      await pool.end().catch(() => undefined);
    }
  }, (r) => {
    const c = r.counts;
    const web = `web: ${c.inserted} orders inserted, ${c.updated} updated, ${c.cancelled} cancelled, ${c.deleted} deleted, ${c.tierChanges} tier changes; ${Math.round(c.inserted / Math.max(0.001, r.elapsedMs / 1000))} orders/s`;
    const p = external?.partner;
    const s = external?.store;
    return `${web}; partner: ${p?.created ?? 0} orders, ${p?.corrected ?? 0} corrected, ${p?.cancelled ?? 0} cancelled; store: ${s?.created ?? 0} orders in ${s?.files.length ?? 0} files, the last correcting ${s?.corrected ?? 0} and cancelling ${s?.cancelled ?? 0} earlier orders`;
  });
  if (!load.window) throw new DemoStepError('demo stopped at step 7 (workload): no order was inserted', undefined);
  if (!external) throw new DemoStepError('demo stopped at step 7 (workload): the partner and store orders were not written', undefined);
  const channelLoad = external;
  const expectations: ChannelExpectation[] = [
    { channel: 'partner', orderIds: { from: CHANNEL_ID_BASE.partner + channelLoad.partner.idRange.from, to: CHANNEL_ID_BASE.partner + channelLoad.partner.idRange.to }, ...channelLoad.partner.live },
    { channel: 'store', orderIds: { from: CHANNEL_ID_BASE.store + channelLoad.store.idRange.from, to: CHANNEL_ID_BASE.store + channelLoad.store.idRange.to }, ...channelLoad.store.live },
  ];
  const loadWindow = { from: load.window.from.toISOString(), to: new Date(load.window.to.getTime() + 1).toISOString() };

  const caughtUp = await step(8, 'stream catches up', 'see `stream-migrate workers status` and the worker logs under .stream-migrate/workers/', () => waitForCatchUp(config, 180_000, expectations), (c) => `connector, source workers, processor and sink caught up in ${c.seconds.toFixed(1)} s after the load`);

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
  }, (r) => `${r.length} reports PASS (#${r.map((x) => x.reportId).join(', #')}); processed orders batch = stream per channel: ${channelFigures(r[0]).map((c) => `${c.channel} ${c.batchRows} = ${c.streamRows}`).join(', ')}`);

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
  const api = channels.partner.stats;
  return {
    steps,
    channels: channelFigures(reports[0]),
    patterns: reports[0]?.tables.find((t) => t.name === 'fraud_alerts')?.patterns ?? [],
    sources: {
      partner: { url: channels.partnerUrl, changes: channelLoad.partner.changes, created: channelLoad.partner.created, corrected: channelLoad.partner.corrected, cancelled: channelLoad.partner.cancelled, requests: api.served + api.rateLimited + api.failed, rateLimited: api.rateLimited, serverErrors: api.failed },
      store: { directory: channels.paths.storeDir, files: channelLoad.store.files, lines: channelLoad.store.lines, created: channelLoad.store.created, corrected: channelLoad.store.corrected, cancelled: channelLoad.store.cancelled, correctingFile: channelLoad.store.correctingFile, correctedOrderId: channelLoad.store.correctedOrderId, cancelledOrderId: channelLoad.store.cancelledOrderId },
    },
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

const CHANNEL_SOURCES: Readonly<Record<Channel, string>> = { web: 'PostgreSQL orders (CDC)', partner: 'partner HTTP API', store: 'store CSV/JSONL files' };

/** The processed orders of each channel in a report, batch vs stream. */
function channelFigures(report: ValidationReport | undefined): readonly ChannelFigure[] {
  const processed = report?.tables.find((t) => t.name === 'processed_orders');
  return (processed?.channels ?? []).map((c) => ({ ...c, source: CHANNEL_SOURCES[c.channel] }));
}

/**
 * Three distinct windows ending where the load ended: the load's own summary windows, then the
 * same widened back by one and by two summary windows (the batch covers the widest, so both sides
 * hold the same rows there). A re-run of one window would not add to the streak.
 */
export function demoWindows(fromMs: number, toMs: number, sizeMs: number): readonly { readonly fromMs: number; readonly toMs: number }[] {
  return [{ fromMs: fromMs - 2 * sizeMs, toMs }, { fromMs: fromMs - sizeMs, toMs }, { fromMs, toMs }];
}

async function runDemoPhase(name: PhaseName, config: Config, configFile: string, deps: DemoDeps): Promise<void> {
  const store = await openStateStore(config.warehouse);
  try {
    const result = await runPhase(PHASES[name], { config, logger: deps.logger, clock: deps.clock, progress: logProgress(deps.logger), options: { prune: false }, cwd: deps.cwd, configFile, redact: deps.redact }, store, deps.actor);
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
