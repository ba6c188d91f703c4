import type { Command } from 'commander';
import { createPostgresPool } from '../clients/postgres.ts';
import type { Config } from '../config/schema.ts';
import { formatDuration, parseDuration } from '../core/duration.ts';
import { CheckFailedError, StreamMigrateError, UsageError, messageOf, type ExitCode } from '../core/errors.ts';
import { probeLatency, type LatencyFigure } from '../demo/latency-probe.ts';
import { waitForCatchUp, measureRecovery, type RecoveryFigure } from '../demo/stream-checks.ts';
import { isLocalStackPostgres } from '../local-stack/local-target.ts';
import { ensureDemoSchema } from '../source/demo-schema.ts';
import { mulberry32 } from '../source/random.ts';
import { seedDemoSource } from '../source/seed.ts';
import { batchRun, type BatchRunJson } from './batch.ts';
import type { CommandContext, CommandResult } from './context.ts';
import { cutover } from './cutover.ts';
import { devUp } from './dev.ts';
import { load, type LoadSummary } from './load.ts';
import { phaseRun } from './phase.ts';
import type { Register } from './registry.ts';
import { renderTable } from './table.ts';

export interface DemoOptions {
  readonly rate: string;
  readonly duration: string;
}

interface StepRecord {
  readonly step: string;
  readonly seconds: number;
  readonly detail: string;
}

/**
 * The whole migration on the local stack, from nothing: services, source, the four phases, a
 * workload (with a processor crash in the middle, to measure recovery), the legacy batch for the
 * same window, validation, the cutover gate and the cutover itself, then the measured
 * "Batch vs Stream" table. Each step says what it did; a failure names the step and where to look.
 */
