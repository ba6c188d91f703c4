import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnectClient } from '../../src/clients/connect.ts';
import { Kafka, logLevel } from 'kafkajs';
import { createKafkaAdmin, type KafkaAdmin, type PartitionOffset } from '../../src/clients/kafka.ts';
import { withPostgres } from '../../src/clients/postgres.ts';
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
import { replicationRoleStep } from '../../src/phases/ingestion/replication-role.ts';
import { replicationSlotStep } from '../../src/phases/ingestion/replication-slot.ts';
import { signalTableStep } from '../../src/phases/ingestion/signal-table.ts';
import { lazySqlClient } from '../../src/phases/ingestion/sql.ts';
import type { PhaseContext, PlannedChange } from '../../src/phases/phase.ts';
import { ensureDemoSchema } from '../../src/source/demo-schema.ts';
import { dropReplicationSlot, runId as newRunId } from './connector-fixture.ts';
import { TEST_HOME, testConfig } from './test-env.ts';

const { config: base } = testConfig();
const runId = newRunId();
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
    cwd: TEST_HOME,
    configFile: undefined,
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
const created = { connectors: new Set<string>(), configs: [] as Config[], tables: [] as string[], roles: [] as string[], rows: [] as string[], topics: new Set<string>() };

async function createCdcTopics(config: Config): Promise<void> {
  // What the infrastructure phase does for the real prefix: broker auto-creation is off.
  const specs = TABLES.map((t) => ({ name: `${config.connector.topicPrefix}.${t}`, partitions: t === 'public.orders' ? 6 : 1, replicationFactor: 1, configs: { 'cleanup.policy': 'compact' } }));
  for (const spec of specs) created.topics.add(spec.name);
  await admin.createTopics(specs);
}

async function source<T>(fn: (sql: (text: string, values?: unknown[]) => Promise<Record<string, unknown>[]>) => Promise<T>): Promise<T> {
  return withPostgres(base.source, 'source', (client) => fn(async (text, values) => (await client.query(text, values)).rows as Record<string, unknown>[]));
}

interface Read {
  readonly partition: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
}

/**
 * Reads the topic from the given offsets until `done` says it has what it needs (or the time is
 * up). kafkajs, only as a reader here: the adapter's group consumer cannot seek, and the shared
 * orders topic may hold millions of records from other runs before ours.
 */
async function readFrom(topic: string, from: readonly PartitionOffset[], done: (records: readonly Read[]) => boolean, timeoutMs = 30_000): Promise<Read[]> {
  const kafka = new Kafka({ clientId: `it-ingestion-reader-${runId}`, brokers: [...base.kafka.brokers], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `it-ingestion-reader-${runId}-${Math.random().toString(36).slice(2)}` });
  const records: Read[] = [];
  let finish = (): void => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        records.push({ partition, key: message.key, value: message.value });
        if (done(records)) finish();
      },
    });
    for (const p of from) consumer.seek({ topic, partition: p.partition, offset: String(p.offset) });
    await Promise.race([finished, new Promise((resolve) => setTimeout(resolve, timeoutMs))]);
  } finally {
    await consumer.disconnect();
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
      await dropReplicationSlot(sql, config.connector.slotName);
      await sql(`DROP PUBLICATION IF EXISTS ${config.connector.publicationName}`).catch(() => undefined);
    }
    // Other runs' load generators may have ordered our customer or product: then it stays.
    for (const statement of created.rows) await sql(statement).catch(() => undefined);
    for (const table of created.tables) await sql(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
    for (const role of created.roles) {
      await sql(`DROP OWNED BY ${role}`).catch(() => undefined);
      await sql(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
    }
  });
  for (const config of created.configs) {
    created.topics.add(heartbeatTopic(config.connector));
    for (const table of config.connector.tables) created.topics.add(`${config.connector.topicPrefix}.${table}`);
  }
  await admin.deleteTopics([...created.topics]).catch(() => undefined);
  await admin.close();
});

