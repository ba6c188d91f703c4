import type { Command } from 'commander';
import { stackPaths } from '../local-stack/paths.ts';
import { readRefusal, readRestarts, readStop, supervisorStartedAt, type RestartRecord, type StopRecord } from '../local-stack/supervisor-process.ts';
import { readDesired, stopWorkers, superviseWorkers, supervisorPid, workersDir, workerStatus } from '../local-stack/workers.ts';
import type { CommandContext, CommandResult } from './context.ts';
import type { Register } from './registry.ts';
import { renderTable } from './table.ts';

/** The supervisor process `phase run processing` starts in the background (not for direct use). */
export async function workersSupervise(_options: object, ctx: CommandContext): Promise<CommandResult> {
  const { config } = ctx.loaded();
  const controller = new AbortController();
  // The signal's name is the reason the stop is recorded with.
  process.once('SIGTERM', () => controller.abort('SIGTERM'));
  process.once('SIGINT', () => controller.abort('SIGINT'));
  await superviseWorkers(stackPaths(config, ctx.cwd), config, ctx.logger, controller.signal);
  return { data: { stopped: true }, text: '' };
}

/** How the supervisor stands: running, stopped on purpose, or down (a worker restarts it, unless that was refused). */
export interface SupervisorState {
  readonly state: 'running' | 'stopped' | 'down';
  readonly pid: number | null;
  readonly startedAt: string | null;
  readonly stop?: StopRecord;
  /** Why the last automatic restart was refused. */
  readonly refused?: string;
  /** Automatic restarts after the supervisor was gone, newest last (at most 10). */
  readonly restarts: readonly RestartRecord[];
  readonly restartsTotal: number;
}

/** The local workers and whether each runs, and the supervisor's state and automatic restarts. */
export async function workersStatus(_options: object, ctx: CommandContext): Promise<CommandResult> {
  const paths = stackPaths(ctx.loaded().config, ctx.cwd);
  const dir = workersDir(paths);
  const workers = workerStatus(paths);
  const pid = supervisorPid(paths) ?? null;
  const stop = readStop(dir);
  const refused = readRefusal(dir)?.by;
  const restarts = readRestarts(dir);
  const supervisor: SupervisorState = {
    state: pid !== null ? 'running' : stop ? 'stopped' : 'down',
    pid,
    startedAt: pid === null ? null : supervisorStartedAt(dir)?.toISOString() ?? null,
    ...(stop && pid === null ? { stop } : {}),
    ...(refused && pid === null ? { refused } : {}),
    restarts: restarts.slice(-10),
    restartsTotal: restarts.length,
  };
  const table = renderTable(['worker', 'pid', 'log'], workers.map((w) => [w.name, w.failed ? `FAILED: ${w.failed}` : w.pid === null ? 'DOWN' : String(w.pid), w.logFile]));
  const start = `stream-migrate phase run processing --workers ${readDesired(paths)?.processors ?? 1}`;
  const last = restarts.at(-1);
  const lines = [
    supervisor.state === 'running'
      ? `supervisor: pid ${pid}${supervisor.startedAt ? ` since ${supervisor.startedAt}` : ''}`
      : supervisor.state === 'stopped'
        ? `supervisor: stopped on purpose (${stop!.by}, ${stop!.at}); nothing restarts the workers until \`${start}\``
        : refused
          ? `supervisor: DOWN and not restarted on its own: ${refused}; run \`${start}\``
          : workers.some((w) => w.pid !== null)
            ? `supervisor: DOWN; a worker that sees it gone starts a new one within seconds; if none comes, run \`${start}\``
            : `supervisor: DOWN, and no worker runs to start it again: run \`${start}\``,
    ...(last ? [`restarted on its own ${restarts.length} time(s); last at ${last.at}: pid ${last.previousPid} was gone, ${last.by} started pid ${last.pid}`] : []),
  ];
  const allUp = supervisor.state === 'running' && workers.every((w) => w.pid !== null);
  return {
    data: { workers, supervisor },
    text: workers.length === 0 ? 'no local workers: run `stream-migrate phase run processing`' : `${table}\n${lines.join('\n')}`,
    exitCode: workers.length === 0 || allUp ? 0 : 1,
  };
}

/** Stops the supervisor and its workers on purpose: they stay stopped until `phase run processing`. */
export async function workersStop(_options: object, ctx: CommandContext): Promise<CommandResult> {
  const paths = stackPaths(ctx.loaded().config, ctx.cwd);
  const stopped = await stopWorkers(paths, '`workers stop`');
  return {
    data: { stopped },
    text: stopped ? 'workers stopped; `stream-migrate phase run processing` starts them again' : 'no local workers were running',
  };
}

export const registerWorkers: Register = (program: Command, action) => {
  const workers = program.command('workers').description('the local processor and sink workers started by `phase run processing`');
  workers.command('status').description('each local worker and its pid, and the supervisor that keeps them running').action(action(workersStatus));
  workers.command('stop').description('stop the local workers and their supervisor; they stay stopped until `phase run processing`').action(action(workersStop));
  workers.command('supervise', { hidden: true }).description('run the worker supervisor in the foreground').action(action(workersSupervise));
};
