import type { Command } from 'commander';
import { UsageError } from '../core/errors.ts';
import { Metrics } from '../core/metrics.ts';
import { runProcessor } from '../stream/processor.ts';
import type { CommandContext, CommandResult } from './context.ts';
import type { Register } from './registry.ts';

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
  const port = options.metricsPort === undefined ? config.monitoring.processorMetricsPort : Number(options.metricsPort);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new UsageError(`--metrics-port ${options.metricsPort}: expected a port number`);
  const metrics = new Metrics();
  const server = await metrics.serve(port).catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(
      error.code === 'EADDRINUSE'
        ? `metrics port ${port} is taken (another worker?); pass --metrics-port or set monitoring.processorMetricsPort`
        : `cannot serve metrics on port ${port}: ${error.message}`,
    );
  });
  const controller = new AbortController();
  const stop = (signal: NodeJS.Signals) => {
    ctx.logger.info(`processor: ${signal} received, finishing the open transaction`);
    controller.abort();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  const logger = ctx.logger.child({ worker: options.instance });
  logger.info(`processor ${options.instance} starting; metrics on http://127.0.0.1:${port}/metrics`);
  try {
    const summary = await runProcessor({ config, logger, metrics, instanceId: options.instance, signal: controller.signal });
    return {
      data: { instance: options.instance, ...summary },
      text: `processor ${options.instance} stopped: ${summary.recordsIn} records in, ${summary.recordsOut} out, ${summary.deadLettered} dead-lettered, ${summary.transactions} transactions`,
    };
  } finally {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    server.close();
  }
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
