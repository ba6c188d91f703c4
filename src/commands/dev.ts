import fs from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from '../core/errors.ts';
import { openStateStore } from '../state/state-store.ts';
import { isLocalStackPostgres } from '../local-stack/local-target.ts';
import { isServiceName, SERVICE_NAMES, stackPaths } from '../local-stack/paths.ts';
import { tailFile } from '../local-stack/processes.ts';
import type { ServiceContext } from '../local-stack/service.ts';
import { stackDown, stackStatus, stackUp, type ServiceStatus } from '../local-stack/stack.ts';
import type { CommandContext, CommandResult } from './context.ts';
import type { Register } from './registry.ts';
import { renderTable } from './table.ts';

function serviceContext(ctx: CommandContext): ServiceContext {
  const { config } = ctx.loaded();
  return { config, paths: stackPaths(config, ctx.cwd), logger: ctx.logger };
}

/** Installs what is missing and starts the five local services; idempotent. */
export async function devUp(_options: object, ctx: CommandContext): Promise<CommandResult> {
  const sctx = serviceContext(ctx);
  const result = await stackUp(sctx);
  await recordLocally(ctx, sctx, 'dev up', { seconds: result.seconds, started: result.services.filter((s) => s.action === 'started').map((s) => s.name) });
  const rows = result.services.map((s) => [s.name, s.endpoint, String(s.pid), s.action, s.detail]);
  return {
    data: { services: result.services.map(toContract), seconds: result.seconds },
    text: `${renderTable(['service', 'endpoint', 'pid', 'action', 'detail'], rows)}\nlocal stack ready in ${result.seconds.toFixed(1)}s`,
  };
}

/**
 * On the local stack the warehouse is ours: apply the state migrations now and audit the
 * command, so the first real command finds the state ready. A remote warehouse is left alone.
 */
async function recordLocally(ctx: CommandContext, sctx: ServiceContext, command: string, detail: Record<string, unknown>): Promise<void> {
  const warehouse = sctx.config.warehouse;
  if (!isLocalStackPostgres(warehouse.url, sctx.config)) return;
  const store = await openStateStore(warehouse);
  try {
    await store.audit.append({ actor: ctx.actor, command, target: 'local-stack', outcome: 'succeeded', detail });
  } finally {
    await store.close();
  }
}


/** Stops what `dev up` started; --purge also deletes the data. */
export async function devDown(options: { readonly purge: boolean }, ctx: CommandContext): Promise<CommandResult> {
  const sctx = serviceContext(ctx);
  const stopped = await stackDown(sctx, { purge: options.purge });
  const lines = stopped.map((s) => `${s.name.padEnd(10)} ${s.stopped ? 'stopped' : 'was not running'}`);
  if (options.purge) lines.push(`removed ${sctx.paths.root}`);
  return { data: { services: stopped, purged: options.purge }, text: lines.join('\n') };
}

/** Probes each service for real; exit 1 when any is unhealthy so scripts can gate on it. */
export async function devStatus(_options: object, ctx: CommandContext): Promise<CommandResult> {
  const services = await stackStatus(serviceContext(ctx));
  const rows = services.map((s) => [s.name, s.healthy ? 'healthy' : 'DOWN', s.endpoint, s.pid === null ? '-' : String(s.pid), s.detail]);
  return {
    data: { services: services.map(toContract) },
    text: renderTable(['service', 'state', 'endpoint', 'pid', 'detail'], rows),
    exitCode: services.every((s) => s.healthy) ? 0 : 1,
  };
}

export interface LogsOptions {
  readonly lines: string;
  readonly follow: boolean;
}

/** Prints the end of a service's log; --follow keeps printing until interrupted. */
export async function devLogs(options: LogsOptions, ctx: CommandContext, args: readonly string[]): Promise<CommandResult> {
  const name = args[0] ?? '';
  if (!isServiceName(name)) throw new UsageError(`unknown service "${name}"; choose one of ${SERVICE_NAMES.join(', ')}`);
  const lines = Number(options.lines);
  if (!Number.isInteger(lines) || lines < 0) throw new UsageError(`--lines ${options.lines}: expected a whole number`);
  const file = serviceContext(ctx).paths.logFile(name);
  if (!fs.existsSync(file)) throw new UsageError(`${name} has no log yet at ${file}; start the stack with \`stream-migrate dev up\``);
  if (!options.follow) return { data: { service: name, file, text: tailFile(file, lines) }, text: tailFile(file, lines) };
  process.stdout.write(tailFile(file, lines) + '\n');
  await follow(file);
  return { data: { service: name, file }, text: '' };
}

function follow(file: string): Promise<void> {
  return new Promise((resolve) => {
    let position = fs.statSync(file).size;
    const timer = setInterval(() => {
      const size = fs.statSync(file).size;
      if (size < position) position = 0;
      if (size > position) {
        const fd = fs.openSync(file, 'r');
        const buffer = Buffer.alloc(size - position);
        fs.readSync(fd, buffer, 0, buffer.length, position);
        fs.closeSync(fd);
        process.stdout.write(buffer);
        position = size;
      }
    }, 500);
    process.once('SIGINT', () => {
      clearInterval(timer);
      resolve();
    });
  });
}

/** The `dev status --json` contract of DESIGN.md (plus pid and log file, which scripts find useful). */
function toContract(s: ServiceStatus): Record<string, unknown> {
  return { name: s.name, healthy: s.healthy, endpoint: s.endpoint, detail: s.detail, pid: s.pid, logFile: s.logFile };
}

export const registerDev: Register = (program: Command, action) => {
  const dev = program.command('dev').description('the embedded local stack: PostgreSQL, Kafka (KRaft), Kafka Connect + Debezium, ClickHouse, schema registry');
  dev.command('up').description('install what is missing and start the five services (idempotent)').action(action(devUp));
  dev
    .command('down')
    .description('stop the services started by `dev up` (data kept)')
    .option('--purge', 'also delete their data under .stream-migrate/', false)
    .action(action(devDown));
  dev.command('status').description('probe each service').action(action(devStatus));
  dev
    .command('logs')
    .description('print the end of a service log')
    .argument('<service>', SERVICE_NAMES.join(' | '))
    .option('-n, --lines <n>', 'how many lines', '50')
    .option('-f, --follow', 'keep printing new lines', false)
    .action(action(devLogs));
};
