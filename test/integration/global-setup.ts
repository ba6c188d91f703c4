import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { runCli } from './cli.ts';
import { withLockFile } from './lock-file.ts';
import { fingerprintChanges, fingerprintState, type StateFingerprint } from './state-fingerprint.ts';
import { REPO_ROOT, TEST_HOME, testConfig, userConfig } from './test-env.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The user's migration state as it was before this run (see user-state.test.ts). */
    userStateBefore: StateFingerprint;
  }
}

/**
 * Integration tests run on a local stack of their own, in TEST_HOME on the test configuration's
 * ports, started (or reused when already up) once per run through the real `dev up`; a cold
 * machine installs packages and jars here. The user's state is fingerprinted before the run and
 * compared after it: a test that reached the user's stack fails the run.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  testConfig(); // writes TEST_HOME/stream-migrate.yaml and refuses a configuration that shares an endpoint with the user's
  const before = await fingerprintState(userConfig(), REPO_ROOT);
  project.provide('userStateBefore', before);

  // Test runs started at the same time in one checkout do not both start the test stack's services.
  await withLockFile(
    path.join(TEST_HOME, 'dev-up.lock'),
    async () => {
      const run = await runCli(['dev', 'up'], { timeoutMs: 20 * 60_000 });
      if (run.exitCode !== 0) {
        throw new Error(`stream-migrate dev up (in ${TEST_HOME}) failed (exit ${run.exitCode}):\n${run.stderr}\n${run.stdout}`);
      }
    },
    { timeoutMs: 25 * 60_000, pollMs: 500, heldHint: '; remove it if that is not a test run' },
  );

  return async () => {
    const changes = fingerprintChanges(before, await fingerprintState(userConfig(), REPO_ROOT));
    if (changes.length > 0) {
      throw new Error(
        `the user's migration state (REPO_ROOT/.stream-migrate and the stack its configuration points at) changed during the test run; ` +
          `either a test reached it, or something else used that stack meanwhile:\n${changes.join('\n')}`,
      );
    }
  };
}
