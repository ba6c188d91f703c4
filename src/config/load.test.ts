import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.ts';
import { Redactor } from '../core/redactor.ts';
import { EXAMPLE_CONFIG } from './example.ts';
import { buildConfig, loadConfig } from './load.ts';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'sm-config-'));
}

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('needs no file: defaults point at the local stack', () => {
    const { config, file } = loadConfig({ cwd: tempDir() });
    expect(file).toBeUndefined();
    expect(config.source.url).toBe('postgresql://postgres@127.0.0.1:15432/source');
    expect(config.kafka.brokers).toEqual(['127.0.0.1:19092']);
    expect(config.rules.tierDiscount.PLATINUM).toBe('0.15');
  });

  it('merges a file over the defaults key by key, arrays replaced', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'stream-migrate.yaml'), 'kafka:\n  brokers: [a:1, b:2]\nvalidation:\n  samples: 3\n');
    const { config, file } = loadConfig({ cwd: dir });
    expect(file).toBe(path.join(dir, 'stream-migrate.yaml'));
    expect(config.kafka.brokers).toEqual(['a:1', 'b:2']);
    expect(config.kafka.clientId).toBe('stream-migrate');
    expect(config.validation.samples).toBe(3);
    expect(config.validation.settle).toBe('5m');
  });

  it('moves the endpoints with dev.ports unless the file sets them', () => {
    const { config } = buildConfig({ dev: { ports: { postgres: 45432, kafka: 45092, connect: 45083, clickhouseHttp: 45123 } }, connect: { url: 'http://connect:8083' } }, undefined);
    expect(config.source.url).toBe('postgresql://postgres@127.0.0.1:45432/source');
    expect(config.warehouse.url).toBe('postgresql://postgres@127.0.0.1:45432/warehouse');
    expect(config.kafka.brokers).toEqual(['127.0.0.1:45092']);
    expect(config.clickhouse.url).toBe('http://127.0.0.1:45123');
    expect(config.connect.url).toBe('http://connect:8083');
  });

  it('returns a frozen configuration', () => {
    const { config } = buildConfig({}, undefined);
    expect(Object.isFrozen(config.kafka.brokers)).toBe(true);
  });

  it('accepts the example written by init, with every example key uncommented', () => {
    const uncommented = EXAMPLE_CONFIG.split('\n')
      .map((line) => line.replace(/^# ?(?=\s*[A-Za-z][\w.]*:)/, ''))
      .join('\n');
    const env = { SOURCE_PASSWORD: 'a', KAFKA_PASSWORD: 'b', CONNECT_PASSWORD: 'c', CLICKHOUSE_PASSWORD: 'd' };
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'pw'), 'x');
    const { config } = buildConfig(parseYaml(uncommented.replace('/run/secrets/warehouse-password', path.join(dir, 'pw'))), 'example', env);
    expect(config.kafka.brokers).toEqual(['kafka-1.internal:9092', 'kafka-2.internal:9092']);
    expect(config.topics['cdc.public.orders']?.partitions).toBe(12);
    expect(config.topics['processed-orders']?.partitions).toBe(6);
  });

  it('names the key path of a wrong type', () => {
    const error = errorOf(() => buildConfig({ dev: { ports: { kafka: 'x' } } }, 'f.yaml'));
    expect(error.message).toMatch(/^f\.yaml: dev\.ports\.kafka: expected number/);
    expect(error.exitCode).toBe(2);
    expect(error.details.path).toBe('dev.ports.kafka');
  });

  it('names an unknown (misspelt) key with its full path', () => {
    const error = errorOf(() => buildConfig({ kafka: { broker: ['x:1'] } }, 'f.yaml'));
    expect(error.message).toContain('unknown key kafka.broker');
  });

  it('rejects out-of-range ports, malformed durations, URLs, enums and rates', () => {
    expect(errorOf(() => buildConfig({ dev: { ports: { postgres: 70000 } } }, undefined)).message).toContain('dev.ports.postgres');
    expect(errorOf(() => buildConfig({ validation: { settle: 'five minutes' } }, undefined)).message).toContain('validation.settle: expected a duration');
    expect(errorOf(() => buildConfig({ connect: { url: 'connect:8083' } }, undefined)).message).toContain('connect.url: expected an http');
    expect(errorOf(() => buildConfig({ batch: { mode: 'sometimes' } }, undefined)).message).toContain('batch.mode');
    expect(errorOf(() => buildConfig({ rules: { tierDiscount: { GOLD: 0.1 } } }, undefined)).message).toContain('rules.tierDiscount.GOLD');
  });

  it('keeps the sink metrics port out of the processor workers\' port range (one port per worker)', () => {
    expect(buildConfig({ monitoring: { processorMetricsPort: 9000, sinkMetricsPort: 9016 } }, undefined).config.monitoring.sinkMetricsPort).toBe(9016);
    expect(buildConfig({ monitoring: { processorMetricsPort: 9000, sinkMetricsPort: 8999 } }, undefined).config.monitoring.sinkMetricsPort).toBe(8999);
    expect(errorOf(() => buildConfig({ monitoring: { processorMetricsPort: 9000, sinkMetricsPort: 9001 } }, undefined)).message).toContain('monitoring.sinkMetricsPort: sinkMetricsPort must lie outside');
    expect(errorOf(() => buildConfig({ processor: { workers: 17 } }, undefined)).message).toContain('processor.workers');
  });

  it('checks the meaning of business rules, not only their shape', () => {
    const error = errorOf(() => buildConfig({ rules: { tierDiscount: { GOLD: '1.5' } } }, 'f.yaml'));
    expect(error.message).toContain('rules.tierDiscount.GOLD');
    expect(error.details.path).toBe('rules.tierDiscount.GOLD');
  });

  it('reports invalid YAML with its line', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'stream-migrate.yaml'), 'kafka:\n  brokers: [a:1\n');
    expect(errorOf(() => loadConfig({ cwd: dir })).message).toMatch(/not valid YAML at line \d+/);
  });

  it('fails when --config names a missing file', () => {
    expect(errorOf(() => loadConfig({ cwd: tempDir(), explicitPath: 'nope.yaml' })).message).toContain('--config nope.yaml: file not found');
  });

  it('rejects a top level that is not a mapping', () => {
    expect(errorOf(() => buildConfig(['a'], 'f.yaml')).message).toContain('expected a mapping');
  });
});

