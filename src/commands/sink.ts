import type { Command } from 'commander';
import { createClickHouse } from '../clients/clickhouse.ts';
import { UsageError } from '../core/errors.ts';
import { migrateClickHouse } from '../output/clickhouse-migrations.ts';
import { prepareClickHouse, runSink } from '../output/sink.ts';
import type { CommandContext, CommandResult } from './context.ts';
import type { Register } from './registry.ts';
import { withWorkerLifecycle } from './worker-lifecycle.ts';

export interface SinkRunOptions {
  readonly instance: string;
  readonly metricsPort?: string;
}

/**
 * The long-running ClickHouse sink: applies the ClickHouse migrations, then writes the output
 * topics to ClickHouse until SIGTERM or SIGINT, which finishes (or gives up) the batch in hand.
 * Several sinks with distinct --instance ids share the partitions.
 */
export async function sinkRun(options: SinkRunOptions, ctx: CommandContext): Promise<CommandResult> {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(options.instance)) throw new UsageError(`--instance ${options.instance}: use letters, digits, '.', '_' or '-'`);
  const { config } = ctx.loaded();
  const logger = ctx.logger.child({ worker: options.instance });
  const lifecycle = { role: 'sink', portOption: options.metricsPort, defaultPort: config.monitoring.sinkMetricsPort, portKey: 'monitoring.sinkMetricsPort', logger } as const;
  return withWorkerLifecycle(lifecycle, async ({ metrics, port, signal }) => {
    logger.info(`sink ${options.instance} starting; metrics on http://127.0.0.1:${port}/metrics`);
    const migrations = await prepareClickHouse({ config, logger, metrics, signal });
    if (migrations && migrations.applied.length > 0) logger.info(`sink: applied ClickHouse migrations ${migrations.applied.join(', ')} to ${config.clickhouse.database}`);
    const summary = await runSink({ config, logger, metrics, instanceId: options.instance, signal });
    const rows = Object.values(summary.rows).reduce((a, b) => a + b, 0);
    return {
      data: { instance: options.instance, migrationsApplied: migrations?.applied ?? [], ...summary },
      text: `sink ${options.instance} stopped: ${summary.records} records in, ${rows} rows written, ${summary.deadLettered} dead-lettered, ${summary.batches} batches, ${summary.clickhouseRetries} ClickHouse retries`,
    };
  });
}

/** Applies the pending ClickHouse migrations (creating the database if needed) and says what it did. */
export async function sinkMigrate(_options: object, ctx: CommandContext): Promise<CommandResult> {
  const { config } = ctx.loaded();
  const database = config.clickhouse.database;
  // The target database may not exist yet; `default` always does.
  const ch = createClickHouse(config.clickhouse, 'default');
  try {
    const result = await migrateClickHouse(ch, database);
    const applied = result.applied.length > 0 ? `applied ${result.applied.join(', ')}` : 'nothing to apply';
    return {
      data: { database, applied: result.applied, alreadyApplied: result.alreadyApplied },
      text: `ClickHouse ${database}: ${applied}; ${result.alreadyApplied} already applied`,
    };
  } finally {
    await ch.close().catch(() => undefined);
  }
}

export const registerSink: Register = (program: Command, action) => {
  const sink = program.command('sink').description('write the output topics to ClickHouse, idempotently (latest version per key)');
  sink
    .command('run')
    .description('apply the ClickHouse migrations, then run one sink worker until SIGTERM (run several with distinct --instance to scale)')
    .option('--instance <id>', 'stable worker id: static group membership and client ids', 's1')
    .option('--metrics-port <port>', 'Prometheus /metrics port (default monitoring.sinkMetricsPort; 0 picks a free one)')
    .option('--json-logs', 'structured JSON log lines on stderr')
    .action(action(sinkRun));
  sink
    .command('migrate')
    .description('only apply the ClickHouse migrations (database, versioned tables, views)')
    .action(action(sinkMigrate));
};
