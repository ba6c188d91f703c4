import path from 'node:path';
import type { Command } from 'commander';
import { parseDuration } from '../core/duration.ts';
import { UsageError } from '../core/errors.ts';
import { runDemo, type DemoSummary } from '../demo/run-demo.ts';
import { ensureDashboard } from '../local-stack/background-dashboard.ts';
import { isLocalStackPostgres } from '../local-stack/local-target.ts';
import { stackPaths } from '../local-stack/paths.ts';
import { patternLabel } from '../validation/report.ts';
import type { CommandContext, CommandResult } from './context.ts';
import type { Register } from './registry.ts';
import { renderTable } from './table.ts';

export interface DemoOptions {
  readonly rate: string;
  readonly duration: string;
  /** False with --no-dashboard. */
  readonly dashboard: boolean;
}

/**
 * The whole migration end to end on the local stack (src/demo/run-demo.ts), then the measured
 * "Batch vs Stream" table, with a row per channel (web, partner, store).
 */
export async function demo(options: DemoOptions, ctx: CommandContext): Promise<CommandResult<DemoSummary & { readonly dashboardUrl: string | null }>> {
  const rate = Number(options.rate);
  if (!Number.isFinite(rate) || rate <= 0 || rate > 20_000) throw new UsageError(`--rate ${options.rate}: expected orders per second between 1 and 20000`);
  const durationMs = parseDuration(options.duration);
  if (durationMs === undefined || durationMs < 10_000 || durationMs > 3_600_000) throw new UsageError(`--duration ${options.duration}: expected 10s to 1h`);
  const { config, file } = ctx.loaded();
  if (!isLocalStackPostgres(config.source.url, config) || !isLocalStackPostgres(config.warehouse.url, config)) {
    throw new UsageError('demo runs on the embedded local stack only: source and warehouse must be its PostgreSQL (remove them from stream-migrate.yaml)');
  }
  const summary = await runDemo(
    { ratePerSecond: rate, durationMs },
    { config, configFile: file, cwd: ctx.cwd, clock: ctx.clock, logger: ctx.logger, actor: ctx.actor, reportsDir: path.resolve(ctx.cwd, config.dev.dir, 'reports'), redact: (text) => ctx.redactor.redact(text) },
  );
  const dashboard = options.dashboard ? await ensureDashboard(stackPaths(config, ctx.cwd), config, ctx.cwd, file) : undefined;
  const dashboardLine =
    dashboard === undefined ? undefined : 'url' in dashboard ? `Live dashboard: ${dashboard.url}  (runs on; \`stream-migrate dev down\` stops it)` : `Live dashboard not started: ${dashboard.unavailable}`;
  return {
    data: { ...summary, dashboardUrl: dashboard && 'url' in dashboard ? dashboard.url : null },
    text: [renderDemo(summary), ...(dashboardLine ? ['', dashboardLine] : [])].join('\n'),
  };
}

function renderDemo(s: DemoSummary): string {
  const batchRows = s.batch.rows.processed_orders ?? 0;
  const latency = s.latencyMs;
  const table = renderTable(
    ['', 'batch (legacy, nightly)', 'stream (this run)'],
    [
      ['data latency', 'up to 24 h + the nightly run (data of the previous day)', latency && latency.probes > 0 ? `p50 ${latency.p50} ms, p99 ${latency.p99} ms source commit → ClickHouse view (${latency.probes} probes)` : 'not measured'],
      ['throughput', `${s.batch.rowsPerSecond ?? '?'} orders/s while running (${batchRows} in ${s.batch.seconds.toFixed(1)} s)`, `kept up with ${s.load.changesPerSecond} source changes/s; caught up ${s.catchUpSeconds.toFixed(1)} s after the load`],
      ['recovery', 'a failed night is re-run by hand (minutes to hours later)', s.recovery ? `processor SIGKILLed: restarted and committing again after ${s.recovery.secondsToFirstCommit.toFixed(1)} s` : 'not measured'],
      ...s.channels.map((c) => [`${c.channel} orders (${c.source})`, `${c.batchRows} processed orders${channelBatchNote(s, c.channel)}`, `${c.streamRows} processed orders, ${sameAsBatch(c)}${channelStreamNote(s, c.channel)}`]),
      ...s.patterns.map((p) => [`fraud alerts, ${patternLabel(p.pattern)}`, `${p.batchRows} alerts, computed by the batch for its window`, `${p.streamRows} alerts, ${sameAsBatch(p)}; live as orders change`]),
    ],
  );
  return [renderTable(['step', 'seconds', 'result'], s.steps.map((x) => [x.step, x.seconds.toFixed(1), x.detail])), '', 'Batch vs Stream (measured on this run)', table].join('\n');
}

function sameAsBatch(d: { readonly missingInStream: number; readonly missingInBatch: number; readonly mismatched: number }): string {
  return d.missingInStream + d.missingInBatch + d.mismatched === 0 ? 'equal to the batch' : `${d.missingInStream} missing, ${d.missingInBatch} extra, ${d.mismatched} differing`;
}

/** How the nightly job reads a channel. */
function channelBatchNote(s: DemoSummary, channel: string): string {
  if (channel === 'partner') return ', every API page read after the day';
  if (channel === 'store') return `, ${s.sources.store.files.length} files read in name order`;
  return ', extracted by query';
}

/** How the stream took a channel in: the API's pages, throttles and errors; the store files and the late correction. */
function channelStreamNote(s: DemoSummary, channel: string): string {
  const { partner, store } = s.sources;
  if (channel === 'partner') return `; ${partner.changes} API changes, ${partner.requests} requests, ${partner.rateLimited} answered 429, ${partner.serverErrors} answered 500 (retried)`;
  if (channel === 'store') return `; ${store.lines} lines in ${store.files.length} files${store.correctingFile ? `, the last correcting ${store.corrected} and cancelling ${store.cancelled} earlier orders` : ''}`;
  return '; by CDC';
}

export const registerDemo: Register = (program: Command, action) => {
  program
    .command('demo')
    .description('the whole migration end to end on the local stack, with a generated workload')
    .option('--rate <n>', 'orders per second of the workload', '300')
    .option('--duration <d>', 'how long the workload runs', '40s')
    .option('--no-dashboard', 'do not leave the live dashboard running at the end')
    .action(action(demo));
};
