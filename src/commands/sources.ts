import type { Command } from 'commander';
import { SOURCE_NAME } from '../config/schema.ts';
import { UsageError } from '../core/errors.ts';
import { runSource } from '../sources/run-source.ts';
import { sourceSpecs } from '../sources/source-topics.ts';
import type { CommandContext, CommandResult } from './context.ts';
import type { Register } from './registry.ts';
import { withWorkerLifecycle } from './worker-lifecycle.ts';

export interface SourcesRunOptions {
  readonly name: string;
  readonly metricsPort?: string;
}

/** One order source's worker (partner API or store files), until SIGTERM: its topic, exactly once. */
export async function sourcesRun(options: SourcesRunOptions, ctx: CommandContext): Promise<CommandResult> {
  if (!SOURCE_NAME.test(options.name)) throw new UsageError(`--name ${options.name}: use the name of an entry of sources.http or sources.files`);
  const { config } = ctx.loaded();
  const logger = ctx.logger.child({ source: options.name });
  const lifecycle = { role: 'source', portOption: options.metricsPort ?? '0', defaultPort: 0, portKey: '--metrics-port', logger } as const;
  return withWorkerLifecycle(lifecycle, async ({ metrics, port, signal }) => {
    logger.info(`source ${options.name} starting; metrics on http://127.0.0.1:${port}/metrics`);
    const summary = await runSource({ config, logger, metrics, name: options.name, signal });
    return {
      data: summary,
      text: `source ${summary.source} stopped: ${summary.records} order changes, ${summary.deadLettered} dead-lettered, ${summary.transactions} transactions`,
    };
  });
}

/** The configured sources, their kind, channel and topic. */
export async function sourcesList(_options: object, ctx: CommandContext): Promise<CommandResult> {
  const specs = sourceSpecs(ctx.loaded().config).map((s) => ({ name: s.name, kind: s.kind, channel: s.channel, topic: s.topic, from: s.kind === 'http' ? new URL(s.config.url).origin + new URL(s.config.url).pathname : s.config.directory }));
  return { data: { sources: specs }, text: specs.length === 0 ? 'no sources configured (sources.http, sources.files)' : specs.map((s) => `${s.name}  ${s.kind}  ${s.channel}  ${s.from} → ${s.topic}`).join('\n') };
}

export const registerSources: Register = (program: Command, action) => {
  const sources = program.command('sources').description('order sources besides CDC: partner HTTP APIs and store file directories');
  sources
    .command('run')
    .description('run one source worker until SIGTERM (started by the supervisor for every configured source)')
    .requiredOption('--name <name>', 'the source, as named in sources.http or sources.files')
    .option('--metrics-port <port>', 'Prometheus /metrics port (default 0: a free one)')
    .option('--json-logs', 'structured JSON log lines on stderr')
    .action(action(sourcesRun));
  sources.command('list').description('the configured sources').option('--json', 'one JSON document on stdout').action(action(sourcesList));
};