describe('the ingestion phase on the real stack', () => {
  it('prepares the source, creates the connector as a least-privilege role and streams insert, update and delete of an order', async () => {
    const role = `it_cdc_${runId}`;
    // no_data: the shared orders table may hold millions of rows; the snapshot has its own test.
    const config = configFor('main', { role: { name: role }, snapshotMode: 'no_data' });
    created.configs.push(config);
    created.roles.push(role);
    created.connectors.add(config.connector.name);
    await createCdcTopics(config);
    const ctx = contextFor(config);
    const { steps, close } = await ingestionPhase.steps(ctx);
    try {
      expect(steps.map((s) => s.name)).toEqual(['source-preflight', 'source-schema', 'replication-role', 'signal-table', 'publication', 'connector', 'connector-running', 'replication-slot']);
      const plans = new Map<string, readonly PlannedChange[]>();
      const details = new Map<string, string>();
      const applied = new Map<string, string>();
      for (const step of steps) {
        const started = Date.now();
        const changes = await step.plan();
        plans.set(step.name, changes);
        applied.set(step.name, await step.apply(changes));
        details.set(step.name, await step.verify());
        console.log(`ingestion step ${step.name} (${Date.now() - started} ms): ${applied.get(step.name)} / ${details.get(step.name)}`);
      }
      expect(plans.get('source-preflight')).toEqual([]);
      expect(details.get('source-preflight')).toMatch(/wal_level=logical/);
      expect(plans.get('replication-role')?.[0]).toMatchObject({ resource: `role ${role}`, action: 'create' });
      expect(plans.get('publication')?.[0]).toMatchObject({ action: 'create', diff: `+ public.customers\n+ public.orders\n+ public.products\n+ ${config.connector.signalTable}` });
      const connectorPlan = plans.get('connector')?.[0];
      expect(connectorPlan).toMatchObject({ resource: `connector ${config.connector.name}`, action: 'create' });
      expect(connectorPlan?.diff).toContain(`+ database.user = ${role}`);
      expect(applied.get('connector-running')).toMatch(/RUNNING with 1 task; no snapshot/);
      expect(details.get('connector-running')).toMatch(/and 1 task RUNNING/);
      expect(details.get('replication-slot')).toMatch(new RegExp(`replication slot ${config.connector.slotName} active, retained WAL`));

      // What Connect stores is what we asked for: no plaintext password, the role as user.
      const stored = await connect.getConfig(config.connector.name);
      expect(stored?.['database.user']).toBe(role);
      expect(stored).not.toHaveProperty('database.password');

      // Idempotent: a second plan finds nothing to change.
      for (const step of steps) expect(await step.plan(), step.name).toEqual([]);

      const topic = `${config.connector.topicPrefix}.public.orders`;
      const before = await admin.endOffsets(topic);
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

      const ours = (records: readonly Read[]) => records.filter((r) => JSON.stringify(jsonOf(r.key)) === JSON.stringify({ id: orderId }));
      const records = ours(await readFrom(topic, before, (all) => ours(all).length >= 4));
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

      // Heartbeats (every 2 s here) land on the predictable topic Connect created for them.
      let heartbeats = 0n;
      for (let i = 0; i < 20 && heartbeats === 0n; i++) {
        const ends = await admin.endOffsets(heartbeatTopic(config.connector)).catch(() => []);
        heartbeats = ends.reduce((sum, p) => sum + p.offset, 0n);
        if (heartbeats === 0n) await new Promise((r) => setTimeout(r, 500));
      }
      expect(heartbeats).toBeGreaterThan(0n);

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
    const config = configFor('failed', { tables: ['public.products'], snapshotMode: 'no_data' });
    created.configs.push(config);
    created.connectors.add(config.connector.name);
    await createCdcTopics(config);
    const ctx = contextFor(config);
    const sql = lazySqlClient(config.source, 'source');
    try {
      // The role the connector logs in as exists (on a fresh stack no earlier test made it), but
      // the connector comes before its publication: Debezium (autocreate disabled) fails the task.
      await replicationRoleStep(config, sql, ctx.logger).apply(await replicationRoleStep(config, sql, ctx.logger).plan());
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
      expect((error as Error).message).toMatch(new RegExp(`^connector ${config.connector.name}: (task 0|connector) FAILED: ConnectException: Publication autocreation is disabled`));
      expect((error as Error).message).not.toMatch(/\n|\tat /);
      console.log(`ingestion: FAILED verify says: ${(error as Error).message}`);
      expect((await running.plan())[0]).toMatchObject({ action: 'update' });

      await signalTableStep(config, sql).apply([]);
      await publicationStep(config, sql).apply([]);
      const detail = await running.apply([]);
      expect(detail).toMatch(/restarted, RUNNING with 1 task/);
      expect(ctx.recorded.notes.join('\n')).toMatch(/restarting/);
      await expect(running.verify()).resolves.toMatch(/RUNNING/);
    } finally {
      await sql.close();
    }
  }, 180_000);

  it('follows the initial snapshot with progress per table against the source count', async () => {
    const table = `public.it_snap_${runId}`;
    const rows = 100_000;
    created.tables.push(table);
    await source((sql) =>
      sql(`CREATE TABLE ${table} (id bigserial PRIMARY KEY, customer_id bigint NOT NULL, amount numeric(12,2) NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
           INSERT INTO ${table} (customer_id, amount) SELECT g % 1000, (g % 100000) / 100.0 FROM generate_series(1, ${rows}) g`),
    );
    const config = configFor('snap', { tables: [table], snapshotMode: 'initial' });
    created.configs.push(config);
    created.connectors.add(config.connector.name);
    await admin.createTopics([{ name: `${config.connector.topicPrefix}.${table}`, partitions: 6, replicationFactor: 1, configs: { 'cleanup.policy': 'compact' } }]);
    const ctx = contextFor(config);
    const { steps, close } = await ingestionPhase.steps(ctx);
    try {
      const details = new Map<string, string>();
      for (const step of steps) details.set(step.name, await step.apply(await step.plan()));
      const snapshot = details.get('connector-running') ?? '';
      console.log(`ingestion snapshot: ${snapshot}`);
      expect(snapshot).toMatch(new RegExp(`snapshot complete \\(${table.replace('.', '\\.')} ${rows}/${rows}(, \\d+ rows/s)?\\)`));
      const updates = ctx.recorded.progress.filter((p) => p.label === table);
      expect(updates.length).toBeGreaterThan(0);
      expect(updates.every((p) => p.total === rows)).toBe(true);
      expect(updates.at(-1)!.done).toBe(rows);
      for (let i = 1; i < updates.length; i++) expect(updates[i]!.done).toBeGreaterThanOrEqual(updates[i - 1]!.done);
      const step = (name: string) => steps.find((s) => s.name === name)!;
      await expect(step('connector-running').verify()).resolves.toMatch(/RUNNING, streaming/);
      await expect(step('replication-slot').verify()).resolves.toMatch(/active, retained WAL/);
    } finally {
      await close();
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
    const noRetry = { retry: { retries: 0, initialDelayMs: 1, maxDelayMs: 1 } };
    const closedPort = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as net.AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const refused = createConnectClient({ url: `http://127.0.0.1:${closedPort}`, timeout: '2s' }, noRetry);
    const error = await refused.info().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyError);
    expect((error as DependencyError).exitCode).toBe(3);
    expect((error as Error).message).toBe(
      `Kafka Connect at http://127.0.0.1:${closedPort} is unreachable: ECONNREFUSED; is it running? for the local stack run \`stream-migrate dev up\`, otherwise check connect.url`,
    );
    // Port 1 is on fetch's blocklist: refused before any connection, still a dependency error.
    const blocked = await createConnectClient({ url: 'http://127.0.0.1:1', timeout: '2s' }, noRetry).status('x').catch((e: unknown) => e);
    expect(blocked).toBeInstanceOf(DependencyError);
    expect((blocked as Error).message).toMatch(/^Kafka Connect at http:\/\/127\.0\.0\.1:1 is unreachable: bad port;/);
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
