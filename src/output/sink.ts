import { partitionKey } from '../clients/kafka/records.ts';
import { createClickHouse, pingClickHouse, type ClickHouse, type ClickHouseSettings } from '../clients/clickhouse.ts';
import type { CommitOffset, ConsumedRecord, KafkaConsumer, KafkaProducer } from '../clients/kafka.ts';
import { reportLagByTopic } from '../clients/consumer-lag.ts';
import type { Config } from '../config/schema.ts';
import { durationMs } from '../core/duration.ts';
import { DependencyError, isRetriable, messageOf, StreamMigrateError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import { withRetry } from '../core/retry.ts';
import { deadLetter } from '../stream/dead-letter.ts';
import { streamTopics } from '../stream/topics.ts';
import { insertBisecting } from './bisect-insert.ts';
import { migrateClickHouse } from './clickhouse-migrations.ts';
import { insertRowsSql } from './clickhouse-sql.ts';
import type { MigrationResult } from '../state/migrator.ts';
import { OUTPUT_TABLE_NAMES } from '../domain/output-tables.ts';
import { latestPerKey, tableOfTopic, toSinkRow, versionsTable, type OutputTable, type SinkRow, type SinkTopics } from './sink-rows.ts';
import { clickhouseAs } from './clickhouse-users.ts';

type KafkaModule = typeof import('../clients/kafka.ts');
type Labels = Readonly<Record<string, string>>;

export interface SinkOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Names this worker's clients and its static group membership. */
  readonly instanceId: string;
  /** Aborted on SIGTERM/SIGINT: the batch in hand is written (or its insert given up) and the worker returns. */
  readonly signal: AbortSignal;
  /** Default: the output topics `processed-orders`, `order-summaries`, `fraud-alerts`. */
  readonly topics?: SinkTopics;
  /** Default: `stream-migrate.dlq`. */
  readonly deadLetterTopic?: string;
  /** Default: config.clickhouse.database. */
  readonly database?: string;
  /** Default: config.clickhouse. */
  readonly clickhouse?: ClickHouseSettings;
  /** Default: config.sink.groupId. */
  readonly groupId?: string;
  /** First backoff delay while ClickHouse fails; default 250 ms, doubling up to config.sink.retryMax. */
  readonly initialRetryDelayMs?: number;
  /**
   * Test seam: runs after ClickHouse acknowledged a batch and before its offsets are committed.
   * Throwing here is a crash at the worst moment: the rows are written and the offsets are not.
   */
  readonly beforeCommit?: (offsets: readonly CommitOffset[]) => void | Promise<void>;
}

export interface SinkSummary {
  readonly records: number;
  readonly rows: Readonly<Record<OutputTable, number>>;
  readonly deadLettered: number;
  readonly batches: number;
  readonly clickhouseRetries: number;
}

export function defaultSinkTopics(config: Config): SinkTopics {
  const topics = streamTopics(config);
  return { processedOrders: topics.processedOrders, orderSummaries: topics.orderSummaries, fraudAlerts: topics.fraudAlerts };
}

/**
 * The ClickHouse sink: reads the output topics read_committed in a consumer group and writes
 * each table's versioned storage in batches (up to config.sink.batchRows records or
 * config.sink.batchWait). Offsets are committed only after ClickHouse acknowledged the batch, so a
 * crash replays it; rows carry their Kafka offset as version, so a replay changes nothing the
 * views answer. While ClickHouse fails the same batch is retried with backoff and nothing more
 * is read; a row ClickHouse refuses (or that cannot be a valid row) goes to the dead-letter topic.
 */
