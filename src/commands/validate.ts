import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../core/errors.ts';
import { openStateStore } from '../state/state-store.ts';
import { ValidationReports } from '../state/validation-reports.ts';
import { identifier } from '../validation/fingerprint-sql.ts';
import { judge } from '../validation/policy.ts';
import { reconcile } from '../validation/reconcile.ts';
import { buildReport, renderMarkdown, renderText, type ValidationReport } from '../validation/report.ts';
import { OUTPUT_TABLES, parseTables } from '../validation/tables.ts';
import { resolveValidationWindow } from '../validation/window.ts';
import type { CommandContext, CommandResult } from './context.ts';
import type { Register } from './registry.ts';

export interface ValidateOptions {
  readonly window?: string;
  readonly from?: string;
  readonly to?: string;
  readonly settle?: string;
  readonly tables?: string;
  readonly out?: string;
  readonly samples?: string;
  readonly batchSchema?: string;
  readonly streamDatabase?: string;
  readonly viaViews?: boolean;
}

/**
 * Compares the batch outputs (warehouse PostgreSQL) with the stream outputs (ClickHouse current
 * state) over one event-time window, stores the report in the state store, writes it as JSON and
 * Markdown, and returns it. Exit 0 on PASS, 1 on FAIL; an unreachable database throws (exit 3).
 */
export async function validate(options: ValidateOptions, ctx: CommandContext): Promise<CommandResult<ValidationReport>> {
  const started = performance.now();
  const { config } = ctx.loaded();
  const window = resolveValidationWindow(options, ctx.clock.now(), config.validation.settle, config.rules.windowMinutes);
  const { tables, unknown } = parseTables(options.tables);
  if (unknown.length > 0 || tables.length === 0) {
    throw new UsageError(`--tables ${options.tables ?? ''}: unknown ${unknown.join(', ') || 'list'}; expected some of ${OUTPUT_TABLES.join(', ')}`);
  }
  const samples = options.samples === undefined ? config.validation.samples : Number(options.samples);
  if (!Number.isSafeInteger(samples) || samples < 0) throw new UsageError(`--samples ${options.samples ?? ''}: expected a whole number, 0 or more`);
  const schema = identifier(options.batchSchema ?? 'public');
  const database = identifier(options.streamDatabase ?? config.clickhouse.database);
  const streamRead = options.viaViews ? 'view' : 'final';
  const settle = options.settle ?? config.validation.settle;

  const store = await openStateStore(config.warehouse);
  try {
    const result = await reconcile(
      { tables, window: { fromSec: window.fromMs / 1000, toSec: window.toMs / 1000 }, target: { schema, database, streamRead }, samples },
      { warehouse: config.warehouse, clickhouse: config.clickhouse, logger: ctx.logger },
    );
    const policy = judge(result.tables, config.validation.tolerances);
    const body = buildReport({
      window,
      settle,
      tables: result.tables,
      latency: result.latency,
      verdict: policy.verdict,
      failures: policy.failures,
      failedTables: policy.failedTables,
      tolerances: config.validation.tolerances,
      batchSchema: schema,
      streamDatabase: database,
      streamRead,
      elapsedMs: performance.now() - started,
      createdAt: ctx.clock.now(),
    });
    const reportId = await new ValidationReports(store.pool).save({
      windowFrom: new Date(window.fromMs),
      windowTo: new Date(window.toMs),
      verdict: policy.verdict,
      report: body,
      elapsedMs: body.elapsedMs,
      actor: ctx.actor,
    });
    const outDir = path.resolve(ctx.cwd, options.out ?? path.join(config.dev.dir, 'reports'));
    const files = { json: path.join(outDir, `validation-${reportId}.json`), markdown: path.join(outDir, `validation-${reportId}.md`) };
    const report: ValidationReport = { reportId, ...body, files };
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(files.json, JSON.stringify(report, null, 2) + '\n');
    fs.writeFileSync(files.markdown, renderMarkdown(report));
    await store.audit.append({
      actor: ctx.actor,
      command: 'validate',
      target: `${body.window.from}..${body.window.to}`,
      outcome: policy.verdict === 'PASS' ? 'succeeded' : 'failed',
      detail: { reportId, verdict: policy.verdict, failures: policy.failures },
    });
    return { data: report, text: renderText(report), exitCode: policy.verdict === 'PASS' ? 0 : 1 };
  } finally {
    await store.close();
  }
}

export const registerValidate: Register = (program: Command, action) => {
  program
    .command('validate')
    .description('reconcile batch (PostgreSQL) vs stream (ClickHouse) outputs over an event-time window; exit 0 PASS, 1 FAIL, 3 unreachable')
    .option('--window <duration>', 'the window ending at now − settle (default 24h)')
    .option('--from <iso>', 'window start, ISO-8601 UTC (with --to)')
    .option('--to <iso>', 'window end, exclusive; never later than now − settle')
    .option('--settle <duration>', 'newest event time left out, still in flight (default validation.settle)')
    .option('--tables <list>', `comma-separated subset of ${OUTPUT_TABLES.join(',')}`)
    .option('--out <dir>', 'where the JSON and Markdown reports go (default <dev.dir>/reports)')
    .option('--samples <n>', 'mismatched rows shown per table (default validation.samples)')
    .option('--batch-schema <name>', 'warehouse schema of the batch outputs', 'public')
    .option('--stream-database <name>', 'ClickHouse database of the stream outputs (default clickhouse.database)')
    .option('--via-views', 'read the stream through its views instead of FINAL over the storage tables (same answer, slower)')
    .action(action(validate));
};
