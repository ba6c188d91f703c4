import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createClickHouse } from '../../src/clients/clickhouse.ts';
import { withPostgres } from '../../src/clients/postgres.ts';
import { jsonOf, runCli } from './cli.ts';
import { testConfig, writeTestConfig } from './test-env.ts';

const { config } = testConfig();

interface StatusJson {
  services: { name: string; healthy: boolean; endpoint: string; detail: string; pid: number | null }[];
}

// `dev` commands run in TEST_HOME: the test stack, never the user's.
describe('the local stack', () => {
  it('reports all five services healthy through `dev status --json`', async () => {
    const run = await runCli(['dev', 'status', '--json']);
    expect(run.exitCode).toBe(0);
    const status = jsonOf<StatusJson>(run);
    expect(status.services.map((s) => s.name)).toEqual(['postgres', 'kafka', 'connect', 'clickhouse', 'schema-registry']);
    for (const service of status.services) {
      expect(service, service.name).toMatchObject({ healthy: true });
      expect(service.pid, service.name).toBeGreaterThan(0);
    }
    expect(status.services.find((s) => s.name === 'postgres')?.endpoint).toBe(`127.0.0.1:${config.dev.ports.postgres}`);
  });

  it('keeps the same pids when `dev up` runs again', async () => {
    const before = jsonOf<StatusJson>(await runCli(['dev', 'status', '--json']));
    const again = await runCli(['dev', 'up', '--json']);
    expect(again.exitCode).toBe(0);
    const up = jsonOf<{ services: { name: string; pid: number }[] }>(again);
    expect(up.services.map((s) => [s.name, s.pid])).toEqual(before.services.map((s) => [s.name, s.pid]));
  });

  it('runs PostgreSQL with wal_level=logical and both databases', async () => {
    const walLevel = await withPostgres(config.source, 'source', async (client) => {
      const { rows } = await client.query<{ wal_level: string }>('SHOW wal_level');
      return rows[0]?.wal_level;
    });
    expect(walLevel).toBe('logical');
    const db = await withPostgres(config.warehouse, 'warehouse', async (client) => (await client.query<{ db: string }>('SELECT current_database() AS db')).rows[0]?.db);
    expect(db).toBe('warehouse');
  });

  it('has the Debezium PostgreSQL connector on the Connect plugin path', async () => {
    const response = await fetch(`${config.connect.url}/connector-plugins`);
    const plugins = (await response.json()) as { class: string; version: string }[];
    const debezium = plugins.find((p) => p.class === 'io.debezium.connector.postgresql.PostgresConnector');
    expect(debezium?.version).toBe(config.dev.versions.debezium);
  });

  it('accepts CREATE, INSERT and SELECT on ClickHouse', async () => {
    const table = `it_smoke_${process.pid}_${Date.now()}`;
    const ch = createClickHouse(config.clickhouse);
    try {
      await ch.command(`CREATE TABLE ${table} (id UInt64, amount Decimal(18, 2), at DateTime) ENGINE = MergeTree ORDER BY id`);
      await ch.insert(table, [
        { id: 1, amount: 12.5, at: '2026-11-25 10:00:00' },
        { id: 2, amount: 0.01, at: '2026-11-25 10:05:00' },
      ]);
      const rows = await ch.query<{ id: string; amount: string }>(`SELECT id, toString(amount) AS amount FROM ${table} ORDER BY id`);
      expect(rows).toEqual([
        { id: '1', amount: '12.50' },
        { id: '2', amount: '0.01' },
      ]);
    } finally {
      await ch.command(`DROP TABLE IF EXISTS ${table}`);
      await ch.close();
    }
  });

  it('refuses to start over a taken port with exit 3 naming the key that changes it', async () => {
    // A fresh working directory has no pid files, so the running test stack's ports count as taken.
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-ports-'));
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    writeTestConfig(cwd, `dev:\n  ports: { clickhouseHttp: ${port} }\n`);
    try {
      const run = await runCli(['dev', 'up'], { cwd });
      expect(run.exitCode).toBe(3);
      expect(run.stderr).toMatch(/error: \w+: port \d+ on 127\.0\.0\.1 is taken by another process; free it or set dev\.ports\.\w+ in stream-migrate\.yaml/);
    } finally {
      blocker.close();
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  });
});

describe('the command line edge', () => {
  it('exits 2 with the key path for an invalid configuration file', async () => {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-cfg-'));
    writeTestConfig(cwd, 'kafka:\n  brokers: localhost\n');
    const run = await runCli(['config', 'show'], { cwd });
    expect(run.exitCode).toBe(2);
    expect(run.stderr.trim()).toMatch(/^error: .*stream-migrate\.yaml: kafka\.brokers: expected array/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('never prints a secret in `config show`, text or JSON', async () => {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-secret-'));
    writeTestConfig(cwd, 'clickhouse:\n  password: "${env:SM_TEST_CH_PW}"\nconnect:\n  password: literal-connect-pw\n');
    for (const args of [['config', 'show'], ['config', 'show', '--json']]) {
      const run = await runCli(args, { cwd, env: { SM_TEST_CH_PW: 'very-secret-ch-pw' } });
      expect(run.exitCode).toBe(0);
      expect(run.stdout).toContain('***');
      expect(run.stdout + run.stderr).not.toContain('very-secret-ch-pw');
      expect(run.stdout + run.stderr).not.toContain('literal-connect-pw');
    }
  });

  it('lists every command in --help and refuses an unknown one with exit 2', async () => {
    const help = await runCli(['--help']);
    for (const name of ['dev', 'demo', 'phase', 'batch', 'validate', 'cutover', 'rollback', 'status', 'processor', 'load']) {
      expect(help.stdout).toContain(`  ${name}`);
    }
    const unknown = await runCli(['definitely-not-a-command']);
    expect(unknown.exitCode).toBe(2);
  });
});
