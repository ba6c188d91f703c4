import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../core/errors.ts';
import { compileRules, InvalidRulesError } from '../domain/rules.ts';
import { DEFAULT_CONFIG } from './defaults.ts';
import { redactConfig } from './redact.ts';
import { configSchema, type Config } from './schema.ts';
import { isPlainObject, resolveSecrets } from './secrets.ts';

export const CONFIG_FILE_NAME = 'stream-migrate.yaml';

export interface LoadedConfig {
  readonly config: Config;
  /** The file read, or undefined when the defaults alone apply. */
  readonly file: string | undefined;
  /** The effective configuration with every secret masked, for `config show` and reports. */
  readonly redacted: unknown;
  readonly secretValues: readonly string[];
}

export interface LoadOptions {
  readonly cwd: string;
  /** `--config PATH`; when given the file must exist. */
  readonly explicitPath?: string | undefined;
  readonly env?: NodeJS.ProcessEnv;
}

/** Reads stream-migrate.yaml (or --config), merges it over the defaults, resolves secrets, validates. */
export function loadConfig(options: LoadOptions): LoadedConfig {
  const file = locate(options);
  const fromFile = file === undefined ? {} : readYaml(file);
  return buildConfig(fromFile, file, options.env);
}

/** Validates an already-parsed document (used by tests and by `init` to check its own output). */
export function buildConfig(document: unknown, file: string | undefined, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  if (!isPlainObject(document)) {
    throw new ConfigError(`${file ?? 'configuration'}: expected a mapping of keys at the top level`, { details: { path: '' } });
  }
  const merged = followDevPorts(deepMerge(DEFAULT_CONFIG, document), document);
  const { value, references, secretValues } = withFile(file, () => resolveSecrets(merged, env));
  const parsed = configSchema.safeParse(value);
  if (!parsed.success) throw toConfigError(parsed.error, file);
  checkRules(parsed.data.rules, file);
  const config = deepFreeze(parsed.data);
  return { config, file, redacted: redactConfig(config, references), secretValues };
}

/** A secret that cannot be resolved names the file it was referenced from, like every other config error. */
function withFile<T>(file: string | undefined, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof ConfigError && file !== undefined) throw new ConfigError(`${file}: ${error.message}`, { details: error.details });
    throw error;
  }
}

/** The schema checks the shape of the rules; the domain module checks their meaning (rates in [0, 1]). */
function checkRules(rules: Config['rules'], file: string | undefined): void {
  try {
    compileRules(rules);
  } catch (error) {
    if (error instanceof InvalidRulesError) {
      throw new ConfigError(`${file ?? 'configuration'}: ${error.message}`, { details: { path: `rules.${error.path}` } });
    }
    throw error;
  }
}

function locate(options: LoadOptions): string | undefined {
  if (options.explicitPath !== undefined) {
    const file = path.resolve(options.cwd, options.explicitPath);
    if (!fs.existsSync(file)) {
      throw new ConfigError(`--config ${options.explicitPath}: file not found; create it with \`stream-migrate init\``, {
        details: { path: file },
      });
    }
    return file;
  }
  const file = path.join(options.cwd, CONFIG_FILE_NAME);
  return fs.existsSync(file) ? file : undefined;
}

function readYaml(file: string): unknown {
  try {
    return parseYaml(fs.readFileSync(file, 'utf8')) ?? {};
  } catch (error) {
    if (error instanceof YAMLParseError) {
      const where = error.linePos?.[0] ? `line ${error.linePos[0].line}, column ${error.linePos[0].col}` : 'unknown position';
      throw new ConfigError(`${file}: not valid YAML at ${where}: ${error.message.split('\n')[0]}`, { details: { file } });
    }
    throw new ConfigError(`${file}: cannot be read: ${(error as Error).message}`, { details: { file } });
  }
}

function toConfigError(error: z.ZodError, file: string | undefined): ConfigError {
  const issue = error.issues[0];
  const keyPath = issue?.path.map(String).join('.') || '(top level)';
  let message = issue?.message ?? 'invalid value';
  if (issue?.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => (keyPath === '(top level)' ? k : `${keyPath}.${k}`));
    return new ConfigError(`${file ?? 'configuration'}: unknown key ${keys.join(', ')}; check its spelling against \`stream-migrate init\``, {
      details: { path: keys[0], issues: error.issues.length },
    });
  }
  if (issue?.code === 'invalid_key') message = issue.issues[0]?.message ?? message;
  message = plainMessage(message);
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more problem${error.issues.length > 2 ? 's' : ''})` : '';
  return new ConfigError(`${file ?? 'configuration'}: ${keyPath}: ${message}${more}`, { details: { path: keyPath } });
}

/** Zod's wording made to read like the rest of the messages: what was expected, never the value (it may be a secret). */
export function plainMessage(message: string): string {
  return message
    .replace(/^Invalid (input|option): /, '')
    .replace(/^expected (\w+), received undefined$/, 'missing; expected $1')
    .replace(/^Too small: expected number to be >=?(-?\d+)$/, 'expected a number >= $1')
    .replace(/^Too big: expected number to be <=?(-?\d+)$/, 'expected a number <= $1')
    .replace(/^Too small: expected array to have >=?(\d+) items?$/, (_m, n: string) => `expected a list of at least ${n} item${n === '1' ? '' : 's'}`);
}

/**
 * Endpoints the file does not set follow `dev.ports`, so moving the local stack to other ports
 * (the fix `dev up` suggests for a taken port) needs that one key only.
 */
function followDevPorts(merged: unknown, document: Record<string, unknown>): unknown {
  if (!isPlainObject(merged) || !isPlainObject(merged.dev) || !isPlainObject(merged.dev.ports)) return merged;
  const ports = merged.dev.ports;
  const given = (section: string, key: string) => isPlainObject(document[section]) && (document[section] as Record<string, unknown>)[key] !== undefined;
  const set = (section: string, key: string, port: unknown, value: (port: string) => unknown) => {
    // A malformed port is left for validation to report under its own key.
    if (!/^\d{1,5}$/.test(String(port)) || given(section, key) || !isPlainObject(merged[section])) return;
    merged[section] = { ...(merged[section] as Record<string, unknown>), [key]: value(String(port)) };
  };
  set('source', 'url', ports.postgres, (p) => `postgresql://postgres@127.0.0.1:${p}/source`);
  set('warehouse', 'url', ports.postgres, (p) => `postgresql://postgres@127.0.0.1:${p}/warehouse`);
  set('kafka', 'brokers', ports.kafka, (p) => [`127.0.0.1:${p}`]);
  set('connect', 'url', ports.connect, (p) => `http://127.0.0.1:${p}`);
  set('clickhouse', 'url', ports.clickhouseHttp, (p) => `http://127.0.0.1:${p}`);
  set('schemaRegistry', 'url', ports.schemaRegistry, (p) => `http://127.0.0.1:${p}`);
  return merged;
}

/** Objects merge key by key; arrays and scalars from `override` replace the default. */
function deepMerge(base: unknown, override: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(override)) return override === undefined ? base : override;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) out[key] = key in base ? deepMerge(base[key], value) : value;
  return out;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
