import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.ts';
import { buildConfig } from './load.ts';

interface BadConfig {
  readonly yaml: string;
  /** The key path the message and `details.path` must name. */
  readonly path: string;
  /** What the message must say after `f.yaml: <path>: `. */
  readonly says: string;
}

/** Malformed files, one problem each: every one exits 2 with one line naming the key path. */
const BAD_CONFIGS: readonly BadConfig[] = [
  // wrong types
  { yaml: 'kafka:\n  brokers: 127.0.0.1:9092', path: 'kafka.brokers', says: 'expected array, received string' },
  { yaml: 'processor:\n  commitInterval: 100', path: 'processor.commitInterval', says: 'expected string, received number' },
  { yaml: 'validation:\n  settle: true', path: 'validation.settle', says: 'expected string, received boolean' },
  { yaml: 'processor:\n  workers: two', path: 'processor.workers', says: 'expected number, received string' },
  { yaml: 'processor:\n  heapMiB: 64', path: 'processor.heapMiB', says: 'expected a number >= 128' },
  { yaml: 'kafka:\n  ssl: maybe', path: 'kafka.ssl', says: 'expected true, false or a mapping of ca, cert, key, rejectUnauthorized' },
  { yaml: 'rules:\n  tierDiscount: { GOLD: 0.1 }', path: 'rules.tierDiscount.GOLD', says: 'expected string, received number' },
  { yaml: 'topics:\n  t1: { partitions: 1, replicationFactor: 1 }', path: 'topics.t1.configs', says: 'missing; expected record' },
  // unknown keys
  { yaml: 'clickhouse:\n  passwrd: x', path: 'clickhouse.passwrd', says: 'unknown key clickhouse.passwrd' },
  { yaml: 'unknownTop: 1', path: 'unknownTop', says: 'unknown key unknownTop' },
  { yaml: 'connector:\n  role: { name: cdc, pasword: x }', path: 'connector.role.pasword', says: 'unknown key connector.role.pasword' },
  // missing secrets
  { yaml: 'clickhouse:\n  password: ${env:SM_BAD_CONFIG_UNSET}', path: 'clickhouse.password', says: 'environment variable SM_BAD_CONFIG_UNSET is not set' },
  { yaml: 'kafka:\n  sasl: { mechanism: plain, username: u, password: "${file:/nonexistent/sm-pw}" }', path: 'kafka.sasl.password', says: 'secret file /nonexistent/sm-pw does not exist' },
  { yaml: 'kafka:\n  sasl: { mechanism: plain, username: u }', path: 'kafka.sasl.password', says: 'missing; expected string' },
  { yaml: 'source:\n  url: "postgresql://app:${env:SM_BAD_CONFIG_PG}@db/shop"', path: 'source.url', says: 'environment variable SM_BAD_CONFIG_PG is not set' },
  // bad durations
  { yaml: 'sink:\n  batchWait: 10 minutes', path: 'sink.batchWait', says: 'expected a duration such as 200ms' },
  { yaml: 'connect:\n  timeout: -5s', path: 'connect.timeout', says: 'expected a duration such as 200ms' },
  { yaml: 'cutover:\n  maxReportAge: 1 day', path: 'cutover.maxReportAge', says: 'expected a duration such as 200ms' },
  // bad URLs and addresses
  { yaml: 'source:\n  url: mysql://u@h/db', path: 'source.url', says: 'expected a postgres:// URL' },
  { yaml: 'warehouse:\n  url: ""', path: 'warehouse.url', says: 'expected a postgres:// URL' },
  { yaml: 'clickhouse:\n  url: 127.0.0.1:8123', path: 'clickhouse.url', says: 'expected an http:// or https:// URL' },
  { yaml: 'connect:\n  url: "http://"', path: 'connect.url', says: 'expected an http:// or https:// URL' },
  { yaml: 'kafka:\n  brokers: [nohost]', path: 'kafka.brokers.0', says: 'expected host:port' },
  // negative or zero sizes
  { yaml: 'sink:\n  batchRows: -5', path: 'sink.batchRows', says: 'expected a number >= 1' },
  { yaml: 'connector:\n  maxQueueSize: 0', path: 'connector.maxQueueSize', says: 'expected a number >= 1' },
  { yaml: 'cutover:\n  maxSlotLagBytes: -1', path: 'cutover.maxSlotLagBytes', says: 'expected a number >= 0' },
  { yaml: 'topics:\n  t1: { partitions: -1, replicationFactor: 1, configs: {} }', path: 'topics.t1.partitions', says: 'expected a number >= 1' },
  { yaml: 'validation:\n  tolerances: { mismatched: -1 }', path: 'validation.tolerances.mismatched', says: 'expected a number >= 0' },
  { yaml: 'dev:\n  ports: { postgres: 70000 }', path: 'dev.ports.postgres', says: 'expected a number <= 65535' },
  { yaml: 'kafka:\n  brokers: []', path: 'kafka.brokers', says: 'expected a list of at least 1 item' },
  // bad enums, names and patterns
  { yaml: 'processor:\n  deploy: cloud', path: 'processor.deploy', says: 'expected one of "local"|"external"' },
  { yaml: 'batch:\n  schedule: daily', path: 'batch.schedule', says: 'expected a five-field cron expression' },
  { yaml: 'connector:\n  tables: [orders]', path: 'connector.tables.0', says: 'expected schema.table' },
  { yaml: 'connector:\n  role: { name: CDC-User }', path: 'connector.role.name', says: 'expected a lower-case role name' },
  { yaml: 'clickhouse:\n  database: "stream; DROP TABLE x"', path: 'clickhouse.database', says: 'expected a plain identifier' },
  { yaml: 'topics:\n  "bad topic": { partitions: 1, replicationFactor: 1, configs: {} }', path: 'topics.bad topic', says: 'expected a valid Kafka topic name' },
  { yaml: 'dev:\n  javaHeap: 1GB', path: 'dev.javaHeap', says: 'expected a JVM heap size' },
  { yaml: 'rules:\n  tierDiscount: { GOLD: "1.5" }', path: 'rules.tierDiscount.GOLD', says: '' },
  { yaml: 'rules:\n  patterns: [{ name: f, kind: fanin, severity: HIGH, totalAbove: "1", windowMinutes: 5 }]', path: 'rules.patterns.0.kind', says: 'expected kind velocity, escalation or fan-in' },
  { yaml: 'rules:\n  patterns: [{ name: f, kind: fan-in, severity: HIGH, minCustomers: 1, windowMinutes: 10 }]', path: 'rules.patterns.0.minCustomers', says: 'expected at least 2 customers (one customer is not a fan-in)' },
  { yaml: 'rules:\n  patterns: [{ name: f, kind: fan-in, severity: HIGH, minCustomers: 3, windowMinutes: 7 }]', path: 'rules.patterns.0.windowMinutes', says: 'expected a whole number of minutes that divides a day' },
  { yaml: 'rules:\n  patterns: [{ name: f, kind: fan-in, severity: HIGH, minCustomers: 3, windowMinutes: 10, totalAbove: "1" }]', path: 'rules.patterns.0.totalAbove', says: '' },
  { yaml: 'rules:\n  patterns: [{ name: e, kind: escalation, severity: HIGH, totalAbove: "1", windowMinutes: 20000 }]', path: 'rules.patterns.0.windowMinutes', says: 'expected at most 10080 minutes (a week)' },
];

function errorOf(yaml: string): ConfigError {
  try {
    buildConfig(parseYaml(yaml), 'f.yaml', {});
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`accepted: ${yaml}`);
}

describe('a malformed configuration file', () => {
  it('has at least twenty cases', () => expect(BAD_CONFIGS.length).toBeGreaterThanOrEqual(20));

  it.each(BAD_CONFIGS)('$path: $says', ({ yaml, path, says }) => {
    const error = errorOf(yaml);
    expect(error.exitCode).toBe(2);
    expect(error.message).not.toContain('\n');
    expect(error.message.startsWith(`f.yaml: `)).toBe(true);
    // The key path is named right after the file (or as the unknown key itself).
    expect(error.message).toMatch(new RegExp(`^f\\.yaml: (${escape(path)}: |unknown key ${escape(path)})`));
    expect(error.message).toContain(says);
    expect(error.details.path).toBe(path);
    // zod's own wording never reaches the user.
    expect(error.message).not.toMatch(/Invalid input|Too small|Too big|received undefined/);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
