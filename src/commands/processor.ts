import type { Command } from 'commander';
import { UsageError } from '../core/errors.ts';
import { runProcessor } from '../stream/processor.ts';
import type { CommandContext, CommandResult } from './context.ts';
import type { Register } from './registry.ts';
import { withWorkerLifecycle } from './worker-lifecycle.ts';

export interface ProcessorRunOptions {
  readonly instance: string;
  readonly metricsPort?: string;
}

/**
 * The long-running stream worker. SIGTERM or SIGINT finishes the open transaction, leaves the
 * group and returns; run several with distinct --instance ids to share the partitions.
 */
export async function processorRun(options: ProcessorRunOptions, ctx: CommandContext): Promise<CommandResult> {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(options.instance)) throw new UsageError(`--instance ${options.instance}: use letters, digits, '.', '_' or '-'`);
  const { config } = ctx.loaded();
  const logger = ctx.logger.child({ worker: options.instance });
  const lifecycle = { role: 'processor', portOption: options.metricsPort, defaultPort: config.monitoring.processorMetricsPort, portKey: 'monitoring.processorMetricsPort', logger } as const;
  return withWorkerLifecycle(lifecycle, async ({ metrics, port, signal }) => {
    logger.info(`processor ${options.instance} starting; metrics on http://127.0.0.1:${port}/metrics`);
    const summary = await runProcessor({ config, logger, metrics, instanceId: options.instance, signal });
    return {
      data: { instance: options.instance, ...summary },
      text: `processor ${options.instance} stopped: ${summary.recordsIn} records in, ${summary.recordsOut} out, ${summary.deadLettered} dead-lettered, ${summary.transactions} transactions`,
    };
  });
}

export const registerProcessor: Register = (program: Command, action) => {
  const processor = program.command('processor').description('the stream processor worker: CDC topics in, outputs out, exactly-once');
  processor
    .command('run')
    .description('run one worker until SIGTERM (run several with distinct --instance to scale)')
    .option('--instance <id>', 'stable worker id: static group membership and transactional id', 'w1')
    .option('--metrics-port <port>', 'Prometheus /metrics port (default monitoring.processorMetricsPort; 0 picks a free one)')
    .option('--json-logs', 'structured JSON log lines on stderr')
    .action(action(processorRun));
};
