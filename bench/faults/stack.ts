import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { createLogger } from '../../src/core/logger.ts';
import { Redactor } from '../../src/core/redactor.ts';
import { stackPaths, type StackPaths } from '../../src/local-stack/paths.ts';
import type { ServiceContext } from '../../src/local-stack/service.ts';
import { REPO_ROOT, runCli, type CliRun } from '../../test/integration/cli.ts';
import { withLockFile } from '../../test/integration/lock-file.ts';
import { writeTestConfig } from '../../test/integration/test-env.ts';

/**
 * The fault matrix runs on a local stack of its own, in FAULTS_HOME on ports that are neither the
 * user's defaults nor the integration tests' (test/integration/stream-migrate.test.yaml): it
 * SIGKILLs brokers and stops databases, which must never reach another stack.
 */
export const FAULTS_HOME = path.join(REPO_ROOT, '.stream-migrate-faults');

export const FAULTS_OVERRIDES = {
  dev: {
    ports: {
      postgres: 17432,
      kafka: 19292,
      kafkaController: 19293,
      connect: 18283,
      clickhouseHttp: 18323,
      clickhouseTcp: 19200,
      schemaRegistry: 18281,
      schemaRegistryManagement: 18282,
    },
  },
  monitoring: { processorMetricsPort: 19664, sinkMetricsPort: 19680, supervisorMetricsPort: 19681, dashboardPort: 18288 },
  processor: { workers: 2 },
  // One-minute windows: a segment waits at most a minute for its last window to close before
  // batch and validate compare it (the rules are the same on both sides, whatever the size).
  rules: { windowMinutes: 1 },
  // Output topics stay compacted, but no version is compacted away within a day: the duplicate
  // audit counts every version a key received.
  topics: Object.fromEntries(['processed-orders', 'order-summaries', 'fraud-alerts'].map((t) => [t, { configs: { 'cleanup.policy': 'compact', 'min.compaction.lag.ms': '86400000' } }])),
} as const;

export interface FaultStack {
  readonly cwd: string;
  readonly configFile: string;
  readonly config: Config;
  readonly paths: StackPaths;
  readonly serviceContext: ServiceContext;
  /** Runs the real CLI in FAULTS_HOME; never throws on a non-zero exit. */
  cli(args: readonly string[], timeoutMs?: number): Promise<CliRun>;
}

/** Writes FAULTS_HOME/stream-migrate.yaml (refused if it shared an endpoint with the user's stack). */
export function faultStack(): FaultStack {
  const configFile = writeTestConfig(FAULTS_HOME, FAULTS_OVERRIDES);
  const { config } = loadConfig({ cwd: FAULTS_HOME, explicitPath: configFile });
  const paths = stackPaths(config, FAULTS_HOME);
  const logger = createLogger({ level: 'warn', json: false, redactor: new Redactor() });
  return {
    cwd: FAULTS_HOME,
    configFile,
    config,
    paths,
    serviceContext: { config, paths, logger },
    cli: (args, timeoutMs = 300_000) => runCli(args, { cwd: FAULTS_HOME, timeoutMs }),
  };
}

/** `dev up` in FAULTS_HOME (idempotent: running services keep their pids). */
export async function stackUp(stack: FaultStack): Promise<void> {
  const up = await stack.cli(['dev', 'up'], 20 * 60_000);
  if (up.exitCode !== 0) throw new Error(`dev up in ${stack.cwd} failed (exit ${up.exitCode}): ${up.stderr.slice(-2000)}`);
}

/** `dev down` in FAULTS_HOME; `purge` also deletes its data. */
export async function stackDown(stack: FaultStack, purge = false): Promise<void> {
  const down = await stack.cli(['dev', 'down', ...(purge ? ['--purge'] : [])], 5 * 60_000);
  if (down.exitCode !== 0) throw new Error(`dev down in ${stack.cwd} failed (exit ${down.exitCode}): ${down.stderr.slice(-2000)}`);
}

/**
 * Runs `fn` holding FAULTS_HOME/matrix.lock: the bench and the test share the stack, and two
 * matrices at once would kill each other's workers. A lock whose holder died is taken over.
 */
export async function withMatrixLock<T>(fn: () => Promise<T>, timeoutMs = 60 * 60_000): Promise<T> {
  fs.mkdirSync(FAULTS_HOME, { recursive: true });
  return withLockFile(path.join(FAULTS_HOME, 'matrix.lock'), fn, { timeoutMs, pollMs: 1_000, heldHint: ' (another fault matrix run)' });
}
