import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnectClient } from '../../src/clients/connect.ts';
import { createConsumer, createKafkaAdmin, type ConsumedRecord, type KafkaAdmin } from '../../src/clients/kafka.ts';
import { withPostgres } from '../../src/clients/postgres.ts';
import { loadConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { systemClock } from '../../src/core/clock.ts';
import { CheckFailedError, DependencyError } from '../../src/core/errors.ts';
import { createLogger } from '../../src/core/logger.ts';
import { Redactor } from '../../src/core/redactor.ts';
import { connectorRunningStep } from '../../src/phases/ingestion/connector-running.ts';
import { connectorStep } from '../../src/phases/ingestion/connector-step.ts';
import { heartbeatTopic } from '../../src/phases/ingestion/connector-config.ts';
import { ingestionPhase } from '../../src/phases/ingestion/index.ts';
import { sourcePreflightStep } from '../../src/phases/ingestion/preflight.ts';
import { publicationStep } from '../../src/phases/ingestion/publication.ts';
import { replicationSlotStep } from '../../src/phases/ingestion/replication-slot.ts';
import { lazySqlClient } from '../../src/phases/ingestion/sql.ts';
import type { PhaseContext, PlannedChange } from '../../src/phases/phase.ts';
import { ensureDemoSchema } from '../../src/source/demo-schema.ts';
import { REPO_ROOT } from './cli.ts';

const { config: base } = loadConfig({ cwd: REPO_ROOT });
const runId = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
const TABLES = ['public.orders', 'public.customers', 'public.products'];

/** A connector of its own per test: unique connector, slot, publication, role and topic prefix. */
function configFor(suffix: string, connector: Partial<Config['connector']> = {}): Config {
  const id = `${runId}_${suffix}`;
  return {
    ...base,
    connector: {
      ...base.connector,
      name: `it-ingestion-${id}`,
      slotName: `it_${id}`,
      publicationName: `it_${id}`,
      topicPrefix: `it${id}`,
      heartbeatInterval: '2s',
      snapshotTimeout: '2m',
      ...connector,
    },
  };
}

interface Recorded {
  readonly warnings: string[];
  readonly progress: { label: string; done: number; total: number }[];
  readonly notes: string[];
}

function contextFor(config: Config): PhaseContext & { recorded: Recorded } {
  const recorded: Recorded = { warnings: [], progress: [], notes: [] };
  const logger = createLogger({
    level: 'info',
    json: false,
    redactor: new Redactor(),
    write: (line) => {
      if (line.startsWith('warn')) recorded.warnings.push(line);
    },
  });
  return {
    config,
    logger,
    clock: systemClock,
    options: { prune: false },
    progress: {
      update: (label, done, total) => void recorded.progress.push({ label, done, total }),
      note: (message) => void recorded.notes.push(message),
      done: () => undefined,
    },
    recorded,
  };
}

const connect = createConnectClient(base.connect);
let admin: KafkaAdmin;
const created = { connectors: new Set<string>(), configs: [] as Config[], tables: [] as string[], roles: [] as string[], rows: [] as string[] };

async function createCdcTopics(config: Config): Promise<void> {
  // What the infrastructure phase does for the real prefix: broker auto-creation is off.
  await admin.createTopics(
    TABLES.map((t) => ({ name: `${config.connector.topicPrefix}.${t}`, partitions: t === 'public.orders' ? 6 : 1, replicationFactor: 1, configs: { 'cleanup.policy': 'compact' } })),
  );
}

async function source<T>(fn: (sql: (text: string, values?: unknown[]) => Promise<Record<string, unknown>[]>) => Promise<T>): Promise<T> {
  return withPostgres(base.source, 'source', (client) => fn(async (text, values) => (await client.query(text, values)).rows as Record<string, unknown>[]));
}

/** Reads the topic until `done` says it has what it needs (or the time is up). */
async function consumeUntil(topic: string, done: (records: readonly ConsumedRecord[]) => boolean, timeoutMs = 30_000): Promise<ConsumedRecord[]> {
  const consumer = createConsumer(base.kafka, { groupId: `it-ingestion-reader-${runId}-${Math.random().toString(36).slice(2)}`, topics: [topic] });
  const records: ConsumedRecord[] = [];
  try {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until && !done(records)) records.push(...(await consumer.poll({ maxWaitMs: 500 })).records);
  } finally {
    await consumer.close();
  }
  return records;
}

