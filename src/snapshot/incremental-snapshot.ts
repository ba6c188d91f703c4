import type pg from 'pg';
import { createConnectClient, type ConnectClient } from '../clients/connect.ts';
import { withPostgres } from '../clients/postgres.ts';
import type { Config } from '../config/schema.ts';
import type { Clock } from '../core/clock.ts';
import { durationMs } from '../core/duration.ts';
import { CheckFailedError, UsageError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { sleep } from '../core/time.ts';
import { notificationTopic } from '../phases/ingestion/connector-config.ts';
import { failuresOf } from '../phases/ingestion/connector-running.ts';
import { quoteTable } from '../phases/ingestion/sql.ts';
import type { Progress } from '../phases/phase.ts';
import { failedScans, foldNotification, NOT_STARTED, parseNotification, rowsSoFar, type SnapshotProgress, type TableScan } from './notifications.ts';
import { executeSnapshotSignal, newSignalId, type ExecuteSnapshotSignal } from './signal.ts';

export interface SnapshotDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly progress: Progress;
}

export interface SnapshotRequest {
  readonly table: string;
  readonly where?: string | undefined;
  readonly dryRun: boolean;
}

export interface SnapshotResult {
  readonly table: string;
  readonly where: string | null;
  readonly dryRun: boolean;
  readonly signal: ExecuteSnapshotSignal;
  /** Rows matching the condition when the signal was sent (what the snapshot is expected to re-send). */
  readonly matchingRows: number;
  /** Rows Debezium read and re-sent (its TABLE_SCAN_COMPLETED count); null on a dry run. */
  readonly rows: number | null;
  readonly elapsedMs: number | null;
  readonly rowsPerSecond: number | null;
}

/**
 * Re-sends a table's current rows (those matching `where`) through a Debezium incremental
 * snapshot: checks the table is captured and the connector takes signals, counts the matching
 * rows (which also proves the condition is valid SQL), inserts the execute-snapshot signal and
 * follows it to its end through the connector's notifications. Re-sent rows arrive with
 * `__op: "r"`; the processor treats a row equal to what it holds as no change.
 */
export async function runIncrementalSnapshot(request: SnapshotRequest, deps: SnapshotDeps): Promise<SnapshotResult> {
  const { config } = deps;
  const table = capturedTable(config, request.table);
  const connect = createConnectClient(config.connect);
  await assertTakesSignals(config, connect);
  const matchingRows = await countMatching(config, table, request.where);
  const signal = executeSnapshotSignal(newSignalId('snapshot'), table, request.where);
  const base = { table, where: request.where ?? null, signal, matchingRows };
  if (request.dryRun) return { ...base, dryRun: true, rows: null, elapsedMs: null, rowsPerSecond: null };
  await withPostgres(config.source, 'source', (client) => insertSignal(client, config.connector.signalTable, signal, false));
  deps.logger.info(`sent signal ${signal.id}: incremental snapshot of ${table}${request.where ? ` where ${request.where}` : ''} (${matchingRows} rows)`);
  const followed = await followSnapshot(signal.id, matchingRows, deps, connect);
  return { ...base, dryRun: false, ...followed };
}

/** `--table` as one of `connector.tables`; anything else is a usage error (exit 2). */
export function capturedTable(config: Pick<Config, 'connector'>, table: string): string {
  const tables = config.connector.tables;
  if (!tables.includes(table)) {
    throw new UsageError(`--table ${table}: not a table the connector captures; choose one of ${tables.join(', ')} (connector.tables)`);
  }
  return table;
}

/** The connector exists and its config takes signals from our table and sends notifications where we read them. */
export async function assertTakesSignals(config: Config, connect: Pick<ConnectClient, 'getConfig'>): Promise<void> {
  const name = config.connector.name;
  const current = await connect.getConfig(name);
  if (current === undefined) throw new CheckFailedError(`connector ${name} does not exist in Kafka Connect; run \`stream-migrate phase run ingestion\` first`);
  const wanted = { 'signal.data.collection': config.connector.signalTable, 'notification.sink.topic.name': notificationTopic(config.connector) };
  const differs = Object.entries(wanted).filter(([key, value]) => current[key] !== value);
  if (differs.length > 0) {
    throw new CheckFailedError(
      `connector ${name} does not take signals from ${config.connector.signalTable} (${differs.map(([k]) => k).join(', ')} differ); run \`stream-migrate phase run ingestion\` to update it`,
    );
  }
}

