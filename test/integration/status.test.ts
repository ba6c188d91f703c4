import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouse } from '../../src/clients/clickhouse.ts';
import { migrateClickHouse } from '../../src/output/clickhouse-migrations.ts';
import { SECTION_NAMES, type StatusSnapshot } from '../../src/status/snapshot.ts';
import { BIN, jsonOf, runCli } from './cli.ts';
import { TEST_HOME, testConfig, writeTestConfig } from './test-env.ts';

const exec = promisify(execFile);
const { config } = testConfig();
const id = `${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
const database = `it_status_${id}`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-status-'));
const configFile = path.join(tmp, 'stream-migrate.yaml');

/** "YYYY-MM-DD hh:mm:ss" (UTC), the DateTime text both ClickHouse versions accept. */
const chTime = (msAgo: number): string => new Date(Date.now() - msAgo).toISOString().slice(0, 19).replace('T', ' ');
/** JSONEachRow with Decimal columns as bare numbers: 18.16 rejects quoted decimals. */
const line = (row: Record<string, unknown>): string => JSON.stringify(row).replace(/"(amount|discount|tax|final_amount)":"(-?[0-9.]+)"/g, '"$1":$2');

function processed(orderId: number, finalAmount: string, msAgo: number, version: number, isDeleted = 0): string {
  const at = chTime(msAgo);
  return line({ order_id: orderId, customer_id: 1, customer_tier: 'GOLD', product_id: 1, product_category: 'books', quantity: 1, amount: finalAmount, discount: '0.00', tax: '0.00', final_amount: finalAmount, status: 'PAID', created_at: at, processed_at: at, source_ts: at, ingested_at: at, version, is_deleted: isDeleted });
}

function alert(orderId: number, finalAmount: string, severity: string, msAgo: number, version: number): string {
  const at = chTime(msAgo);
  return line({ order_id: orderId, customer_id: 1, final_amount: finalAmount, severity, reason: `${severity} test`, created_at: at, alerted_at: chTime(msAgo - 1_000), version, is_deleted: 0 });
}

/** Ports nothing listens on: bound by us for a moment, then released. */
async function closedPorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<net.Server>((resolve) => {
      const server = net.createServer();
      server.listen(0, '127.0.0.1', () => resolve(server));
    })),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

beforeAll(async () => {
  const ch = createClickHouse(config.clickhouse, 'default');
  try {
    await migrateClickHouse(ch, database);
    const minute = 60_000;
    // Inside the last hour: orders 1-4 (order 2 updated to its latest amount), order 5 deleted; order 6 is two hours old.
    const orders = [
      processed(1, '100.00', 5 * minute, 1),
      processed(2, '999.00', 10 * minute, 1),
      processed(2, '12000.50', 10 * minute, 2),
      processed(3, '1500.25', 20 * minute, 1),
      processed(4, '0.26', 30 * minute, 1),
      processed(5, '700.00', 15 * minute, 1),
      processed(5, '0.00', 15 * minute, 2, 1),
      processed(6, '5000.00', 120 * minute, 1),
    ];
    const alerts = [alert(2, '12000.50', 'HIGH', 10 * minute, 2), alert(3, '1500.25', 'MEDIUM', 20 * minute, 1), alert(6, '5000.00', 'MEDIUM', 120 * minute, 1)];
    await ch.command(`INSERT INTO ${database}.processed_orders_versions FORMAT JSONEachRow\n${orders.join('\n')}`);
    await ch.command(`INSERT INTO ${database}.fraud_alerts_versions FORMAT JSONEachRow\n${alerts.join('\n')}`);
  } finally {
    await ch.close();
  }
  writeTestConfig(tmp, { clickhouse: { database } });
});

afterAll(async () => {
  const ch = createClickHouse(config.clickhouse, 'default');
  await ch.command(`DROP DATABASE IF EXISTS ${database}`).catch(() => undefined);
  await ch.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('stream-migrate status', () => {
  it('--json prints one snapshot with every section, the five services and the business figures of the last hour', async () => {
    const run = await runCli(['--config', configFile, 'status', '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    const snapshot = jsonOf<StatusSnapshot>(run);
    for (const name of SECTION_NAMES) expect(snapshot, name).toHaveProperty(name);
    expect(Date.parse(snapshot.takenAt)).toBeGreaterThan(Date.now() - 60_000);

    const services = 'services' in snapshot.services ? snapshot.services.services : [];
    expect(services.map((s) => `${s.name} ${s.state}`)).toEqual(['postgres UP', 'kafka UP', 'connect UP', 'clickhouse UP', 'schema-registry UP']);
    expect(snapshot.phases).toMatchObject({ phases: [{ name: 'infrastructure' }, { name: 'ingestion' }, { name: 'processing' }, { name: 'output' }] });
    expect(snapshot.topics).toHaveProperty('topics');
    expect(snapshot.groups).toHaveProperty('groups');
    expect(snapshot.connector).toHaveProperty('state');
    expect(snapshot.validation).toHaveProperty('reports');

    // Orders 1-4 are live and recent: 100.00 + 12000.50 + 1500.25 + 0.26 = 13601.01; 13601.01 / 4 = 3400.2525 -> 3400.25.
    expect(snapshot.business).toMatchObject({ orders: 4, revenue: '13601.01', averageOrderValue: '3400.25', fraudAlerts: 2, fraudRate: 0.5, alertsBySeverity: { HIGH: 1, MEDIUM: 1 } });
    const alerts = 'alerts' in snapshot.alerts ? snapshot.alerts.alerts : [];
    expect(alerts.map((a) => [a.orderId, a.severity, a.finalAmount])).toEqual([
      [2, 'HIGH', '12000.50'],
      [3, 'MEDIUM', '1500.25'],
      [6, 'MEDIUM', '5000.00'],
    ]);
  });

  it('prints plain text when stdout is not a terminal', async () => {
    const run = await runCli(['--config', configFile, 'status']);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^stream-migrate status at \d{4}-/);
    expect(run.stdout).toMatch(/SERVICES\nservice\s+state[^\n]*\npostgres\s+UP/);
    expect(run.stdout).toMatch(/orders\s+4\n/);
    expect(run.stdout).not.toMatch(/\u001b\[/);
  });

  it('shows services that are down as DOWN and their sections as errors, quickly, and still exits 0', async () => {
    const [pg, kafka, connect, clickhouse, controller, chTcp, registry, registryManagement] = await closedPorts(8);
    const downFile = path.join(tmp, 'down.yaml');
    writeTestConfig(
      tmp,
      [
        `warehouse: { url: "postgresql://postgres@127.0.0.1:${pg}/warehouse" }`,
        `kafka: { brokers: ["127.0.0.1:${kafka}"] }`,
        `connect: { url: "http://127.0.0.1:${connect}" }`,
        `clickhouse: { url: "http://127.0.0.1:${clickhouse}" }`,
        `schemaRegistry: { url: "http://127.0.0.1:${registry}" }`,
        `dev: { dir: "${path.join(tmp, 'no-stack')}", ports: { postgres: ${pg}, kafka: ${kafka}, kafkaController: ${controller}, connect: ${connect}, clickhouseHttp: ${clickhouse}, clickhouseTcp: ${chTcp}, schemaRegistry: ${registry}, schemaRegistryManagement: ${registryManagement} } }`,
      ].join('\n') + '\n',
      path.basename(downFile),
    );
    const started = Date.now();
    const run = await runCli(['--config', downFile, 'status', '--json'], { timeoutMs: 60_000 });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(20_000);
    const snapshot = jsonOf<StatusSnapshot>(run);
    const services = 'services' in snapshot.services ? snapshot.services.services : [];
    expect(services.map((s) => `${s.name} ${s.state}`)).toEqual(['postgres DOWN', 'kafka DOWN', 'connect DOWN', 'clickhouse DOWN', 'schema-registry DOWN']);
    for (const name of ['phases', 'connector', 'topics', 'groups', 'validation', 'business', 'alerts'] as const) {
      expect(snapshot[name], name).toEqual({ error: expect.any(String) });
    }
    expect(JSON.stringify(snapshot.connector)).toMatch(/127\.0\.0\.1:\d+ is unreachable/);
  });

  it('runs as a TUI in a real terminal (tmux): shows the services, switches views, exits 0 on q', async () => {
    const session = `smtest${id}`;
    const exitFile = path.join(tmp, `${session}.exit`);
    const capture = async () => (await exec('tmux', ['capture-pane', '-p', '-t', session])).stdout;
    const screenWith = async (pattern: RegExp, timeoutMs = 30_000): Promise<string> => {
      const deadline = Date.now() + timeoutMs;
      let screen = '';
      while (Date.now() < deadline) {
        screen = await capture().catch(() => screen);
        if (pattern.test(screen)) return screen;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      throw new Error(`the screen never showed ${pattern}; it shows:\n${screen}`);
    };
    // The Streams view shows rates for the pipeline's topics, so they must exist whatever ran before.
    const infrastructure = await runCli(['phase', 'run', 'infrastructure']);
    expect(infrastructure.exitCode, infrastructure.stderr).toBe(0);
    // CI=true (as in the CI job) makes the command print plain text: this test is about the interactive screen.
    const command = `cd ${TEST_HOME} && env -u CI ${BIN} --config ${configFile} status --interval 1s; echo EXIT=$? > ${exitFile}`;
    await exec('tmux', ['new-session', '-d', '-s', session, '-x', '160', '-y', '50', command]);
    try {
      const overview = await screenWith(/clickhouse\s+UP/);
      expect(overview).toContain('stream-migrate status');
      for (const name of ['postgres', 'kafka', 'connect', 'clickhouse']) expect(overview).toMatch(new RegExp(`^${name}\\s+UP\\s+\\S+`, 'm'));
      expect(overview).toContain('Tab / 1-3 / arrows: switch view   r: refresh now   q: quit');

      await exec('tmux', ['send-keys', '-t', session, '3']);
      const business = await screenWith(/Latest fraud alerts/);
      expect(business).toContain('orders 4   revenue 13601.01   average order 3400.25   fraud rate 50.00%');

      await exec('tmux', ['send-keys', '-t', session, 'Tab']);
      await screenWith(/Phases/);
      await exec('tmux', ['send-keys', '-t', session, 'Tab']);
      // A second snapshot has arrived when rates show a number instead of "-".
      await screenWith(/cdc\.public\.orders\s+orders\s+\d+\s+[\d,]+\s+[\d.]+\/s/);

      await exec('tmux', ['send-keys', '-t', session, 'q']);
      const deadline = Date.now() + 15_000;
      while (!fs.existsSync(exitFile) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(fs.readFileSync(exitFile, 'utf8').trim()).toBe('EXIT=0');
    } finally {
      await exec('tmux', ['kill-session', '-t', session]).catch(() => undefined);
    }
  });
});