export async function runSink(options: SinkOptions): Promise<SinkSummary> {
  const kafka: KafkaModule = await import('../clients/kafka.ts');
  const { config, logger, signal } = options;
  const settings = config.kafka;
  const counters = sinkMetrics(options.metrics);
  const groupId = options.groupId ?? config.sink.groupId;
  const totals: Totals = { records: 0, rows: { processed_orders: 0, order_summaries: 0, fraud_alerts: 0 }, deadLettered: 0, batches: 0, clickhouseRetries: 0 };
  const database = options.database ?? config.clickhouse.database;
  // Writes go through the least-privilege sink user; migrations (prepareClickHouse) stay with the administrator.
  const clickhouse = options.clickhouse ?? clickhouseAs(config, 'sink', database);
  const ch = createClickHouse(clickhouse, database);
  // The gauge has a value from the start; inserts keep it current.
  await pingClickHouse(clickhouse.url).then(
    () => counters.up(1),
    () => counters.up(0),
  );
  const admin = kafka.createKafkaAdmin(settings, `sink-${options.instanceId}-admin`, { retries: 3 });
  const producer = kafka.createProducer(settings, `sink-${options.instanceId}-dlq`);
  const lag = setInterval(() => void reportLagByTopic(admin, groupId, counters.lag), 5_000);
  const deps: SessionDeps = { kafka, options, groupId, counters, totals, ch, producer };
  try {
    let failures = 0;
    while (!signal.aborted) {
      try {
        const progressed = await runSession(deps);
        failures = progressed ? 0 : failures + 1;
      } catch (error) {
        if (error instanceof SinkStopped) break;
        if (signal.aborted || !isRetriable(error)) throw error;
        failures++;
        if (failures >= 5) throw error;
        logger.warn(`sink session ended: ${messageOf(error)}; rejoining and replaying from the committed offsets`, { attempt: failures });
        await sleep(Math.min(5_000, 250 * 2 ** failures), signal);
      }
    }
    return totals;
  } finally {
    clearInterval(lag);
    await producer.close().catch(() => undefined);
    await admin.close().catch(() => undefined);
    await ch.close().catch(() => undefined);
  }
}

export interface PrepareOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly signal: AbortSignal;
  readonly database?: string;
  readonly clickhouse?: ClickHouseSettings;
}

/**
 * Applies the ClickHouse migrations before the sink starts, waiting (with backoff, logged, and
 * `stream_migrate_sink_clickhouse_up` 0) while ClickHouse is unreachable. Returns undefined when
 * stopped before ClickHouse came back.
 */
export async function prepareClickHouse(options: PrepareOptions): Promise<MigrationResult | undefined> {
  const clickhouse = options.clickhouse ?? options.config.clickhouse;
  const database = options.database ?? options.config.clickhouse.database;
  const counters = sinkMetrics(options.metrics);
  // The target database may not exist yet; `default` always does.
  const ch = createClickHouse(clickhouse, 'default');
  try {
    return await withRetry(
      async () => {
        try {
          const result = await migrateClickHouse(ch, database);
          counters.up(1);
          return result;
        } catch (error) {
          if (error instanceof DependencyError) counters.up(0);
          throw error;
        }
      },
      {
        retries: Number.POSITIVE_INFINITY,
        initialDelayMs: 250,
        maxDelayMs: durationMs(options.config.sink.retryMax),
        onRetry: (error, attempt, delayMs) => {
          counters.retries();
          options.logger.warn(`sink: applying ClickHouse migrations failed: ${messageOf(error)}; retry ${attempt} in ${delayMs} ms`, { attempt });
        },
        sleep: (ms) => stoppableSleep(ms, options.signal),
      },
    );
  } catch (error) {
    if (error instanceof SinkStopped) return undefined;
    throw error;
  } finally {
    await ch.close().catch(() => undefined);
  }
}

interface Totals {
  records: number;
  rows: Record<OutputTable, number>;
  deadLettered: number;
  batches: number;
  clickhouseRetries: number;
}

interface SessionDeps {
  readonly kafka: KafkaModule;
  readonly options: SinkOptions;
  readonly groupId: string;
  readonly counters: SinkCounters;
  readonly totals: Totals;
  readonly ch: ClickHouse;
  readonly producer: KafkaProducer;
}

/** The sink was asked to stop while its batch was still failing: the batch is given up, uncommitted. */
class SinkStopped extends Error {}

