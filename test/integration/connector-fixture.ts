import { execa, type ResultPromise } from 'execa';
import { createConnectClient } from '../../src/clients/connect.ts';
import { createKafkaAdmin, createPartitionReader, type ConsumedRecord, type KafkaAdmin } from '../../src/clients/kafka.ts';
import { withPostgres } from '../../src/clients/postgres.ts';
import { loadConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { heartbeatTopic, notificationTopic } from '../../src/phases/ingestion/connector-config.ts';
import { ensureDemoSchema } from '../../src/source/demo-schema.ts';
import { streamTopics, type StreamTopics } from '../../src/stream/topics.ts';
import { BIN, runCli } from './cli.ts';
import { testWorkdir } from './test-env.ts';

export type Sql = (text: string, values?: unknown[]) => Promise<Record<string, unknown>[]>;

/**
 * A real Debezium connector of one test on the test stack: its own working directory and
 * configuration (connector, slot, publication, signal table and topic prefix unique to the run),
 * the CDC and processor topics it needs, made by `phase run ingestion` through the CLI, and
 * everything removed again by `cleanup`.
 */
export class ConnectorFixture {
  readonly cwd: string;
  readonly config: Config;
  readonly topics: StreamTopics;
  readonly admin: KafkaAdmin;
  readonly rows: string[] = [];
  private readonly workers = new Map<string, ResultPromise>();
  readonly id: string;

  constructor(id: string, overrides: Readonly<Record<string, unknown>> = {}) {
    this.id = id;
    const connector = {
      name: `it-${id}`,
      slotName: `it_${id}`,
      publicationName: `it_${id}`,
      topicPrefix: `it${id}`,
      signalTable: `stream_migrate.it_signal_${id}`,
      // The shared orders table may hold millions of rows: tests re-send what they need themselves.
      snapshotMode: 'no_data',
      heartbeatInterval: '2s',
      snapshotTimeout: '2m',
      ...((overrides.connector as Record<string, unknown> | undefined) ?? {}),
    };
    const processor = { topicPrefix: `it${id}-`, groupId: `it${id}-processor`, commitInterval: '100ms', missingReferenceWait: '2s', ...((overrides.processor as Record<string, unknown> | undefined) ?? {}) };
    this.cwd = testWorkdir(id, { ...overrides, connector, processor });
    this.config = loadConfig({ cwd: this.cwd }).config;
    this.topics = streamTopics(this.config);
    this.admin = createKafkaAdmin(this.config.kafka, `it-${id}-admin`, { retries: 3 });
  }

  /** The topics the infrastructure phase would make (the broker creates none by itself). */
  async createTopics(): Promise<void> {
    const t = this.topics;
    const compact = { 'cleanup.policy': 'compact' };
    await this.admin.createTopics([
      { name: t.orders, partitions: 3, replicationFactor: 1, configs: compact },
      { name: t.customers, partitions: 1, replicationFactor: 1, configs: compact },
      { name: t.products, partitions: 1, replicationFactor: 1, configs: compact },
      { name: t.ordersByCustomer, partitions: 3, replicationFactor: 1 },
      { name: t.ordersByProduct, partitions: 3, replicationFactor: 1, configs: compact },
      { name: t.changelog, partitions: 3, replicationFactor: 1, configs: compact },
      { name: t.processedOrders, partitions: 3, replicationFactor: 1, configs: compact },
      { name: t.orderSummaries, partitions: 3, replicationFactor: 1, configs: compact },
      { name: t.fraudAlerts, partitions: 3, replicationFactor: 1, configs: compact },
      { name: t.deadLetter, partitions: 1, replicationFactor: 1 },
    ]);
  }

  async source<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    return withPostgres(this.config.source, 'source', (client) => fn(async (text, values) => (await client.query(text, values)).rows as Record<string, unknown>[]));
  }

  async ensureSourceSchema(): Promise<void> {
    await ensureDemoSchema(this.config.source);
  }

  cli(args: readonly string[], timeoutMs = 180_000) {
    return runCli(args, { cwd: this.cwd, timeoutMs });
  }

  startProcessor(instance: string): void {
    const child = execa(BIN, ['processor', 'run', '--instance', instance, '--metrics-port', '0'], { cwd: this.cwd, reject: false, all: true });
    child.all?.on('data', (chunk: Buffer) => {
      if (process.env.SM_TEST_VERBOSE) process.stderr.write(`[${instance}] ${chunk.toString()}`);
    });
    this.workers.set(instance, child);
  }

  /** Kills a processor started by startProcessor (SIGKILL: no clean shutdown) and waits for it to exit. */
  async killProcessor(instance: string): Promise<void> {
    const child = this.workers.get(instance);
    if (!child) return;
    this.workers.delete(instance);
    child.kill('SIGKILL');
    await child;
  }

  /** Every committed record of a topic. */
  async all(topic: string): Promise<ConsumedRecord[]> {
    const reader = createPartitionReader(this.config.kafka, { topic, clientSuffix: `it-${this.id}-read` });
    const out: ConsumedRecord[] = [];
    try {
      await reader.readToEnd((records) => void out.push(...records));
    } finally {
      await reader.close();
    }
    return out;
  }

  async cleanup(): Promise<void> {
    for (const [, child] of this.workers) {
      child.kill('SIGKILL');
      await child;
    }
    const connect = createConnectClient(this.config.connect);
    await connect.deleteConnector(this.config.connector.name).catch(() => undefined);
    const { slotName, publicationName, signalTable } = this.config.connector;
    await this.source(async (sql) => {
      await dropReplicationSlot(sql, slotName);
      await sql(`DROP PUBLICATION IF EXISTS ${publicationName}`).catch(() => undefined);
      await sql(`DROP TABLE IF EXISTS ${signalTable}`).catch(() => undefined);
      for (const statement of this.rows) await sql(statement).catch(() => undefined);
    });
    const t = this.topics;
    await this.admin
      .deleteTopics([
        t.orders,
        t.customers,
        t.products,
        t.ordersByCustomer,
        t.ordersByProduct,
        t.changelog,
        t.processedOrders,
        t.orderSummaries,
        t.fraudAlerts,
        t.deadLetter,
        heartbeatTopic(this.config.connector),
        notificationTopic(this.config.connector),
      ])
      .catch(() => undefined);
    await this.admin.close();
  }
}

/**
 * Drops replication slot `slot` once no session holds it (a deleted connector's task lets go of its
 * slot within a few seconds); a session still holding it after `terminateAfter` looks, half a
 * second apart, is terminated. Gives up silently after `attempts` looks.
 */
export async function dropReplicationSlot(sql: Sql, slot: string, { attempts = 30, terminateAfter = 20 } = {}): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    const [row] = await sql('SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1', [slot]);
    if (!row) return;
    if (row.active_pid === null) {
      await sql('SELECT pg_drop_replication_slot($1)', [slot]);
      return;
    }
    if (i === terminateAfter) await sql('SELECT pg_terminate_backend($1::int)', [row.active_pid]);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** A short id unique to this run, usable in topic, slot and table names. */
export function runId(): string {
  return `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/** The first value `probe` returns other than undefined, asking every `intervalMs`; throws naming `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000, intervalMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
