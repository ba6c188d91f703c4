import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withPostgres } from '../../src/clients/postgres.ts';
import { BIN, runCli, type CliRun } from './cli.ts';
import { ConnectorFixture, runId, waitFor } from './connector-fixture.ts';
import { ownDatabase } from './own-database.ts';
import { freePort } from './ports.ts';
import { TEST_HOME, testConfig, testWorkdir } from './test-env.ts';

/**
 * A canary password per secret (source, warehouse, ClickHouse, Kafka SASL, Connect, the
 * replication role), each given as `${env:...}`, must appear nowhere: not in any command's
 * stdout/stderr (with --verbose too), any file under a working directory's .stream-migrate or
 * the test stack's, the state store, the connector config as Connect returns it, or /metrics.
 * Locally PostgreSQL trusts loopback and Connect has no auth, so those canaries do not break the
 * commands; Kafka SASL and ClickHouse refuse them, so those run in a second, failing, setup.
 */
const id = runId();
const CANARY = {
  SM_CANARY_SOURCE: `cnrySrc${crypto.randomBytes(6).toString('hex')}`,
  SM_CANARY_WAREHOUSE: `cnryWh${crypto.randomBytes(6).toString('hex')}`,
  SM_CANARY_CLICKHOUSE: `cnryCh${crypto.randomBytes(6).toString('hex')}`,
  SM_CANARY_KAFKA: `cnryKfk${crypto.randomBytes(6).toString('hex')}`,
  SM_CANARY_CONNECT: `cnryCon${crypto.randomBytes(6).toString('hex')}`,
  SM_CANARY_ROLE: `cnryRole${crypto.randomBytes(6).toString('hex')}`,
} as const;
const canaries = Object.values(CANARY);
const database = ownDatabase(testConfig().config.warehouse, `it_secrets_${id}`);
const role = `it_canary_${id}`;
const secretsFile = path.join(TEST_HOME, '.stream-migrate', 'secrets', `canary-${id}.properties`);

/** Everything a command printed, by command line, to search at the end. */
const outputs: { readonly what: string; readonly text: string }[] = [];
const workdirs: string[] = [];
let fixture: ConnectorFixture | undefined;

function leaksIn(text: string): string[] {
  return canaries.filter((c) => text.includes(c)).map((c) => Object.entries(CANARY).find(([, v]) => v === c)![0]);
}

async function cli(cwd: string, args: readonly string[]): Promise<CliRun> {
  const run = await runCli(args, { cwd, timeoutMs: 240_000 });
  outputs.push({ what: args.join(' '), text: run.stdout + '\n' + run.stderr });
  return run;
}

/** The command with and without --verbose. */
async function both(cwd: string, args: readonly string[]): Promise<CliRun> {
  await cli(cwd, [...args, '--verbose']);
  return cli(cwd, args);
}

function filesUnder(dir: string, skip: (file: string) => boolean = () => false): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (skip(file)) continue;
    if (entry.isDirectory()) out.push(...filesUnder(file, skip));
    else if (entry.isFile()) out.push(file);
  }
  return out;
}

function grepFiles(files: readonly string[]): string[] {
  const hits: string[] = [];
  for (const file of files) {
    let content: Buffer;
    try {
      content = fs.readFileSync(file);
    } catch {
      continue; // removed meanwhile (a rotated log, a Kafka segment cleaned)
    }
    for (const canary of canaries) if (content.includes(canary)) hits.push(`${file}: ${leaksIn(canary).join(',')}`);
  }
  return hits;
}

beforeAll(async () => {
  Object.assign(process.env, CANARY);
  await database.create();
  fs.mkdirSync(path.dirname(secretsFile), { recursive: true, mode: 0o700 });
  // Connect's file config provider reads the role's password from here (its allowed path); it is the secret store, not a leak.
  fs.writeFileSync(secretsFile, `password=${CANARY.SM_CANARY_ROLE}\n`, { mode: 0o600 });
});

