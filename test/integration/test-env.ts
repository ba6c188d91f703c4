import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { buildConfig, CONFIG_FILE_NAME, loadConfig, type LoadedConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { isPlainObject } from '../../src/config/secrets.ts';
import { ConfigError } from '../../src/core/errors.ts';
import { stackPaths } from '../../src/local-stack/paths.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The integration tests' working directory. Its stream-migrate.yaml is the committed test
 * configuration and its .stream-migrate/ holds the test stack, so nothing a test does reaches the
 * user's stack in REPO_ROOT/.stream-migrate (only the jar cache is shared).
 */
export const TEST_HOME = path.join(REPO_ROOT, '.stream-migrate-test');

/** The committed test configuration: only what differs from the defaults (ports). */
export const TEST_CONFIG_SOURCE = path.join(REPO_ROOT, 'test', 'integration', 'stream-migrate.test.yaml');

/** Writes TEST_HOME/stream-migrate.yaml from the committed file; returns its path. Idempotent. */
export function prepareTestHome(): string {
  fs.mkdirSync(TEST_HOME, { recursive: true });
  const file = path.join(TEST_HOME, CONFIG_FILE_NAME);
  const text = fs.readFileSync(TEST_CONFIG_SOURCE, 'utf8');
  if (!fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== text) writeAtomically(file, text);
  return file;
}

/** The test stack's configuration, as every command run in TEST_HOME sees it. */
export function testConfig(): LoadedConfig {
  prepareTestHome();
  const loaded = loadConfig({ cwd: TEST_HOME });
  assertOffUserStack(loaded.config, TEST_HOME, loaded.file ?? TEST_HOME);
  return loaded;
}

/**
 * Writes `dir/fileName` as the test configuration merged with `overrides` (a YAML text or an
 * object; mappings merge key by key, lists and scalars replace), so a test's own working
 * directory never falls back to the defaults, which are the user's stack. Returns the file.
 */
export function writeTestConfig(dir: string, overrides: string | Readonly<Record<string, unknown>> = {}, fileName = CONFIG_FILE_NAME): string {
  const base: unknown = parseYaml(fs.readFileSync(TEST_CONFIG_SOURCE, 'utf8'));
  const extra: unknown = typeof overrides === 'string' ? (parseYaml(overrides) ?? {}) : overrides;
  const file = path.join(dir, fileName);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(file, stringifyYaml(deepMerge(base, extra)));
  let config: Config;
  try {
    config = loadConfig({ cwd: dir, explicitPath: file }).config;
  } catch (error) {
    // Some tests write an invalid file on purpose; the command under test reports it (exit 2).
    if (error instanceof ConfigError) return file;
    throw error;
  }
  assertOffUserStack(config, dir, file);
  return file;
}

/** A fresh temporary working directory holding the test configuration merged with `overrides`. */
export function testWorkdir(prefix: string, overrides: string | Readonly<Record<string, unknown>> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `sm-${prefix}-`));
  writeTestConfig(dir, overrides);
  return dir;
}

/**
 * The user's configuration: REPO_ROOT/stream-migrate.yaml when there is one, else the defaults.
 * An invalid user file falls back to the defaults, which are then what the user's commands fail on.
 */
export function userConfig(): Config {
  try {
    return loadConfig({ cwd: REPO_ROOT }).config;
  } catch (error) {
    if (error instanceof ConfigError) return buildConfig({}, undefined).config;
    throw error;
  }
}

/** Every address a configuration makes the product talk to or listen on, by name. */
export function endpointsOf(config: Config): Readonly<Record<string, string>> {
  const hostPort = (url: string): string => {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port}`;
  };
  return {
    source: hostPort(config.source.url),
    warehouse: hostPort(config.warehouse.url),
    kafka: [...config.kafka.brokers].sort().join(','),
    connect: hostPort(config.connect.url),
    clickhouse: hostPort(config.clickhouse.url),
    schemaRegistry: hostPort(config.schemaRegistry.url),
    'monitoring.processorMetricsPort': String(config.monitoring.processorMetricsPort),
    'monitoring.sinkMetricsPort': String(config.monitoring.sinkMetricsPort),
    ...Object.fromEntries(Object.entries(config.dev.ports).map(([key, port]) => [`dev.ports.${key}`, String(port)])),
  };
}

/**
 * The names of `config`'s endpoints (and its stack directory, seen from `cwd`) that coincide with
 * the user's configuration or the defaults: empty when a test cannot reach the user's stack.
 */
export function sharedWithUser(config: Config, cwd: string): readonly string[] {
  const mine = endpointsOf(config);
  const theirs = [endpointsOf(userConfig()), endpointsOf(buildConfig({}, undefined).config)];
  const shared = Object.keys(mine).filter((key) => theirs.some((other) => other[key] === mine[key]));
  const userRoot = stackPaths(userConfig(), REPO_ROOT).root;
  if (stackPaths(config, cwd).root === userRoot) shared.push('dev.dir');
  return shared;
}

function assertOffUserStack(config: Config, cwd: string, file: string): void {
  const shared = sharedWithUser(config, cwd);
  if (shared.length > 0) {
    throw new Error(`${file}: the test configuration shares ${shared.join(', ')} with the user's stack; tests must run on their own (see ${TEST_CONFIG_SOURCE})`);
  }
}

function deepMerge(base: unknown, override: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(override)) return override === undefined ? base : override;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) out[key] = key in base ? deepMerge(base[key], value) : value;
  return out;
}

function writeAtomically(file: string, text: string): void {
  // Several test processes may prepare the home at once: a reader never sees a half-written file.
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}
