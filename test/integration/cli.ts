import path from 'node:path';
import { execa } from 'execa';
import { REPO_ROOT, TEST_HOME } from './test-env.ts';

export { REPO_ROOT, TEST_HOME };
export const BIN = path.join(REPO_ROOT, 'bin', 'stream-migrate');
/** The JS entry the launcher runs, for starting it with node options under `process.execPath`. */
export const BIN_ENTRY = path.join(REPO_ROOT, 'bin', 'stream-migrate.js');

export interface CliRun {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the real binary, as a user would, and never throws on a non-zero exit. It runs in TEST_HOME
 * (the test stack's configuration) unless the test gives its own working directory.
 */
export async function runCli(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliRun> {
  const result = await execa(BIN, [...args], {
    cwd: options.cwd ?? TEST_HOME,
    env: { ...process.env, ...options.env },
    reject: false,
    timeout: options.timeoutMs ?? 120_000,
  });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** Parses `--json` output, failing with the command's stderr when it is not JSON. */
export function jsonOf<T>(run: CliRun): T {
  try {
    return JSON.parse(run.stdout) as T;
  } catch {
    throw new Error(`expected JSON on stdout (exit ${run.exitCode}); stderr: ${run.stderr}`);
  }
}