/** Rows of `table` matching `where`, counted in a read-only transaction, so the condition cannot change anything. */
export async function countMatching(config: Config, table: string, where: string | undefined): Promise<number> {
  return withPostgres(config.source, 'source', async (client) => {
    await client.query('BEGIN READ ONLY');
    try {
      const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${quoteTable(table)}${where !== undefined ? ` WHERE (${where})` : ''}`);
      return Number(rows[0]?.n ?? 0);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      // Syntax errors, unknown columns, bad casts: the condition is wrong, not the database.
      if (where !== undefined && typeof code === 'string' && /^(42|22)/.test(code)) {
        throw new UsageError(`--where ${JSON.stringify(where)}: PostgreSQL rejects it on ${table}: ${(error as Error).message}`);
      }
      throw error;
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
    }
  });
}

/**
 * Inserts the signal row. With `ifAbsent`, a signal of the same id already there is left alone
 * and `false` returned: a retry after a crash does not send it twice.
 */
export async function insertSignal(client: Pick<pg.Client, 'query'>, signalTable: string, signal: ExecuteSnapshotSignal, ifAbsent: boolean): Promise<boolean> {
  const { rowCount } = await client.query(
    `INSERT INTO ${quoteTable(signalTable)} (id, type, data) VALUES ($1, $2, $3)${ifAbsent ? ' ON CONFLICT (id) DO NOTHING' : ''}`,
    [signal.id, signal.type, signal.data],
  );
  return (rowCount ?? 0) > 0;
}

export interface FollowedSnapshot {
  readonly rows: number;
  readonly scans: readonly TableScan[];
  readonly elapsedMs: number;
  readonly rowsPerSecond: number;
}

/**
 * Follows the snapshot started by `signalId` until Debezium notifies COMPLETED, with a progress
 * bar of rows re-sent against `total`. Debezium's notifications are the completion signal:
 * committed offsets are flushed only now and then and lose their snapshot keys once done (a short
 * snapshot may never show in them), and counting `__op: "r"` records on the CDC topic means reading
 * all of its traffic and never reaching the total when a matching row is deleted meanwhile.
 */
export async function followSnapshot(signalId: string, total: number, deps: SnapshotDeps, connect: Pick<ConnectClient, 'status'>): Promise<FollowedSnapshot> {
  const { config, progress, clock } = deps;
  const kafka = await import('../clients/kafka.ts');
  const topic = notificationTopic(config.connector);
  const name = config.connector.name;
  const timeoutMs = durationMs(config.connector.snapshotTimeout);
  const started = clock.now().getTime();
  const deadline = started + timeoutMs;
  const label = `snapshot ${signalId.slice(0, 17)}`;
  const admin = kafka.createKafkaAdmin(config.kafka, 'snapshot-follow', { retries: 2 });
  let state: SnapshotProgress = NOT_STARTED;
  let lastStatusCheck = 0;
  const checkConnector = async (): Promise<void> => {
    const now = clock.now().getTime();
    if (now - lastStatusCheck < 3_000) return;
    lastStatusCheck = now;
    const status = await connect.status(name);
    const failures = status ? failuresOf(status) : [];
    if (failures.length > 0) {
      throw new CheckFailedError(`connector ${name}: ${failures.map((f) => `${f.who} FAILED: ${f.summary}`).join(' | ')}; the snapshot resumes when it runs again (\`stream-migrate phase run ingestion\`)`);
    }
  };
  const timedOut = (): CheckFailedError =>
    new CheckFailedError(
      `snapshot ${signalId} not complete after ${config.connector.snapshotTimeout} (connector.snapshotTimeout): ${rowsSoFar(state, config.connector.snapshotChunkSize, total)}/${total} rows, ${state.phase}; it goes on in the background`,
    );
  try {
    // Connect creates the notification topic with the connector's first notification.
    while ((await admin.describeTopics([topic])).length === 0) {
      await checkConnector();
      if (clock.now().getTime() > deadline) throw timedOut();
      progress.update(label, 0, total);
      await sleep(500);
    }
    const reader = kafka.createPartitionReader(config.kafka, { topic, clientSuffix: 'snapshot-follow' });
    try {
      while (state.phase !== 'completed' && state.phase !== 'aborted') {
        for (const record of await reader.poll({ maxWaitMs: 500 })) {
          const notification = parseNotification(record.value);
          if (notification) state = foldNotification(state, signalId, notification);
        }
        progress.update(label, rowsSoFar(state, config.connector.snapshotChunkSize, total), total);
        if (state.phase === 'completed' || state.phase === 'aborted') break;
        await checkConnector();
        if (clock.now().getTime() > deadline) throw timedOut();
      }
    } finally {
      await reader.close().catch(() => undefined);
    }
  } finally {
    progress.done();
    await admin.close().catch(() => undefined);
  }
  if (state.phase === 'aborted') throw new CheckFailedError(`snapshot ${signalId} was aborted (a stop-snapshot signal, or the connector gave up); nothing more is re-sent`);
  const failed = failedScans(state);
  if (failed.length > 0) {
    throw new CheckFailedError(`snapshot ${signalId}: ${failed.map((s) => `${s.table} ended ${s.status} after ${s.rows} rows`).join(', ')}; see the Connect log for the cause`);
  }
  const rows = state.scans.reduce((sum, s) => sum + s.rows, 0);
  // Debezium's own timestamps: from STARTED to COMPLETED, without our polling around them.
  const elapsedMs = Math.max(1, (state.finishedAt ?? clock.now().getTime()) - (state.startedAt ?? started));
  return { rows, scans: state.scans, elapsedMs, rowsPerSecond: Math.round(rows / (elapsedMs / 1_000)) };
}