const jsonOf = (buffer: Buffer | null): unknown => (buffer === null ? null : JSON.parse(buffer.toString('utf8')));

beforeAll(async () => {
  await ensureDemoSchema(base.source);
  admin = createKafkaAdmin(base.kafka, 'it-ingestion', { retries: 3 });
});

afterAll(async () => {
  for (const name of created.connectors) await connect.deleteConnector(name).catch(() => undefined);
  await source(async (sql) => {
    for (const config of created.configs) {
      const slot = config.connector.slotName;
      // The deleted connector's task lets go of its slot within a few seconds.
      for (let i = 0; i < 30; i++) {
        const [row] = await sql('SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1', [slot]);
        if (!row) break;
        if (row.active_pid === null) {
          await sql('SELECT pg_drop_replication_slot($1)', [slot]);
          break;
        }
        if (i === 20) await sql('SELECT pg_terminate_backend($1::int)', [row.active_pid]);
        await new Promise((r) => setTimeout(r, 500));
      }
      await sql(`DROP PUBLICATION IF EXISTS ${config.connector.publicationName}`);
    }
    for (const statement of created.rows) await sql(statement);
    for (const table of created.tables) await sql(`DROP TABLE IF EXISTS ${table}`);
    for (const role of created.roles) {
      await sql(`DROP OWNED BY ${role}`).catch(() => undefined);
      await sql(`DROP ROLE IF EXISTS ${role}`);
    }
  });
  const topics = created.configs.flatMap((c) => [...TABLES.map((t) => `${c.connector.topicPrefix}.${t}`), heartbeatTopic(c.connector)]);
  await admin.deleteTopics(topics).catch(() => undefined);
  await admin.close();
});

