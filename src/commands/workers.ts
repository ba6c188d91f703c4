import type { Command } from 'commander';
import { stackPaths } from '../local-stack/paths.ts';
import { superviseWorkers, workerStatus } from '../local-stack/workers.ts';
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
  const workers = workerStatus(stackPaths(ctx.loaded().config, ctx.cwd));
  return {
    data: { workers },
    text:
      workers.length === 0
        ? 'no local workers: run `stream-migrate phase run processing`'
        : renderTable(['worker', 'pid', 'log'], workers.map((w) => [w.name, w.failed ? `FAILED: ${w.failed}` : w.pid === null ? 'DOWN' : String(w.pid), w.logFile])),
    exitCode: workers.every((w) => w.pid !== null) ? 0 : 1,
  };
}

export const registerWorkers: Register = (program: Command, action) => {
  const workers = program.command('workers').description('the local processor and sink workers started by `phase run processing`');
  workers.command('status').description('each local worker and its pid').action(action(workersStatus));
  workers.command('supervise', { hidden: true }).description('run the worker supervisor in the foreground').action(action(workersSupervise));
};
