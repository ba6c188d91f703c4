import { execa } from 'execa';
import { messageOf } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { isoOf, type BatchWindow } from './window.ts';

export const WINDOW_FROM_ENV = 'STREAM_MIGRATE_WINDOW_FROM';
export const WINDOW_TO_ENV = 'STREAM_MIGRATE_WINDOW_TO';

export interface ExternalJobResult {
  /** The job's exit status; null when it could not start or was killed by a signal. */
  readonly exitCode: number | null;
  readonly succeeded: boolean;
  /** Why it failed, one line; null on success. */
  readonly reason: string | null;
  readonly durationMs: number;
}

/**
 * Runs the team's own batch job (`batch.command`: the program and its arguments, no shell) for
 * one window. The window goes in both as environment variables and as `--from ISO --to ISO`
 * appended to the arguments; every line the job prints goes to the logger as it comes, tagged
 * stdout/stderr, so a cron log keeps the job's own output. Never retried: the job's idempotence
 * is the team's to vouch for, not ours.
 */
export async function runExternalJob(
  command: readonly string[],
  window: BatchWindow,
  logger: Logger,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ExternalJobResult> {
  const [file, ...args] = command;
  const started = Date.now();
  if (file === undefined) return { exitCode: null, succeeded: false, reason: 'batch.command is empty', durationMs: 0 };
  const from = isoOf(window.fromMs);
  const to = isoOf(window.toMs);
  const log = logger.child({ job: file });
  const result = await execa(file, [...args, '--from', from, '--to', to], {
    env: { ...env, [WINDOW_FROM_ENV]: from, [WINDOW_TO_ENV]: to },
    extendEnv: false,
    reject: false,
    buffer: false,
    stdin: 'ignore',
    // Generator transforms see one line at a time; yielding nothing keeps memory flat for chatty jobs.
    stdout: function* (line: unknown) {
      log.info(String(line), { stream: 'stdout' });
    },
    stderr: function* (line: unknown) {
      log.warn(String(line), { stream: 'stderr' });
    },
  });
  const durationMs = Date.now() - started;
  if (result.exitCode === 0) return { exitCode: 0, succeeded: true, reason: null, durationMs };
  const exitCode = result.exitCode ?? null;
  const reason =
    exitCode !== null
      ? `external batch job ${file} exited with status ${exitCode}`
      : result.signal
        ? `external batch job ${file} was killed by ${result.signal}`
        : `external batch job ${file} could not start: ${messageOf(result.cause ?? result.shortMessage)}`;
  return { exitCode, succeeded: false, reason, durationMs };
}
