import type { Command } from 'commander';
import { parseDuration } from '../core/duration.ts';
import { UsageError } from '../core/errors.ts';
import { isLoopback, generateToken } from '../dashboard/auth.ts';
import { dashboardCollector } from '../dashboard/collect.ts';
import { startDashboardServer } from '../dashboard/server.ts';
import { openDashboardSources } from '../dashboard/sources.ts';
import type { CommandContext, CommandResult } from './context.ts';
import type { Register } from './registry.ts';

export interface DashboardOptions {
  readonly port?: string;
  readonly host?: string;
  readonly token?: string;
  readonly interval: string;
}

const LOOPBACK = '127.0.0.1';

/**
 * A live web dashboard of the business figures, the pipeline's health and the migration, from
 * the same queries as `status`. Serves until SIGINT or SIGTERM, then closes cleanly (exit 0).
 * Loopback only by default; `--host` exposes it and then requires a token (one is generated and
 * printed when none is given).
 */
export async function dashboard(options: DashboardOptions, ctx: CommandContext): Promise<CommandResult> {
  if (ctx.json) throw new UsageError('dashboard is a server and has no --json: it prints its URL and serves until Ctrl-C; `status --json` prints one snapshot');
  const { config } = ctx.loaded();
  const portText = options.port ?? String(config.monitoring.dashboardPort);
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65_535) throw new UsageError(`--port ${portText}: expected a port number (0 picks a free one)`);
  const intervalMs = parseDuration(options.interval);
  if (intervalMs === undefined || intervalMs < 500 || intervalMs > 2_000) throw new UsageError(`--interval ${options.interval}: expected a duration from 500ms to 2s`);
  if (options.token !== undefined && !/^[A-Za-z0-9._~-]{16,}$/.test(options.token)) throw new UsageError('--token: expected at least 16 characters of letters, digits, ".", "_", "~" or "-"');
  const host = options.host ?? LOOPBACK;
  const exposed = options.host !== undefined;
  // Exposed means readable by others: never without a token, whatever address was given.
  const token = options.token ?? (exposed ? generateToken() : null);
  if (token !== null) ctx.redactor.add(token);

  const sources = openDashboardSources({ config, cwd: ctx.cwd, logger: ctx.logger });
  const redact = (text: string) => ctx.redactor.redact(text);
  let server;
  try {
    server = await startDashboardServer({ host, port, token, intervalMs, collect: dashboardCollector({ config, sources, clock: ctx.clock, redact }), redact, logger: ctx.logger });
  } catch (error) {
    await sources.close();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new UsageError(`port ${port} on ${host} is taken: pass --port N (0 picks a free one)`);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new UsageError(`--host ${host}: not an address of this machine`);
    throw error;
  }

  // The one line the user needs while it runs, so it is written now rather than returned at the end.
  // The token is printed here on purpose (it was generated for this user); it is redacted everywhere else.
  process.stdout.write(`dashboard on ${server.url}${token === null ? '' : `?token=${token}`}\n`);
  if (exposed && isLoopback(host)) ctx.logger.info('--host is a loopback address: the dashboard requires its token but is reachable from this machine only');
  if (token !== null) ctx.logger.info('requests without the token get 401; Ctrl-C stops the dashboard');
  else ctx.logger.info('loopback only, no token; Ctrl-C stops the dashboard');

  let stop: (signal: NodeJS.Signals) => void = () => undefined;
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    stop = resolve;
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  await server.close();
  await sources.close();
  return { data: { url: server.url, stoppedBy: signal }, text: `dashboard stopped (${signal})` };
}

export const registerDashboard: Register = (program: Command, action) => {
  program
    .command('dashboard')
    .description('live web dashboard: business figures, pipeline health, the migration (server-sent events; loopback unless --host)')
    .option('--port <n>', 'port to listen on (default monitoring.dashboardPort, 18088; 0 picks a free one)')
    .option('--host <address>', 'address to listen on, exposing the dashboard: then a token is required (generated and printed unless --token)')
    .option('--token <token>', 'the token requests must carry (cookie after the first ?token= visit, or Authorization: Bearer)')
    .option('--interval <duration>', 'how often the page updates (at most 2s)', '2s')
    .action(action(dashboard));
};
