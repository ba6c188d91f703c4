import { runCli } from './cli.ts';

/**
 * Integration tests talk to the real local stack. Start it (or reuse it when already up) once
 * per run through the real command; a cold machine installs packages and jars here.
 */
export default async function setup(): Promise<void> {
  const run = await runCli(['dev', 'up'], { timeoutMs: 20 * 60_000 });
  if (run.exitCode !== 0) {
    throw new Error(`stream-migrate dev up failed (exit ${run.exitCode}):\n${run.stderr}\n${run.stdout}`);
  }
}