/** One consumer-group membership; returns whether it committed anything. */
async function runSession(deps: SessionDeps): Promise<boolean> {
  const { kafka, options, groupId, counters, totals } = deps;
  const { config, signal, logger } = options;
  const topics = options.topics ?? defaultSinkTopics(config);
  const batchRows = config.sink.batchRows;
  const batchWaitMs = durationMs(config.sink.batchWait);
  const consumer = kafka.createConsumer(config.kafka, {
    groupId,
    topics: [topics.processedOrders, topics.orderSummaries, topics.fraudAlerts],
    groupInstanceId: `sink-${options.instanceId}`,
    fetchMaxWaitMs: Math.min(500, Math.max(10, batchWaitMs)),
    clientSuffix: `sink-${options.instanceId}`,
  });
  const writer = new BatchWriter(deps, consumer, topics);
  let committed = false;
  const writeAndCommit = async (batch: CollectedBatch): Promise<void> => {
    await writer.write(batch.records);
    await options.beforeCommit?.(batch.nextOffsets);
    try {
      await consumer.commit(batch.nextOffsets);
      committed = true;
    } catch (error) {
      // The rows are in ClickHouse; whoever reads these partitions next replays them harmlessly.
      counters.commitFailures();
      logger.warn(`sink: committing offsets failed: ${messageOf(error)}; the batch is written and will be replayed idempotently`);
    }
    totals.batches++;
    counters.batches();
  };
  try {
    while (!signal.aborted) {
      // Sequential on purpose: while a batch is failing nothing more is read, so memory holds one
      // batch. (Overlapping the insert with the next read measured no faster: the worker is CPU-bound.)
      const batch = await collectBatch(consumer, batchRows, batchWaitMs, signal);
      if (batch.records.length === 0) {
        // Only positions past abort markers: nothing to write, but committing them lets the lag reach 0.
        if (batch.nextOffsets.length > 0) await consumer.commit(batch.nextOffsets).catch((error: unknown) => logger.warn(`sink: committing offsets failed: ${messageOf(error)}`));
        continue;
      }
      const perTopic = new Map<string, number>();
      for (const record of batch.records) perTopic.set(record.topic, (perTopic.get(record.topic) ?? 0) + 1);
      for (const [topic, count] of perTopic) counters.recordsIn(count, { topic });
      totals.records += batch.records.length;
      await writeAndCommit(batch);
    }
    return committed;
  } finally {
    await consumer.close().catch(() => undefined);
  }
}

interface CollectedBatch {
  readonly records: readonly ConsumedRecord[];
  readonly nextOffsets: readonly CommitOffset[];
}

/** Polls until `maxRows` records or `waitMs` since the call; may return nothing. */
async function collectBatch(consumer: KafkaConsumer, maxRows: number, waitMs: number, signal: AbortSignal): Promise<CollectedBatch> {
  const records: ConsumedRecord[] = [];
  const next = new Map<string, CommitOffset>();
  const deadline = Date.now() + waitMs;
  while (records.length < maxRows && !signal.aborted) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    const polled = await consumer.poll({ maxRecords: maxRows - records.length, maxWaitMs: remaining });
    for (const record of polled.records) records.push(record);
    for (const offset of polled.nextOffsets) {
      const id = partitionKey(offset.topic, offset.partition);
      const seen = next.get(id);
      if (!seen || seen.offset < offset.offset) next.set(id, offset);
    }
  }
  return { records, nextOffsets: [...next.values()] };
}

interface DeadRecord {
  readonly record: ConsumedRecord;
  readonly reason: string;
  readonly kind: 'invalid' | 'rejected';
}

/** Writes one batch: converts, keeps each key's latest version, inserts per table, dead-letters the rest. */
class BatchWriter {
  private failingSince: number | undefined;
  private readonly deps: SessionDeps;
  private readonly consumer: KafkaConsumer;
  private readonly topics: SinkTopics;
  private readonly deadLetterTopic: string;
  private readonly database: string;
  private readonly retryMaxMs: number;

