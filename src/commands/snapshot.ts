import type { Command } from 'commander';
import { UsageError } from '../core/errors.ts';
import { runIncrementalSnapshot, type SnapshotResult } from '../snapshot/incremental-snapshot.ts';
import type { CommandContext, CommandResult } from './context.ts';
import { createProgress } from './progress.ts';
import type { Register } from './registry.ts';

export interface SnapshotOptions {
  readonly table: string;
  readonly where?: string;
  readonly dryRun: boolean;
}

/** Re-sends a captured table's rows (those matching --where) through a Debezium incremental snapshot, and follows it. */
export async function snapshot(options: SnapshotOptions, ctx: CommandContext): Promise<CommandResult<SnapshotResult>> {
  if (options.where !== undefined && options.where.trim() === '') throw new UsageError('--where: empty condition; leave it out to re-send the whole table');
  const { config } = ctx.loaded();
  const result = await runIncrementalSnapshot(
    { table: options.table, where: options.where, dryRun: options.dryRun },
    { config, logger: ctx.logger, clock: ctx.clock, progress: createProgress(ctx.logger) },
  );
  return { data: result, text: render(result) };
}

function render(r: SnapshotResult): string {
  const what = `${r.table}${r.where ? ` where ${r.where}` : ''}`;
  if (r.dryRun) {
    return [`dry run: nothing was sent`, `would re-send ${r.matchingRows} rows of ${what} (incremental snapshot)`, `signal: ${r.signal.type} ${r.signal.data}`].join('\n');
  }
  return `snapshot ${r.signal.id} done: re-sent ${r.rows} rows of ${what} in ${((r.elapsedMs ?? 0) / 1_000).toFixed(1)}s, ${r.rowsPerSecond} rows/s`;
}

export const registerSnapshot: Register = (program: Command, action) => {
  program
    .command('snapshot')
    .description("re-send a captured table's current rows through a Debezium incremental snapshot (backfill a new column, repair after a fault)")
    .requiredOption('--table <schema.table>', 'one of connector.tables, e.g. public.orders')
    .option('--where <condition>', 'SQL condition on the table: only matching rows are re-sent, e.g. "id <= 1000"')
    .option('--dry-run', 'count the rows and show the signal; send nothing', false)
    .action(action(snapshot));
};
