import type { Logger } from '../core/logger.ts';
import { UsageError } from '../core/errors.ts';
import { Metrics } from '../core/metrics.ts';
import { messageOf } from '../core/errors.ts';
import { respawnSupervisor, SUPERVISOR_PID_ENV, WORKER_NAME_ENV, WORKERS_DIR_ENV, type RespawnOutcome } from '../local-stack/supervisor-process.ts';

export interface WorkerLifecycle {
  readonly metrics: Metrics;
  /** The port /metrics listens on (the one picked when 0 was asked). */
  readonly port: number;
  /** Aborted on SIGTERM/SIGINT, or when the supervisor that started this worker is gone. */
  readonly signal: AbortSignal;
}

/**
 * What every long-running worker (processor, sink) needs around its loop: a /metrics server on
 * its port, a stop signal on SIGTERM/SIGINT that lets it finish the unit of work in hand, and,
 * when a supervisor started it, what to do when that supervisor dies: start the next one (unless
 * the workers were stopped on purpose; see supervisor-process.ts), then stop, so no worker runs
 * unsupervised or beside the ones the new supervisor starts.
 */
export async function withWorkerLifecycle<T>(
  options: { readonly role: 'processor' | 'sink' | 'source'; readonly portOption: string | undefined; readonly defaultPort: number; readonly portKey: string; readonly logger: Logger },
  run: (lifecycle: WorkerLifecycle) => Promise<T>,
): Promise<T> {
  const asked = options.portOption === undefined ? options.defaultPort : Number(options.portOption);
  if (!Number.isInteger(asked) || asked < 0 || asked > 65_535) throw new UsageError(`--metrics-port ${options.portOption}: expected a port number`);
  const metrics = new Metrics();
  const server = await metrics.serve(asked).catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(
      error.code === 'EADDRINUSE'
        ? `metrics port ${asked} is taken (another ${options.role}?); pass --metrics-port or set ${options.portKey}`
        : `cannot serve metrics on port ${asked}: ${error.message}`,
    );
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : asked;
  const controller = new AbortController();
  const stop = (signal: NodeJS.Signals) => {
    options.logger.info(`${options.role}: ${signal} received, finishing the work in hand`);
    controller.abort();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  const supervisor = Number(process.env[SUPERVISOR_PID_ENV]);
  const watch = Number.isInteger(supervisor) && supervisor > 0
    ? setInterval(() => {
        // Re-parented: the supervisor died, even by SIGKILL.
        if (!controller.signal.aborted && process.ppid !== supervisor) {
          options.logger.warn(`${options.role}: supervisor ${supervisor} is gone; ${afterSupervisor(supervisor)}; stopping rather than running unsupervised`);
          controller.abort();
        }
      }, 1_000)
    : undefined;
  try {
    return await run({ metrics, port, signal: controller.signal });
  } finally {
    if (watch) clearInterval(watch);
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    server.close();
  }
}

/** Starts the next supervisor when this worker is the one to (see respawnSupervisor), and says what happened. */
function afterSupervisor(deadPid: number): string {
  const dir = process.env[WORKERS_DIR_ENV];
  if (!dir) return 'no supervisor directory known, so none is started';
  let outcome: RespawnOutcome;
  try {
    outcome = respawnSupervisor(dir, deadPid, process.env[WORKER_NAME_ENV] ?? `pid ${process.pid}`);
  } catch (error) {
    return `could not start a new supervisor: ${messageOf(error)}`;
  }
  switch (outcome.action) {
    case 'respawned':
      return `started a new supervisor (pid ${outcome.pid})`;
    case 'claimed':
      return 'another worker starts the new supervisor';
    case 'running':
      return `supervisor pid ${outcome.pid} runs already`;
    case 'stopped':
      return `the workers were stopped on purpose (${outcome.stop.by}), so none is started`;
    case 'refused':
      return outcome.reason;
  }
}