  constructor(deps: SessionDeps, consumer: KafkaConsumer, topics: SinkTopics) {
    this.deps = deps;
    this.consumer = consumer;
    this.topics = topics;
    const { config } = deps.options;
    this.deadLetterTopic = deps.options.deadLetterTopic ?? streamTopics(config).deadLetter;
    this.database = deps.options.database ?? config.clickhouse.database;
    this.retryMaxMs = durationMs(config.sink.retryMax);
  }

  async write(records: readonly ConsumedRecord[]): Promise<void> {
    const { counters, totals, producer } = this.deps;
    const now = Date.now();
    const byTable = new Map<OutputTable, SinkRow[]>(OUTPUT_TABLE_NAMES.map((t) => [t, []]));
    const sources = new Map<SinkRow, ConsumedRecord>();
    const dead: DeadRecord[] = [];
    for (const record of records) {
      const table = tableOfTopic(this.topics, record.topic);
      if (!table) continue;
      const converted = toSinkRow(table, record, now);
      if (!converted.ok) {
        dead.push({ record, reason: converted.reason, kind: 'invalid' });
        continue;
      }
      byTable.get(table)!.push(converted.row);
      sources.set(converted.row, record);
    }
    for (const [table, rows] of byTable) {
      if (rows.length === 0) continue;
      const latest = latestPerKey(rows);
      const started = performance.now();
      const rejected = await insertBisecting(latest, (part) => this.insert(table, part), rejectionReason);
      counters.insertMs(performance.now() - started, { table });
      for (const r of rejected) dead.push({ record: sources.get(r.row)!, reason: r.reason, kind: 'rejected' });
      const written = latest.length - rejected.length;
      counters.rows(written, { table });
      totals.rows[table] += written;
      if (table === 'processed_orders') {
        const acked = Date.now();
        const refused = new Set(rejected.map((r) => r.row));
        for (const row of latest) if (!row.deleted && row.sourceTsMs !== null && !refused.has(row)) counters.endToEndMs(acked - row.sourceTsMs);
      }
    }
    if (dead.length > 0) {
      await producer.send(dead.map((d) => deadLetter(this.deadLetterTopic, d.record, d.reason, 'sink', now)));
      for (const d of dead) {
        counters.deadLetters(1, { reason: d.kind });
        this.deps.options.logger.warn(`sink: dead-lettered ${d.record.topic}/${d.record.partition}@${d.record.offset}: ${d.reason}`);
      }
      totals.deadLettered += dead.length;
    }
  }

  /** One insert, retried with backoff for as long as ClickHouse is unreachable or failing for reasons other than the data. */
  private async insert(table: OutputTable, rows: readonly SinkRow[]): Promise<void> {
    const { ch, counters, totals, options } = this.deps;
    const sql = insertRowsSql(this.database, versionsTable(table), rows.map((r) => r.line));
    await withRetry(
      async () => {
        try {
          await ch.command(sql);
        } catch (error) {
          const classified = classify(error);
          counters.up(classified instanceof DependencyError ? 0 : 1);
          throw classified;
        }
        counters.up(1);
        if (this.failingSince !== undefined) {
          options.logger.info(`sink: ClickHouse accepted the batch again after ${Math.round((Date.now() - this.failingSince) / 1000)} s; catching up`);
          this.failingSince = undefined;
          this.consumer.resume();
        }
      },
      {
        retries: Number.POSITIVE_INFINITY,
        initialDelayMs: options.initialRetryDelayMs ?? 250,
        maxDelayMs: this.retryMaxMs,
        onRetry: (error, attempt, delayMs) => {
          if (this.failingSince === undefined) {
            this.failingSince = Date.now();
            // Nothing more is read until this batch is in: memory stays bounded by one batch.
            this.consumer.pause();
          }
          counters.retries();
          totals.clickhouseRetries++;
          options.logger.warn(`sink: writing ${rows.length} ${table} rows failed: ${messageOf(error)}; retry ${attempt} in ${delayMs} ms`, { table, attempt });
        },
        sleep: (ms) => stoppableSleep(ms, options.signal),
      },
    );
  }
}

