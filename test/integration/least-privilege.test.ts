import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createClickHouse, type ClickHouse } from '../../src/clients/clickhouse.ts';
import { withPostgres } from '../../src/clients/postgres.ts';
import { connectorRole, LOCAL_REPLICATION_ROLE } from '../../src/phases/ingestion/connector-config.ts';
import { renderTemplate } from '../../src/local-stack/templates.ts';
import { clickhouseAs, LOCAL_CLICKHOUSE_USERS } from '../../src/output/clickhouse-users.ts';
import { migrateClickHouse } from '../../src/output/clickhouse-migrations.ts';
import { LOCAL_WAREHOUSE_READER } from '../../src/validation/warehouse-reader.ts';
import { jsonOf, runCli } from './cli.ts';
import { waitFor } from './connector-fixture.ts';
import { TEST_HOME, testConfig, testWorkdir } from './test-env.ts';

/**
 * Each least-privilege identity of the local stack is enough for its job and no more:
 * the replication role (the connector's login, proven enough by the ingestion, snapshot and dlq
 * tests that stream through it) cannot write or read beyond the captured tables; the ClickHouse
 * sink user writes its output database only; the reader can only read it.
 */
const config = testConfig().config;

async function refusal(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  return 'accepted';
}

beforeAll(async () => {
  // What `dev up` does on a running stack (afterHealthy): the server reloads users.xml by itself.
  const users = path.join(TEST_HOME, '.stream-migrate', 'clickhouse', 'users.xml');
  const rendered = renderTemplate('clickhouse/users.xml.template', { DATABASE: config.clickhouse.database });
  if (fs.readFileSync(users, 'utf8') !== rendered) fs.writeFileSync(users, rendered);
  await waitFor('ClickHouse to know stream_reader', async () => {
    const ch = createClickHouse(clickhouseAs(config, 'reader'));
    try {
      await ch.query('SELECT 1 AS one');
      return true;
    } catch {
      return undefined;
    } finally {
      await ch.close();
    }
  }, 30_000);
  const admin = createClickHouse(config.clickhouse, 'default');
  try {
    await migrateClickHouse(admin, config.clickhouse.database);
  } finally {
    await admin.close();
  }
});

describe('the replication role the connector logs in as on the local stack', () => {
  it('is the default, and may read the captured tables but write nothing and read nothing else', async () => {
    expect(connectorRole(config)).toEqual({ name: LOCAL_REPLICATION_ROLE });
    const exists = await withPostgres(config.source, 'source', async (c) => (await c.query('SELECT rolreplication, rolsuper FROM pg_roles WHERE rolname = $1', [LOCAL_REPLICATION_ROLE])).rows[0]);
    // Created by `phase run ingestion` of any earlier test on this stack; the snapshot test proves it streams.
    if (!exists) return expect.fail(`role ${LOCAL_REPLICATION_ROLE} does not exist yet: run test/integration/snapshot.test.ts first`);
    expect(exists).toEqual({ rolreplication: true, rolsuper: false });
    const asRole = { url: config.source.url.replace('postgresql://postgres@', `postgresql://${LOCAL_REPLICATION_ROLE}@`) };
    await withPostgres(asRole, 'source', async (c) => {
      expect((await c.query('SELECT count(*) >= 0 AS ok FROM public.orders')).rows[0]).toEqual({ ok: true });
      const denied = async (sql: string) => expect(await refusal(() => c.query(sql))).toMatch(/permission denied/);
      await denied(`INSERT INTO public.customers (name, tier) VALUES ('intruder', 'GOLD')`);
      await denied(`UPDATE public.orders SET amount = 0 WHERE id = -1`);
      await denied(`DELETE FROM public.products WHERE id = -1`);
      await denied(`CREATE TABLE public.intruder (id int)`);
      await denied(`SELECT * FROM pg_authid`);
    });
  });
});