export async function demo(options: DemoOptions, ctx: CommandContext): Promise<CommandResult> {
  const rate = Number(options.rate);
  if (!Number.isFinite(rate) || rate <= 0 || rate > 20_000) throw new UsageError(`--rate ${options.rate}: expected orders per second between 1 and 20000`);
  const durationMs = parseDuration(options.duration);
  if (durationMs === undefined || durationMs < 10_000 || durationMs > 3_600_000) throw new UsageError(`--duration ${options.duration}: expected 10s to 1h`);
  const base = ctx.loaded();
  const { config } = base;
  if (!isLocalStackPostgres(config.source.url, config) || !isLocalStackPostgres(config.warehouse.url, config)) {
    throw new UsageError('demo runs on the embedded local stack only: source and warehouse must be its PostgreSQL (remove them from stream-migrate.yaml)');
  }
  // A demo cannot wait three days: three consecutive passes over the demo's own window, fresh within the hour.
  const demoConfig: Config = { ...config, cutover: { ...config.cutover, requiredReports: 3, minCoverage: '5m', maxReportAge: '1h', maxConsumerLag: 1000, maxDeadLetterGrowth: 0 } };
  const demoCtx: CommandContext = { ...ctx, json: true, loaded: () => ({ ...base, config: demoConfig }) };

  const steps: StepRecord[] = [];
  const total = 11;
  const run = async <T>(index: number, name: string, hint: string, fn: () => Promise<T>, describe: (value: T) => string): Promise<T> => {
    ctx.logger.info(`[${index}/${total}] ${name} ...`);
    const started = Date.now();
    try {
      const value = await fn();
      const detail = describe(value);
      const seconds = (Date.now() - started) / 1000;
      steps.push({ step: name, seconds, detail });
      ctx.logger.info(`[${index}/${total}] ${name}: ${detail} (${formatDuration(seconds * 1000)})`);
      return value;
    } catch (error) {
      const why = error instanceof StreamMigrateError ? error.message : messageOf(error);
      throw new DemoStepError(`demo stopped at step ${index} (${name}): ${why}; ${hint}`, error);
    }
  };
  const expectOk = (result: CommandResult, what: string): CommandResult => {
    if ((result.exitCode ?? 0) === 0) return result;
    const failedStep = (result.data as { steps?: readonly { name: string; status: string; detail: string }[] }).steps?.find((s) => s.status === 'failed');
    throw new CheckFailedError(`${what} did not succeed: ${failedStep ? `${failedStep.name}: ${failedStep.detail}` : result.text.split('\n').at(-1)}`);
  };

  await run(1, 'local stack', 'see `stream-migrate dev status` and `stream-migrate dev logs SERVICE`', () => devUp({}, demoCtx), (r) => (r.text.split('\n').at(-1) ?? ''));
  await run(2, 'demo source', 'check `stream-migrate dev logs postgres`', async () => {
    await ensureDemoSchema(config.source);
    const pool = createPostgresPool(config.source, 2, 'stream-migrate-demo');
    try {
      return await seedDemoSource(pool, { customers: 1000, products: 200, random: mulberry32(20261126) });
    } finally {
      await pool.end();
    }
  }, (s) => (s.customers + s.products > 0 ? `seeded ${s.customers} customers and ${s.products} products` : 'tables and seed data already there'));
  for (const [index, phase] of [[3, 'infrastructure'], [4, 'ingestion'], [5, 'processing'], [6, 'output']] as const) {
    await run(index, `phase ${phase}`, `see \`stream-migrate phase verify ${phase}\`${phase === 'processing' || phase === 'output' ? ' and `stream-migrate workers status`' : ''}`, async () => expectOk(await phaseRun({ dryRun: false, prune: false }, demoCtx, [phase]), `phase ${phase}`), () => 'succeeded');
  }

  let recovery: RecoveryFigure | undefined;
  let latency: LatencyFigure | undefined;
  const loadSummary = await run(7, `workload ${rate} orders/s for ${formatDuration(durationMs)}`, 'see `stream-migrate dev logs postgres`', async () => {
    // Halfway through, the processor is killed: the supervisor restarts it and we time the recovery.
    const crash = (async () => {
      await new Promise((r) => setTimeout(r, durationMs / 2));
      recovery = await measureRecovery(demoConfig, ctx.cwd, ctx.logger);
    })();
    // Latency is probed in the first, undisturbed half, before the crash.
    const stopProbing = new AbortController();
    setTimeout(() => stopProbing.abort(), durationMs / 2 - 1_000);
    const probing = probeLatency(demoConfig, stopProbing.signal).then((figure) => (latency = figure));
    const result = await load({ rate: String(rate), duration: `${Math.round(durationMs / 1000)}s`, customers: '1000' }, demoCtx);
    await Promise.all([crash, probing]);
    return result.data;
  }, (s: LoadSummary) => `${s.orders.inserted} orders inserted, ${s.orders.updated} updated, ${s.orders.cancelled} cancelled, ${s.orders.deleted} deleted, ${s.tierChanges} tier changes; ${s.achievedOrdersPerSecond} orders/s`);
  if (!loadSummary.window) throw new DemoStepError('demo stopped at step 7 (workload): no order was inserted', undefined);

  const caughtUp = await run(8, 'stream catches up', 'see `stream-migrate workers status` and the worker logs under .stream-migrate/workers/', () => waitForCatchUp(demoConfig, 180_000), (c) => `connector, processor and sink caught up in ${c.seconds.toFixed(1)} s after the load`);

  const window = { from: loadSummary.window.from, to: new Date(Date.parse(loadSummary.window.to) + 1).toISOString() };
  const batch = await run(9, 'legacy batch for the load window', 'see `stream-migrate audit` and the batch run in the state store', async () => expectOk(await batchRun({ from: window.from, to: window.to }, demoCtx), 'batch run').data as BatchRunJson, (b) => `${b.rows.processed_orders} processed orders, ${b.rows.order_summaries} summaries, ${b.rows.fraud_alerts} alerts for ${b.window.from} .. ${b.window.to}`);

  const validations = await run(10, 'validate batch vs stream (3 reports)', 'read the report: mismatched rows name their columns; see `stream-migrate audit`', async () => {
    // Validation compares whole 5-minute summary windows that have closed: wait for the last one.
    const closesInMs = Date.parse(batch.window.to) - Date.now() + 1_000;
    if (closesInMs > 0) {
      ctx.logger.info(`waiting ${formatDuration(closesInMs)} for the summary window ending ${batch.window.to} to close`);
      await new Promise((r) => setTimeout(r, closesInMs));
    }
    const { validate } = await import('./validate.ts');
    const reports: Record<string, unknown>[] = [];
    for (let i = 0; i < 3; i++) {
      const result = await validate({ from: batch.window.from, to: batch.window.to, settle: '0s' }, demoCtx);
      const data = result.data as Record<string, unknown>;
      if (data.verdict !== 'PASS') throw new CheckFailedError(`validation report ${String(data.reportId)} is ${String(data.verdict)}:\n${result.text}`);
      reports.push(data);
    }
    return reports;
  }, (r) => `${r.length} reports PASS (#${r.map((x) => String(x.reportId)).join(', #')})`);

  const gate = await run(11, 'cutover gate, then cutover', 'run `stream-migrate cutover --dry-run` to see the checklist', async () => {
    const dry = await cutover({ dryRun: true }, demoCtx);
    ctx.logger.info(dry.text);
    return expectOk(await cutover({ dryRun: false }, demoCtx), 'cutover');
  }, (r) => ((r.data as { executed: boolean }).executed ? 'gate held; the batch job is retired' : 'gate held; already cut over'));

  const batchSeconds = steps.find((s) => s.step.startsWith('legacy batch'))?.seconds ?? 0;
  const batchRows = batch.rows.processed_orders;
  const summary = {
    steps,
    window,
    load: loadSummary,
    latencyMs: latency ? { p50: latency.p50, p95: latency.p95, p99: latency.p99, probes: latency.probes } : null,
    reportLatencyMs: validations[0]?.latencyMs ?? null,
    recovery: recovery ?? null,
    catchUpSeconds: caughtUp.seconds,
    batch: { seconds: batchSeconds, rows: batch.rows, rowsPerSecond: batchSeconds > 0 ? Math.round(batchRows / batchSeconds) : null },
    cutover: gate.data,
  };
  const table = renderTable(
    ['', 'batch (legacy, nightly)', 'stream (this run)'],
    [
      ['data latency', 'up to 24 h + the nightly run (data of the previous day)', latency && latency.probes > 0 ? `p50 ${latency.p50} ms, p99 ${latency.p99} ms source commit → ClickHouse view (${latency.probes} probes)` : 'not measured'],
      ['throughput', `${summary.batch.rowsPerSecond ?? '?'} orders/s while running (${batchRows} in ${batchSeconds.toFixed(1)} s)`, `kept up with ${loadSummary.changesPerSecond} source changes/s; caught up ${caughtUp.seconds.toFixed(1)} s after the load`],
      ['recovery', 'a failed night is re-run by hand (minutes to hours later)', recovery ? `processor SIGKILLed: restarted and committing again after ${recovery.secondsToFirstCommit.toFixed(1)} s` : 'not measured'],
    ],
  );
  const text = [renderTable(['step', 'seconds', 'result'], steps.map((s) => [s.step, s.seconds.toFixed(1), s.detail])), '', 'Batch vs Stream (measured on this run)', table].join('\n');
  return { data: summary, text };
}

/** A step failed: the message names it; the exit code stays that of the cause (3 for an unreachable service). */
class DemoStepError extends StreamMigrateError {
  readonly code = 'DEMO_STEP_FAILED';
  readonly exitCode: ExitCode;
  readonly retriable = false;
  constructor(message: string, cause: unknown) {
    super(message, cause === undefined ? {} : { cause });
    this.exitCode = cause instanceof StreamMigrateError ? cause.exitCode : 1;
  }
}

export const registerDemo: Register = (program: Command, action) => {
  program
    .command('demo')
    .description('the whole migration end to end on the local stack, with a generated workload')
    .option('--rate <n>', 'orders per second of the workload', '300')
    .option('--duration <d>', 'how long the workload runs', '40s')
    .action(action(demo));
};
