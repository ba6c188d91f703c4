import fs from 'node:fs';
import { ConfigError } from '../core/errors.ts';

/** `${env:NAME}` or `${file:/path}`, the same idea as Kafka's config providers. */
const REFERENCE = /\$\{(env|file):([^}]+)\}/g;

export interface ResolvedSecrets {
  readonly value: unknown;
  /** Dotted key paths whose value held a reference, with the template as written. */
  readonly references: ReadonlyMap<string, string>;
  /** The resolved secret values, so output and logs can redact them anywhere. */
  readonly secretValues: readonly string[];
}

/** Replaces every reference in `raw` with the environment variable or file content it names. */
export function resolveSecrets(raw: unknown, env: NodeJS.ProcessEnv = process.env): ResolvedSecrets {
  const references = new Map<string, string>();
  const secretValues: string[] = [];
  const walk = (node: unknown, path: string): unknown => {
    if (typeof node === 'string') {
      if (!node.includes('${')) return node;
      const resolved = node.replace(REFERENCE, (_match, kind: string, name: string) => {
        const secret = kind === 'env' ? fromEnv(name.trim(), path, env) : fromFile(name.trim(), path);
        secretValues.push(secret);
        return secret;
      });
      if (resolved !== node) references.set(path, node);
      return resolved;
    }
    if (Array.isArray(node)) return node.map((item, i) => walk(item, `${path}.${i}`));
    if (isPlainObject(node)) {
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v, path ? `${path}.${k}` : k)]));
    }
    return node;
  };
  return { value: walk(raw, ''), references, secretValues };
}

function fromEnv(name: string, path: string, env: NodeJS.ProcessEnv): string {
  const value = env[name];
  if (value === undefined) {
    throw new ConfigError(`${path}: environment variable ${name} is not set (referenced as \${env:${name}}); export it or change the value`, {
      details: { path, variable: name },
    });
  }
  return value;
}

function fromFile(file: string, path: string): string {
  try {
    return fs.readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'cannot be read';
    throw new ConfigError(`${path}: secret file ${file} ${reason} (referenced as \${file:${file}})`, { details: { path, file } });
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