afterAll(async () => {
  await fixture?.cleanup();
  await withPostgres(testConfig().config.source, 'source', async (client) => {
    await client.query(`DROP OWNED BY ${role}`).catch(() => undefined);
    await client.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
  });
  await database.drop();
  fs.rmSync(secretsFile, { force: true });
  for (const dir of workdirs) fs.rmSync(dir, { recursive: true, force: true });
  for (const name of Object.keys(CANARY)) delete process.env[name];
});

describe('canary passwords appear nowhere', () => {
  it('in the output, files, state, connector config and metrics of a working setup', async () => {
    const f = (fixture = new ConnectorFixture(`sec${id}`, {
      source: { password: '${env:SM_CANARY_SOURCE}' },
      warehouse: { url: database.url, password: '${env:SM_CANARY_WAREHOUSE}' },
      connect: { username: 'admin', password: '${env:SM_CANARY_CONNECT}' },
      connector: { role: { name: role, password: '${env:SM_CANARY_ROLE}' }, passwordFrom: `file:${secretsFile}:password` },
    }));
    workdirs.push(f.cwd);
    await f.ensureSourceSchema();
    await f.createTopics();

    await both(f.cwd, ['config', 'show']);
    const shown = await cli(f.cwd, ['config', 'show', '--json']);
    expect(shown.exitCode).toBe(0);
    await both(f.cwd, ['phase', 'plan', 'ingestion']);
    const ingestion = await cli(f.cwd, ['phase', 'run', 'ingestion', '--json', '--verbose']);
    expect(ingestion.exitCode, ingestion.stderr).toBe(0);
    await cli(f.cwd, ['phase', 'run', 'ingestion']);
    await both(f.cwd, ['phase', 'list', '--json']);
    await both(f.cwd, ['batch', 'run', '--date', '2026-11-25', '--json']);
    // The stream outputs validate compares (on a fresh test stack no earlier test has made them).
    expect((await cli(f.cwd, ['sink', 'migrate'])).exitCode).toBe(0);
    const validated = await both(f.cwd, ['validate', '--window', '1h', '--json']);
    expect(validated.stdout, validated.stderr).toMatch(/"verdict": "(PASS|FAIL|NO_DATA)"/);
    await both(f.cwd, ['cutover', '--dry-run', '--json']);
    await both(f.cwd, ['status', '--json']);
    await both(f.cwd, ['dlq', 'list', '--json']);
    await both(f.cwd, ['audit', '--json']);
    await both(f.cwd, ['snapshot', '--table', 'public.orders', '--where', 'id < 0', '--dry-run']);

    // The connector config as Connect returns it: the role's password only as a provider reference.
    const stored = (await (await fetch(`${f.config.connect.url}/connectors/${f.config.connector.name}/config`)).json()) as Record<string, string>;
    expect(stored['database.user']).toBe(role);
    expect(stored['database.password']).toBe(`\${file:${secretsFile}:password}`);
    expect(leaksIn(JSON.stringify(stored))).toEqual([]);

    // /metrics of a processor and a sink worker of this setup.
    for (const [command, instance] of [['processor', 'w1'], ['sink', 's1']] as const) {
      const port = await freePort();
      const worker = execa(BIN, [command, 'run', '--instance', `${instance}${id}`, '--metrics-port', String(port), '--verbose'], { cwd: f.cwd, reject: false, all: true });
      const metrics = await waitFor(`${command} /metrics`, async () => {
        try {
          const response = await fetch(`http://127.0.0.1:${port}/metrics`);
          return response.ok ? await response.text() : undefined;
        } catch {
          return undefined;
        }
      });
      worker.kill('SIGTERM');
      const done = await worker;
      outputs.push({ what: `${command} run`, text: String(done.all ?? '') });
      outputs.push({ what: `${command} /metrics`, text: metrics });
    }
  });

  it('in the errors of a failing setup: Kafka SASL and ClickHouse refusing the canary, URLs with passwords', async () => {
    const closed = await freePort();
    const failing = testWorkdir('secfail', {
      warehouse: { url: database.url, password: '${env:SM_CANARY_WAREHOUSE}' },
      kafka: { sasl: { mechanism: 'plain', username: 'canary', password: '${env:SM_CANARY_KAFKA}' }, timeout: '3s' },
      clickhouse: { password: '${env:SM_CANARY_CLICKHOUSE}', timeout: '5s' },
    });
    workdirs.push(failing);
    for (const args of [['phase', 'plan', 'infrastructure'], ['phase', 'run', 'output'], ['dlq', 'list'], ['validate', '--window', '1h'], ['status', '--json']]) {
      await both(failing, args);
    }
    const saslRun = outputs.at(-9);
    expect(saslRun?.text).toMatch(/Kafka|SASL|sasl/);

    // Passwords inside URLs (source, ClickHouse, Connect) of services that are not there. The
    // declared topics exist first, so `phase verify infrastructure` gets as far as Connect (exit 3)
    // on a fresh test stack too.
    const infrastructure = testWorkdir('secinfra');
    workdirs.push(infrastructure);
    expect((await runCli(['phase', 'run', 'infrastructure'], { cwd: infrastructure, timeoutMs: 180_000 })).exitCode).toBeLessThan(2);
    const urls = testWorkdir('securl', {
      warehouse: { url: database.url },
      source: { url: `postgresql://postgres:\${env:SM_CANARY_SOURCE}@127.0.0.1:${closed}/source` },
      clickhouse: { url: `http://default:\${env:SM_CANARY_CLICKHOUSE}@127.0.0.1:${closed}` },
      connect: { url: `http://admin:\${env:SM_CANARY_CONNECT}@127.0.0.1:${closed}`, timeout: '2s' },
    });
    workdirs.push(urls);
    for (const args of [['phase', 'plan', 'ingestion'], ['phase', 'run', 'output'], ['phase', 'verify', 'infrastructure'], ['config', 'show', '--json']]) {
      const run = await both(urls, args);
      if (args[0] === 'phase') expect(run.exitCode).toBe(3);
    }
  });

  it('leaves no trace in the state store, the reports, or any log of the working directories and the test stack', async () => {
    const printed = outputs.flatMap((o) => leaksIn(o.text).map((leak) => `${o.what}: ${leak}`));
    expect(printed).toEqual([]);

    const files = workdirs.flatMap((dir) => filesUnder(dir, (file) => file.endsWith('stream-migrate.yaml')));
    expect(files.some((file) => file.includes(`${path.sep}reports${path.sep}`))).toBe(true);
    expect(grepFiles(files)).toEqual([]);
    // The test stack's logs and data (Kafka's Connect config topic, PostgreSQL's and ClickHouse's logs), its secrets store aside.
    expect(grepFiles(filesUnder(path.join(TEST_HOME, '.stream-migrate'), (file) => file.startsWith(path.join(TEST_HOME, '.stream-migrate', 'secrets'))))).toEqual([]);

    const rows = await withPostgres({ url: database.url }, 'warehouse', async (client) => {
      const tables = await client.query<{ name: string }>(`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'stream_migrate' AND table_type = 'BASE TABLE'`);
      const all: { table: string; text: string }[] = [];
      for (const { name } of tables.rows) {
        const result = await client.query<{ row: string }>(`SELECT t::text AS row FROM stream_migrate.${name} t`);
        for (const r of result.rows) all.push({ table: name, text: r.row });
      }
      return all;
    });
    expect(rows.some((r) => r.table === 'audit_log')).toBe(true);
    expect(rows.some((r) => r.table === 'phase_runs')).toBe(true);
    expect(rows.some((r) => r.table === 'validation_reports')).toBe(true);
    expect(rows.flatMap((r) => leaksIn(r.text).map((leak) => `${r.table}: ${leak} in ${r.text.slice(0, 300)}`))).toEqual([]);
  });
});