/** ClickHouse answered, but refused the statement for reasons other than its data (missing table, too many parts, memory). */
class ClickHouseFailingError extends StreamMigrateError {
  readonly code = 'CLICKHOUSE_FAILING';
  readonly exitCode = 3 as const;
  readonly retriable = true;
}

/** ClickHouse refused the rows themselves: retrying the same rows cannot help. */
class RowsRejectedError extends StreamMigrateError {
  readonly code = 'CLICKHOUSE_REJECTED_ROWS';
  readonly exitCode = 1 as const;
  readonly retriable = false;
}

/**
 * Error codes that blame the inserted data (both 18.16 and current): unparsable text, dates or
 * numbers, type mismatch, out-of-range or over-precise decimals, malformed JSON rows.
 */
const DATA_ERROR_CODES = new Set([6, 25, 26, 27, 32, 38, 41, 53, 69, 70, 72, 117, 131, 321, 407]);

function classify(error: unknown): Error {
  if (error instanceof DependencyError) return error;
  const message = messageOf(error);
  const code = Number(/\(code (\d+)\)/.exec(message)?.[1] ?? /Code: (\d+)/.exec(message)?.[1]);
  if (DATA_ERROR_CODES.has(code)) return new RowsRejectedError(message, { cause: error });
  return new ClickHouseFailingError(message, { cause: error });
}

function rejectionReason(error: unknown): string | undefined {
  if (!(error instanceof RowsRejectedError)) return undefined;
  // 18.16 appends ", e.what() = DB::Exception"; the useful part is before it.
  return `ClickHouse rejected the row: ${error.message.replace(/, e\.what\(\) = .*$/, '').slice(0, 500)}`;
}

function stoppableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new SinkStopped('stopped while ClickHouse was failing'));
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new SinkStopped('stopped while ClickHouse was failing'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return stoppableSleep(ms, signal).catch(() => undefined);
}

interface SinkCounters {
  recordsIn(by?: number, labels?: Labels): void;
  rows(by?: number, labels?: Labels): void;
  batches(by?: number): void;
  insertMs(value: number, labels?: Labels): void;
  endToEndMs(value: number): void;
  deadLetters(by?: number, labels?: Labels): void;
  lag(value: number, labels?: Labels): void;
  up(value: number): void;
  retries(by?: number): void;
  commitFailures(by?: number): void;
}

function sinkMetrics(metrics: Metrics): SinkCounters {
  return {
    recordsIn: metrics.counter('stream_migrate_sink_records_in_total', 'Records consumed from the output topics, by topic'),
    rows: metrics.counter('stream_migrate_sink_rows_written_total', 'Rows ClickHouse acknowledged (latest version per key per batch), by table'),
    batches: metrics.counter('stream_migrate_sink_batches_total', 'Batches written and committed'),
    insertMs: metrics.histogram('stream_migrate_sink_insert_ms', 'Time to get one table of a batch into ClickHouse, retries included, ms', [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 10000, 60000]),
    endToEndMs: metrics.histogram('stream_migrate_sink_end_to_end_ms', 'Source commit to ClickHouse acknowledgement of a processed order, ms', [100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000]),
    deadLetters: metrics.counter('stream_migrate_sink_dead_letters_total', 'Records sent to the dead-letter topic, by reason (invalid: could not be a row; rejected: refused by ClickHouse)'),
    lag: metrics.gauge('stream_migrate_sink_consumer_lag', 'Records behind the end of each output topic'),
    up: metrics.gauge('stream_migrate_sink_clickhouse_up', '1 when the last ClickHouse request got an answer, 0 when ClickHouse was unreachable'),
    retries: metrics.counter('stream_migrate_sink_clickhouse_retries_total', 'Retries of a batch insert that failed for reasons other than its data'),
    commitFailures: metrics.counter('stream_migrate_sink_commit_failures_total', 'Offset commits that failed after a written batch (it will be replayed)'),
  };
}

