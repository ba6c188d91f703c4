import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { failedOnDependency, runBatch, type BatchMode, type BatchRunOutcome } from '../batch-legacy/run-batch.ts';
import { isoOf, resolveWindow } from '../batch-legacy/window.ts';
import { alignmentMinutes } from '../domain/patterns.ts';
import { formatDuration } from '../core/duration.ts';
import { openStateStore } from '../state/state-store.ts';
import type { CommandContext, CommandResult } from './context.ts';
import { createProgress } from './progress.ts';
import type { Register } from './registry.ts';

export interface BatchRunOptions {
  readonly date?: string;
  readonly from?: string;
  readonly to?: string;
  readonly scheduled?: boolean;
}

/** The `batch run --json` contract of DESIGN.md, plus what a person debugging a run wants. */
export interface BatchRunJson {
  readonly runId: number;
  readonly window: { readonly from: string; readonly to: string };
  readonly status: 'succeeded' | 'failed' | 'skipped';
  readonly rows: { readonly processed_orders: number; readonly order_summaries: number; readonly fraud_alerts: number };
  readonly skipped: boolean;
  readonly reason: string | null;
  readonly mode: BatchMode;
  readonly scheduled: boolean;
  /** The window the flags asked for, when it was rounded out to whole summary windows. */
  readonly requestedWindow: { readonly from: string; readonly to: string } | null;
  readonly sourceOrders: number;
  readonly ignoredOrders: { readonly cancelled: number; readonly missingReference: number; readonly invalid: number };
  readonly exitCode: number | null;
  readonly timings: BatchRunOutcome['timings'];
}

/**
 * Runs the legacy batch job for one window (default: the previous UTC day), built-in or the
 * configured external command, and records the run. Exit 1 when the run failed, 3 when it
 * failed because a database stayed unreachable; a scheduled run the guard refuses exits 0.
 */
export async function batchRun(options: BatchRunOptions, ctx: CommandContext): Promise<CommandResult<BatchRunJson>> {
  const { config } = ctx.loaded();
  const window = resolveWindow(options, ctx.clock.now(), alignmentMinutes(config.rules));
  if (window.rounded) {
    ctx.logger.info(
      `window ${isoOf(window.requested.fromMs)} .. ${isoOf(window.requested.toMs)} rounded out to whole ${config.rules.windowMinutes}-minute summary windows: ${isoOf(window.fromMs)} .. ${isoOf(window.toMs)}`,
    );
  }
  const store = await openStateStore(config.warehouse);
  try {
    const progress = process.stderr.isTTY === true ? createProgress(ctx.logger) : undefined;
    const outcome = await runBatch(
      { window, scheduled: Boolean(options.scheduled) },
      { config, store, logger: ctx.logger, clock: ctx.clock, actor: ctx.actor, progress },
    );
    const data: BatchRunJson = {
      runId: outcome.runId,
      window: { from: isoOf(window.fromMs), to: isoOf(window.toMs) },
      status: outcome.status,
      rows: outcome.rows,
      skipped: outcome.skipped,
      reason: outcome.reason,
      mode: outcome.mode,
      scheduled: outcome.scheduled,
      requestedWindow: window.rounded ? { from: isoOf(window.requested.fromMs), to: isoOf(window.requested.toMs) } : null,
      sourceOrders: outcome.sourceOrders,
      ignoredOrders: outcome.ignored,
      exitCode: outcome.exitCode,
      timings: outcome.timings,
    };
    const exitCode = outcome.status !== 'failed' ? 0 : failedOnDependency(outcome) ? 3 : 1;
    return { data, text: renderRun(data), exitCode };
  } finally {
    await store.close();
  }
}

function renderRun(r: BatchRunJson): string {
  const head = `batch run ${r.runId} ${r.status}: ${r.window.from} .. ${r.window.to} (${r.mode}${r.scheduled ? ', scheduled' : ''})`;
  if (r.status === 'skipped') return `${head}\n  skipped: ${r.reason ?? ''}`;
  if (r.status === 'failed') {
    const exit = r.exitCode !== null ? ` (exit status ${r.exitCode})` : '';
    return `${head}\n  ${r.reason ?? 'failed'}${exit}\n  re-run the same window once the cause is fixed: the window's previous rows are untouched`;
  }
  const lines = [head, `  processed_orders ${r.rows.processed_orders}  order_summaries ${r.rows.order_summaries}  fraud_alerts ${r.rows.fraud_alerts}`];
  if (r.mode === 'builtin') {
    const seconds = r.timings.totalMs / 1_000;
    const rate = seconds > 0 ? Math.round(r.sourceOrders / seconds) : r.sourceOrders;
    const ig = r.ignoredOrders;
    lines.push(`  ${r.sourceOrders} source orders (${ig.cancelled} cancelled, ${ig.missingReference} missing customer/product, ${ig.invalid} invalid) in ${formatDuration(r.timings.totalMs)}, ${rate} orders/s`);
  } else {
    lines.push(`  external job exited ${r.exitCode ?? '?'} after ${formatDuration(r.timings.totalMs)}`);
  }
  return lines.join('\n');
}

export interface BatchScheduleJson {
  readonly schedule: string;
  readonly command: string;
  readonly line: string;
  readonly cwd: string;
  readonly config: string | null;
  readonly log: string;
}

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/stream-migrate');

/**
 * Prints the crontab line the team installs: `batch.schedule`, then a command that works under
 * cron's bare environment (the absolute launcher, which picks the pinned Node itself; the working
 * directory and --config this configuration came from) running `batch run --scheduled`, appending to a log.
 */
export async function batchSchedule(_options: object, ctx: CommandContext): Promise<CommandResult<BatchScheduleJson>> {
  const loaded = ctx.loaded();
  const cwd = path.resolve(ctx.cwd);
  const log = path.join(loaded.config.dev.dir, 'batch.log');
  const parts = [BIN, ...(loaded.file ? ['--config', loaded.file] : []), 'batch', 'run', '--scheduled'].map(shellQuote);
  const command = `cd ${shellQuote(cwd)} && mkdir -p ${shellQuote(path.dirname(log))} && ${parts.join(' ')} >> ${shellQuote(log)} 2>&1`;
  // cron turns an unescaped % into a newline.
  const line = `${loaded.config.batch.schedule} ${command.replace(/%/g, '\\%')}`;
  return {
    data: { schedule: loaded.config.batch.schedule, command, line, cwd, config: loaded.file ?? null, log },
    text: line,
  };
}

function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export const registerBatch: Register = (program: Command, action) => {
  const batch = program.command('batch').description('the legacy batch ETL: run it for a window, or print its crontab line');
  batch
    .command('run')
    .description('extract, transform and load one window (default: the previous UTC day), replacing its rows atomically')
    .option('--date <YYYY-MM-DD>', 'one UTC day')
    .option('--from <iso>', 'window start, ISO-8601 with a zone (rounded down to a summary window)')
    .option('--to <iso>', 'window end, exclusive (rounded up to a summary window)')
    .option('--scheduled', 'started by cron: does nothing (exit 0, saying why) once the batch job is retired')
    .action(action(batchRun));
  batch
    .command('schedule')
    .description('print the crontab line that runs `batch run --scheduled` on batch.schedule')
    .action(action(batchSchedule));
};
