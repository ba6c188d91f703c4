import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { buildConfig } from '../../src/config/load.ts';
import { stackPaths } from '../../src/local-stack/paths.ts';
import { runCli } from './cli.ts';
import { fingerprintChanges, fingerprintState } from './state-fingerprint.ts';
import { endpointsOf, REPO_ROOT, sharedWithUser, TEST_HOME, testConfig, userConfig, writeTestConfig } from './test-env.ts';

/**
 * Tests never touch a user's state: the user's migration (REPO_ROOT/.stream-migrate and the stack
 * the user's configuration points at) is the same after test commands as before them, while the
 * same commands visibly change the test stack. global-setup also compares before and after the run.
 */
describe("a test run and the user's migration state", () => {
  it("gives the tests a configuration that shares no endpoint or stack directory with the user's", () => {
    const { config } = testConfig();
    const mine = endpointsOf(config);
    for (const theirs of [endpointsOf(userConfig()), endpointsOf(buildConfig({}, undefined).config)]) {
      for (const key of Object.keys(theirs)) expect(mine[key], key).not.toBe(theirs[key]);
    }
    expect(sharedWithUser(config, TEST_HOME)).toEqual([]);
    expect(stackPaths(config, TEST_HOME).root).toBe(path.join(TEST_HOME, '.stream-migrate'));
    expect(stackPaths(config, TEST_HOME).root).not.toBe(stackPaths(userConfig(), REPO_ROOT).root);
    // Shared with the user's: the jar cache only.
    expect(stackPaths(config, TEST_HOME).cache).toBe(stackPaths(userConfig(), REPO_ROOT).cache);
  });

  it("refuses a test working directory whose configuration would reach the user's stack", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-user-state-'));
    try {
      expect(() => writeTestConfig(dir, { dev: { ports: { ...userConfig().dev.ports } } })).toThrow(/shares source, warehouse, kafka, connect, clickhouse/);
      expect(() => writeTestConfig(dir, { kafka: { brokers: [...userConfig().kafka.brokers] } })).toThrow(/shares kafka with the user's stack/);
      expect(() => writeTestConfig(dir, { clickhouse: { database: 'elsewhere' } })).not.toThrow();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("runs state-changing commands on the test stack and leaves the user's state exactly as it was", async () => {
    const user = userConfig();
    const userBefore = await fingerprintState(user, REPO_ROOT);
    const { config } = testConfig();
    const testBefore = await fingerprintState(config, TEST_HOME);
    expect(testBefore.controlPlane, 'the test stack answers').not.toBe('unreachable');

    // Through the harness, as every test runs commands: no cwd given, so TEST_HOME.
    const day = '1999-12-31';
    for (const args of [
      ['phase', 'list', '--json'],
      ['batch', 'run', '--date', day, '--json'],
      ['sink', 'migrate', '--json'],
      ['validate', '--from', `${day}T00:00:00Z`, '--to', `${day}T01:00:00Z`, '--json'],
      ['cutover', '--dry-run', '--json'],
      ['audit', '--json', '-n', '1'],
    ]) {
      const run = await runCli(args);
      // 1 is a verdict (NO_DATA, a refused gate); 2 or 3 would mean the command did not run.
      expect([0, 1], `${args.join(' ')}: ${run.stderr}`).toContain(run.exitCode);
    }

    // The fingerprint sees such commands: the test stack's control-plane state moved.
    const testAfter = await fingerprintState(config, TEST_HOME);
    expect(fingerprintChanges(testBefore, testAfter).some((c) => c.startsWith('controlPlane:'))).toBe(true);
    if (testBefore.controlPlane !== 'unreachable' && testAfter.controlPlane !== 'unreachable') {
      expect(testAfter.controlPlane.batch_runs).not.toBe(testBefore.controlPlane.batch_runs);
      expect(testAfter.controlPlane.audit_log).not.toBe(testBefore.controlPlane.audit_log);
    }

    // ...and the user's did not.
    expect(fingerprintChanges(userBefore, await fingerprintState(user, REPO_ROOT))).toEqual([]);
  });

  it("finds the user's state as it was when the run began, whatever test files ran before this one", async () => {
    // Also fails when something outside the tests used the user's stack meanwhile (the diff shows what).
    expect(fingerprintChanges(inject('userStateBefore'), await fingerprintState(userConfig(), REPO_ROOT))).toEqual([]);
  });
});
