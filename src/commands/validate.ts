import path from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../core/errors.ts';
import { identifier } from '../validation/fingerprint-sql.ts';
import { BATCH_SCHEMA } from '../validation/provenance.ts';
import { renderText, type ValidationReport } from '../validation/report.ts';
import { runValidation } from '../validation/run-validation.ts';
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
 * state) over one event-time window; the report is stored and written as JSON and Markdown.
 * Exit 0 on PASS, 1 on FAIL or NO_DATA (nothing to compare proves nothing); unreachable: exit 3.
 */
export async function validate(options: ValidateOptions, ctx: CommandContext): Promise<CommandResult<ValidationReport>> {
  const { config } = ctx.loaded();
  const window = resolveValidationWindow(options, ctx.clock.now(), config.validation.settle, config.rules.windowMinutes);
  const { tables, unknown } = parseTables(options.tables);
  if (unknown.length > 0 || tables.length === 0) {
    throw new UsageError(`--tables ${options.tables ?? ''}: unknown ${unknown.join(', ') || 'list'}; expected some of ${OUTPUT_TABLES.join(', ')}`);
  }
  const samples = options.samples === undefined ? config.validation.samples : Number(options.samples);
  if (!Number.isSafeInteger(samples) || samples < 0) throw new UsageError(`--samples ${options.samples ?? ''}: expected a whole number, 0 or more`);
  const report = await runValidation(
    {
      window,
      settle: options.settle ?? config.validation.settle,
      tables,
      samples,
      batchSchema: identifier(options.batchSchema ?? BATCH_SCHEMA),
      streamDatabase: identifier(options.streamDatabase ?? config.clickhouse.database),
      streamRead: options.viaViews ? 'view' : 'final',
      outDir: path.resolve(ctx.cwd, options.out ?? path.join(config.dev.dir, 'reports')),
    },
    { config, clock: ctx.clock, logger: ctx.logger, actor: ctx.actor },
  );
  return { data: report, text: renderText(report), exitCode: report.verdict === 'PASS' ? 0 : 1 };
}

export const registerValidate: Register = (program: Command, action) => {
  program
    .command('validate')
    .description('reconcile batch (PostgreSQL) vs stream (ClickHouse) outputs over an event-time window; exit 0 PASS, 1 FAIL or NO_DATA, 3 unreachable')
    .option('--window <duration>', 'the window ending at now − settle (default 24h)')
    .option('--from <iso>', 'window start, ISO-8601 UTC (with --to)')
    .option('--to <iso>', 'window end, exclusive; never later than now − settle')
    .option('--settle <duration>', 'newest event time left out, still in flight (default validation.settle)')
    .option('--tables <list>', `comma-separated subset of ${OUTPUT_TABLES.join(',')}`)
    .option('--out <dir>', 'where the JSON and Markdown reports go (default <dev.dir>/reports)')
    .option('--samples <n>', 'mismatched rows shown per table (default validation.samples)')
    .option('--batch-schema <name>', `warehouse schema of the batch outputs (default ${BATCH_SCHEMA}; another one makes a report that does not count toward cutover)`)
    .option('--stream-database <name>', 'ClickHouse database of the stream outputs (default clickhouse.database)')
    .option('--via-views', 'read the stream through its views instead of FINAL over the storage tables (same answer, slower)')
    .action(action(validate));
};