describe('ClickHouse users of the local stack (18.16 has no GRANT: databases and readonly profiles)', () => {
  const database = config.clickhouse.database;
  const use = async <T>(purpose: 'sink' | 'reader', fn: (ch: ClickHouse) => Promise<T>): Promise<T> => {
    const settings = clickhouseAs(config, purpose);
    expect(settings.username).toBe(LOCAL_CLICKHOUSE_USERS[purpose]);
    const ch = createClickHouse(settings);
    try {
      return await fn(ch);
    } finally {
      await ch.close();
    }
  };

  it('the sink user writes and reads the output tables, and nothing outside its database', async () => {
    // An order far outside every validation window, removed again below by the administrator.
    const orderId = 900_000_000 + Math.floor(Math.random() * 1_000_000);
    await use('sink', async (ch) => {
      await ch.command(
        `INSERT INTO ${database}.fraud_alerts_versions (order_id, customer_id, final_amount, severity, reason, created_at, alerted_at, version, is_deleted) VALUES (${orderId}, 1, 12000.00, 'HIGH', 'least-privilege test', '2001-01-01 00:00:00', '2001-01-01 00:00:00', 1, 0)`,
      );
      expect(await ch.query<{ n: string }>(`SELECT count() AS n FROM ${database}.fraud_alerts_versions WHERE order_id = ${orderId}`)).toEqual([{ n: '1' }]);
      expect(await refusal(() => ch.command('CREATE TABLE default.intruder (a UInt8) ENGINE = Memory'))).toMatch(/Access denied to database default/);
      expect(await refusal(() => ch.query('SELECT count() FROM default.intruder'))).toMatch(/Access denied to database default/);
    });
    const admin = createClickHouse(config.clickhouse);
    try {
      await admin.command(`ALTER TABLE ${database}.fraud_alerts_versions DELETE WHERE order_id = ${orderId}`);
    } finally {
      await admin.close();
    }
  });

  it('the reader (validation, status) reads the outputs and cannot change anything', async () => {
    await use('reader', async (ch) => {
      const [row] = await ch.query<{ n: string }>(`SELECT count() AS n FROM ${database}.processed_orders`);
      expect(Number(row?.n)).toBeGreaterThanOrEqual(0);
      const readonly = /readonly mode/;
      expect(await refusal(() => ch.command(`INSERT INTO ${database}.fraud_alerts_versions (order_id) VALUES (1)`))).toMatch(readonly);
      expect(await refusal(() => ch.command(`CREATE TABLE ${database}.intruder (a UInt8) ENGINE = Memory`))).toMatch(readonly);
      expect(await refusal(() => ch.command(`DROP TABLE ${database}.fraud_alerts_versions`))).toMatch(readonly);
      expect(await refusal(() => ch.command(`ALTER TABLE ${database}.fraud_alerts_versions DELETE WHERE 1`))).toMatch(readonly);
      expect(await refusal(() => ch.query('SELECT 1 FROM default.intruder'))).toMatch(/Access denied to database default/);
    });
  });
});

describe('validation reads both sides as read-only users', () => {
  it('validate works through the CLI as stream_migrate_reader and stream_reader', async () => {
    const run = await runCli(['validate', '--window', '1h', '--json'], { cwd: testWorkdir('lpvalidate') });
    expect([0, 1], run.stderr).toContain(run.exitCode);
    expect(jsonOf<{ verdict: string }>(run).verdict).toMatch(/^(PASS|FAIL|NO_DATA)$/);
  });

  it('the warehouse reader may SELECT the batch outputs and nothing else', async () => {
    const asReader = { url: config.warehouse.url.replace('postgresql://postgres@', `postgresql://${LOCAL_WAREHOUSE_READER}@`) };
    await withPostgres(asReader, 'warehouse', async (c) => {
      for (const table of ['processed_orders', 'order_summaries', 'fraud_alerts']) {
        expect((await c.query(`SELECT count(*) >= 0 AS ok FROM public.${table}`)).rows[0]).toEqual({ ok: true });
      }
      const denied = async (sql: string) => expect(await refusal(() => c.query(sql))).toMatch(/permission denied/);
      await denied(`DELETE FROM public.processed_orders WHERE order_id = -1`);
      await denied(`UPDATE public.order_summaries SET order_count = 0 WHERE customer_id = -1`);
      await denied(`INSERT INTO public.fraud_alerts (order_id) VALUES (-1)`);
      await denied(`SELECT * FROM stream_migrate.audit_log`);
      await denied(`CREATE TABLE public.intruder (id int)`);
    });
  });
});