describe('the ingestion phase on the real stack', () => {
  it('prepares the source, creates the connector as a least-privilege role, follows the snapshot and streams insert, update and delete', async () => {
    const role = `it_cdc_${runId}`;
    const config = configFor('main', { role: { name: role } });
    created.configs.push(config);
    created.roles.push(role);
    created.connectors.add(config.connector.name);
    await createCdcTopics(config);
    const ctx = contextFor(config);
    const { steps, close } = await ingestionPhase.steps(ctx);
    try {
      expect(steps.map((s) => s.name)).toEqual(['source-preflight', 'replication-role', 'publication', 'connector', 'connector-running', 'replication-slot']);
      const plans = new Map<string, readonly PlannedChange[]>();
      const details = new Map<string, string>();
      for (const step of steps) {
        const changes = await step.plan();
        plans.set(step.name, changes);
        await step.apply(changes);
        details.set(step.name, await step.verify());
      }
      expect(plans.get('source-preflight')).toEqual([]);
      expect(details.get('source-preflight')).toMatch(/wal_level=logical/);
      expect(plans.get('replication-role')?.[0]).toMatchObject({ resource: `role ${role}`, action: 'create' });
      expect(plans.get('publication')?.[0]).toMatchObject({ action: 'create', diff: '+ public.customers\n+ public.orders\n+ public.products' });
      const connectorPlan = plans.get('connector')?.[0];
      expect(connectorPlan).toMatchObject({ resource: `connector ${config.connector.name}`, action: 'create' });
      expect(connectorPlan?.diff).toContain(`+ database.user = ${role}`);
      expect(details.get('connector-running')).toMatch(/RUNNING with 1 task.*streaming/s);
      expect(details.get('replication-slot')).toMatch(new RegExp(`replication slot ${config.connector.slotName} active, retained WAL`));
      expect(ctx.recorded.progress.map((p) => p.label)).toEqual(expect.arrayContaining(TABLES));

      // What Connect stores is what we asked for: no plaintext password, the role as user.
      const stored = await connect.getConfig(config.connector.name);
      expect(stored?.['database.user']).toBe(role);
      expect(stored).not.toHaveProperty('database.password');

      // Idempotent: a second plan finds nothing to change.
      for (const step of steps) expect(await step.plan(), step.name).toEqual([]);

      const topic = `${config.connector.topicPrefix}.public.orders`;
      const [customer] = await source((sql) => sql(`INSERT INTO public.customers (name, tier) VALUES ('it ingestion ${runId}', 'GOLD') RETURNING id`));
      const [product] = await source((sql) => sql(`INSERT INTO public.products (name, category, price) VALUES ('it ingestion ${runId}', 'books', 12.34) RETURNING id`));
      created.rows.push(`DELETE FROM public.customers WHERE id = ${Number(customer!.id)}`, `DELETE FROM public.products WHERE id = ${Number(product!.id)}`);
      const written = Date.now();
      const [order] = await source((sql) =>
        sql(
          `INSERT INTO public.orders (customer_id, product_id, quantity, amount, status) VALUES ($1, $2, 3, '1234567.89', 'PLACED')
           RETURNING id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at_utc`,
          [customer!.id, product!.id],
        ),
      );
      const orderId = Number(order!.id);
      created.rows.unshift(`DELETE FROM public.orders WHERE id = ${orderId}`);
      await source((sql) => sql(`UPDATE public.orders SET status = 'PAID' WHERE id = $1`, [orderId]));
      await source((sql) => sql(`DELETE FROM public.orders WHERE id = $1`, [orderId]));

      const ours = (records: readonly ConsumedRecord[]) => records.filter((r) => JSON.stringify(jsonOf(r.key)) === JSON.stringify({ id: orderId }));
      const records = ours(await consumeUntil(topic, (all) => ours(all).length >= 4));
      const elapsedMs = Date.now() - written;
      expect(records).toHaveLength(4);
      expect(elapsedMs).toBeLessThan(30_000);
      // One key, one partition: the changelog of this order in order.
      expect(new Set(records.map((r) => r.partition)).size).toBe(1);
      for (const r of records) expect(jsonOf(r.key)).toEqual({ id: orderId });
      const [inserted, updated, deleted, tombstone] = records.map((r) => jsonOf(r.value) as Record<string, unknown> | null);

      expect(inserted).toMatchObject({
        id: orderId,
        customer_id: Number(customer!.id),
        product_id: Number(product!.id),
        quantity: 3,
        amount: '1234567.89',
        status: 'PLACED',
        created_at: order!.created_at_utc,
        __op: 'c',
        __deleted: 'false',
      });
      expect(inserted!.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      expect(typeof inserted!.__source_ts_ms).toBe('number');
      expect(Math.abs(Number(inserted!.__source_ts_ms) - written)).toBeLessThan(60_000);
      expect(typeof inserted!.__lsn).toBe('number');
      expect(updated).toMatchObject({ id: orderId, status: 'PAID', amount: '1234567.89', __op: 'u', __deleted: 'false' });
      expect(deleted).toMatchObject({ id: orderId, __op: 'd', __deleted: 'true' });
      expect(tombstone).toBeNull();
      console.log(`ingestion: insert→4 records in ${elapsedMs} ms; records:\n${records.map((r) => `${r.key?.toString()} ${r.value?.toString() ?? 'null'}`).join('\n')}`);

      const topics = await admin.listTopics();
      expect(topics).toContain(heartbeatTopic(config.connector));

      // The retained-WAL warning: any WAL at all is above a threshold of one byte.
      const sql = lazySqlClient(config.source, 'source');
      try {
        const strict = { ...config, connector: { ...config.connector, retainedWalWarnBytes: 1 } };
        const warnCtx = contextFor(strict);
        const detail = await replicationSlotStep(strict, sql, warnCtx.logger).verify();
        expect(detail).toMatch(/WARNING: replication slot .* holds back .* of WAL, above connector.retainedWalWarnBytes/);
        expect(warnCtx.recorded.warnings.join('\n')).toMatch(/holds back/);
      } finally {
        await sql.close();
      }
    } finally {
      await close();
    }
  }, 240_000);

  it('reports a FAILED task with its cause in verify, and restarts it in run once the cause is fixed', async () => {
    const config = configFor('failed', { tables: ['public.orders'] });
    created.configs.push(config);
    created.connectors.add(config.connector.name);
    await createCdcTopics(config);
    const ctx = contextFor(config);
    const sql = lazySqlClient(config.source, 'source');
    try {
      // The connector comes before its publication: Debezium (autocreate disabled) fails the task.
      await connectorStep(config, connect).apply([]);
      const running = connectorRunningStep(ctx, connect, sql, admin, { pollMs: 500 });
      const failed = async () => {
        for (let i = 0; i < 60; i++) {
          const status = await connect.status(config.connector.name);
          if (status && [status.connector, ...status.tasks].some((s) => s.state === 'FAILED')) return;
          await new Promise((r) => setTimeout(r, 500));
        }
        throw new Error('connector never failed');
      };
      await failed();
      const error = await running.verify().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CheckFailedError);
      expect((error as CheckFailedError).exitCode).toBe(1);
      expect((error as Error).message).toMatch(new RegExp(`connector ${config.connector.name}: (task 0|connector) FAILED: .*${config.connector.publicationName}`));
      expect((error as Error).message).not.toMatch(/\n|\tat /);
      console.log(`ingestion: FAILED verify says: ${(error as Error).message}`);
      expect((await running.plan())[0]).toMatchObject({ action: 'update' });

      await publicationStep(config, sql).apply([]);
      const detail = await running.apply([]);
      expect(detail).toMatch(/restarted, RUNNING with 1 task/);
      expect(ctx.recorded.notes.join('\n')).toMatch(/restarting/);
      await expect(running.verify()).resolves.toMatch(/RUNNING/);
    } finally {
      await sql.close();
    }
  }, 180_000);

  it('shows Connect validation errors per field and creates nothing', async () => {
    const config = configFor('invalid', { config: { 'snapshot.mode': 'sometimes', 'decimal.handling.mode': 'abacus' } });
    const step = connectorStep(config, connect);
    const error = await step.apply(await step.plan()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckFailedError);
    expect((error as Error).message).toMatch(/Kafka Connect rejected the config: .*snapshot\.mode: /);
    expect((error as Error).message).toMatch(/decimal\.handling\.mode: /);
    expect(await connect.getConfig(config.connector.name)).toBeUndefined();
  });

  it('fails the preflight with exit 1 naming a table without primary key', async () => {
    const table = `public.it_nopk_${runId}`;
    created.tables.push(table);
    await source((sql) => sql(`CREATE TABLE ${table} (id int, note text)`));
    const config = configFor('nopk', { tables: [...TABLES, table] });
    const sql = lazySqlClient(config.source, 'source');
    try {
      const step = sourcePreflightStep(config, sql);
      expect(await step.plan()).toEqual([]);
      const error = await step.apply([]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CheckFailedError);
      expect((error as CheckFailedError).exitCode).toBe(1);
      expect((error as Error).message).toBe(`source preflight: table ${table} has no primary key; add one or remove it from connector.tables`);
    } finally {
      await sql.close();
    }
  });

  it('gives a DependencyError (exit 3) when Kafka Connect cannot be reached', async () => {
    const refused = createConnectClient({ url: 'http://127.0.0.1:1', timeout: '2s' }, { retry: { retries: 0, initialDelayMs: 1, maxDelayMs: 1 } });
    const error = await refused.info().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyError);
    expect((error as DependencyError).exitCode).toBe(3);
    expect((error as Error).message).toBe(
      'Kafka Connect at http://127.0.0.1:1 is unreachable: ECONNREFUSED; is it running? for the local stack run `stream-migrate dev up`, otherwise check connect.url',
    );
    const config = { ...configFor('unreachable'), connect: { url: 'http://no-such-host.invalid:8083', timeout: '2s' } };
    const { steps, close } = await ingestionPhase.steps(contextFor(config));
    try {
      const connector = steps.find((s) => s.name === 'connector')!;
      const planError = await connector.plan().catch((e: unknown) => e);
      expect(planError).toBeInstanceOf(DependencyError);
      expect((planError as DependencyError).exitCode).toBe(3);
      expect((planError as Error).message).toMatch(/Kafka Connect at http:\/\/no-such-host\.invalid:8083 is unreachable: (ENOTFOUND|EAI_AGAIN)/);
    } finally {
      await close();
    }
  });
});
