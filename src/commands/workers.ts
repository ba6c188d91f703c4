import type { Command } from 'commander';
import { stackPaths } from '../local-stack/paths.ts';
import { readDesired, superviseWorkers, supervisorPid, workerStatus } from '../local-stack/workers.ts';
import type { CommandContext, CommandResult } from './context.ts';
import type { Register } from './registry.ts';
import { renderTable } from './table.ts';

/** The supervisor process `phase run processing` starts in the background (not for direct use). */
export async function workersSupervise(_options: object, ctx: CommandContext): Promise<CommandResult> {
  const { config } = ctx.loaded();
  const controller = new AbortController();
  process.once('SIGTERM', () => controller.abort());
  process.once('SIGINT', () => controller.abort());
  await superviseWorkers(stackPaths(config, ctx.cwd), config, ctx.logger, controller.signal);
  return { data: { stopped: true }, text: '' };
}

/** The local workers and whether each runs. */
export async function workersStatus(_options: object, ctx: CommandContext): Promise<CommandResult> {
  const paths = stackPaths(ctx.loaded().config, ctx.cwd);
  const workers = workerStatus(paths);
  const table = renderTable(['worker', 'pid', 'log'], workers.map((w) => [w.name, w.failed ? `FAILED: ${w.failed}` : w.pid === null ? 'DOWN' : String(w.pid), w.logFile]));
  // Workers stop when their supervisor dies (even by SIGKILL) and nothing else restarts them: say how.
  const supervisorRuns = supervisorPid(paths) !== undefined;
  const supervised = workers.length === 0 || supervisorRuns;
  const restart = `stream-migrate phase run processing --workers ${readDesired(paths)?.processors ?? 1}`;
  return {
    data: { workers, supervisor: supervisorRuns ? 'running' : 'stopped' },
    text:
      workers.length === 0
        ? 'no local workers: run `stream-migrate phase run processing`'
        : supervised
          ? table
          : `${table}\nthe worker supervisor is not running, so nothing restarts these workers: run \`${restart}\``,
    exitCode: supervised && workers.every((w) => w.pid !== null) ? 0 : 1,
  };
}

export const registerWorkers: Register = (program: Command, action) => {
  const workers = program.command('workers').description('the local processor and sink workers started by `phase run processing`');
  workers.command('status').description('each local worker and its pid').action(action(workersStatus));
  workers.command('supervise', { hidden: true }).description('run the worker supervisor in the foreground').action(action(workersSupervise));
};