describe('secrets', () => {
  it('resolves ${env:NAME} anywhere, including inside a URL and in numeric keys', () => {
    const env = { PG_PW: 's3cret-pw', PARTS: '12' };
    const { config } = buildConfig(
      {
        source: { url: 'postgresql://app:${env:PG_PW}@db:5432/shop' },
        topics: { t1: { partitions: '${env:PARTS}', replicationFactor: 1, configs: {} } },
      },
      undefined,
      env,
    );
    expect(config.source.url).toBe('postgresql://app:s3cret-pw@db:5432/shop');
    expect(config.topics.t1?.partitions).toBe(12);
  });

  it('resolves ${file:PATH} without its trailing newline', () => {
    const file = path.join(tempDir(), 'pw');
    fs.writeFileSync(file, 'from-file-secret\n');
    const { config } = buildConfig({ clickhouse: { password: `\${file:${file}}` } }, undefined, {});
    expect(config.clickhouse.password).toBe('from-file-secret');
  });

  it('names the key and the variable when an env reference is unset', () => {
    const error = errorOf(() => buildConfig({ connect: { password: '${env:NOPE_NOT_SET}' } }, undefined, {}));
    expect(error.message).toBe('connect.password: environment variable NOPE_NOT_SET is not set (referenced as ${env:NOPE_NOT_SET}); export it or change the value');
  });

  it('names the key and the file when a file reference is missing', () => {
    const error = errorOf(() => buildConfig({ connect: { password: '${file:/no/such/file}' } }, undefined, {}));
    expect(error.message).toContain('connect.password: secret file /no/such/file does not exist');
  });
});

describe('redaction', () => {
  const env = { PG_PW: 'pg-password-1', CH_PW: 'ch-password-2' };
  const loaded = buildConfig(
    {
      source: { url: 'postgresql://app:${env:PG_PW}@db:5432/shop' },
      warehouse: { url: 'postgresql://etl:inline-pw@wh:5432/warehouse' },
      clickhouse: { password: '${env:CH_PW}' },
      connect: { username: 'admin', password: 'plain-connect-pw' },
    },
    undefined,
    env,
  );
  const shown = JSON.stringify(loaded.redacted);

  it('masks references, secret keys and URL passwords', () => {
    expect(shown).not.toContain('pg-password-1');
    expect(shown).not.toContain('ch-password-2');
    expect(shown).not.toContain('inline-pw');
    expect(shown).not.toContain('plain-connect-pw');
    expect(shown).toContain('postgresql://app:***@db:5432/shop');
    expect(shown).toContain('postgresql://etl:***@wh:5432/warehouse');
    expect(shown).toContain('"password":"***"');
    expect(shown).toContain('"username":"admin"');
  });

  it('feeds resolved secrets to the redactor used by logs and errors', () => {
    const redactor = new Redactor();
    for (const secret of loaded.secretValues) redactor.add(secret);
    expect(redactor.redact('auth failed for ch-password-2 at postgresql://u:pw@h/db')).toBe('auth failed for *** at postgresql://u:***@h/db');
  });
});
