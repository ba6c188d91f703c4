import type { OutgoingRecord } from '../clients/kafka.ts';
import type { Config } from '../config/schema.ts';
import { CheckFailedError, DependencyError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import { streamTopics } from '../stream/topics.ts';
import { filePositionOf, runFileSource } from './file-source.ts';
import { httpPositionOf, runHttpSource } from './http-source.ts';
import { ensureSourceTopics, sourceOffsetsTopic, sourceSpec, type SourceSpec } from './source-topics.ts';

export interface SourceRunOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly name: string;
  readonly signal: AbortSignal;
}

export interface SourceSummary {
  readonly source: string;
  readonly channel: string;
  readonly records: number;
  readonly deadLettered: number;
  readonly transactions: number;
}

/** What a source loop is given: where it stopped, and one way to move on. */
export interface SourceContext<P> {
  readonly spec: SourceSpec;
  readonly deadLetterTopic: string;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  /** The position committed last, or undefined on a first run. */
  readonly position: P | undefined;
  /**
   * Writes the records (order changes and dead letters) and the new position in one Kafka
   * transaction: after a crash the source resumes exactly after the last commit.
   */
  commit(records: readonly OutgoingRecord[], position: P): Promise<void>;
}

/**
 * One source worker (`sources run --name N`): a transactional producer whose id is the source's,
 * so a new incarnation fences the old one and aborts what it left open; its position is a record
 * in the compacted offsets topic keyed by source, written in the same transaction as the records
 * (Kafka Connect's offset-topic pattern, made atomic), and read back read_committed at start.
 */
export async function runSource(options: SourceRunOptions): Promise<SourceSummary> {
  const kafka = await import('../clients/kafka.ts');
  const { config, logger } = options;
  const spec = sourceSpec(config, options.name);
  const topics = streamTopics(config);
  const offsetsTopic = sourceOffsetsTopic(config);
  const totals = { records: 0, deadLettered: 0, transactions: 0 };
  const recordsOut = options.metrics.counter('stream_migrate_source_records_total', 'Order changes written to the source topic, by source');
  const deadOut = options.metrics.counter('stream_migrate_source_dead_letters_total', 'Malformed lines or API records sent to the dead-letter topic, by source');
  let producer: import('../clients/kafka.ts').TransactionalProducer | undefined;
  try {
    // The admin is needed only here: a worker runs for days and holds no idle admin connection.
    const admin = kafka.createKafkaAdmin(config.kafka, `source-${spec.name}-admin`, { retries: 3 });
    const created = await ensureSourceTopics(admin, config, topics.orders, [spec]).finally(() => admin.close().catch(() => undefined));
    if (created.length > 0) logger.info(`created topics ${created.join(', ')}`);
    producer = kafka.createTransactionalProducer(config.kafka, { transactionalId: `${config.processor.topicPrefix}stream-migrate.sources.${spec.name}`, clientSuffix: `source-${spec.name}` });
    // Fences an earlier incarnation and aborts its open transaction before the position is read.
    await producer.init();
    const position = await readPosition(kafka, config, offsetsTopic, spec.name);
    const tx = producer;
    const commit = async (records: readonly OutgoingRecord[], next: unknown) => {
      await tx.runTransaction(async (scope) => {
        await scope.send([...records, { topic: offsetsTopic, partition: 0, key: spec.name, value: JSON.stringify(next) }]);
      });
      const dead = records.filter((r) => r.topic === topics.deadLetter).length;
      totals.records += records.length - dead;
      totals.deadLettered += dead;
      totals.transactions++;
      recordsOut(records.length - dead, { source: spec.name });
      if (dead > 0) deadOut(dead, { source: spec.name });
    };
    const base = { deadLetterTopic: topics.deadLetter, logger, signal: options.signal };
    logger.info(`source ${spec.name} (${spec.kind}, channel ${spec.channel}) → ${spec.topic}; ${position === undefined ? 'first run' : `resuming at ${JSON.stringify(position)}`}`);
    if (spec.kind === 'files') {
      await runFileSource({ ...base, spec, position: filePositionOf(position), commit }, spec.config);
    } else {
      await runHttpSource({ ...base, spec, position: httpPositionOf(position), commit }, spec.config);
    }
    return { source: spec.name, channel: spec.channel, ...totals };
  } catch (error) {
    if (isFenced(error)) throw new CheckFailedError(`another worker runs source ${spec.name} (producer fenced); run one worker per source`);
    throw error;
  } finally {
    await producer?.close().catch(() => undefined);
  }
}

/** The source's last committed position (its latest record in the offsets topic). */
async function readPosition(kafka: typeof import('../clients/kafka.ts'), config: Config, topic: string, name: string): Promise<unknown> {
  const reader = kafka.createPartitionReader(config.kafka, { topic, clientSuffix: `source-${name}-offsets` });
  let latest: unknown;
  try {
    await reader.readToEnd((records) => {
      for (const r of records) if (r.key?.toString('utf8') === name) latest = r.value === null ? undefined : (JSON.parse(r.value.toString('utf8')) as unknown);
    });
  } finally {
    await reader.close();
  }
  return latest;
}

function isFenced(error: unknown): boolean {
  const details = error instanceof DependencyError ? error.details.protocolErrors : undefined;
  return Array.isArray(details) && details.some((id) => id === 'PRODUCER_FENCED' || id === 'INVALID_PRODUCER_EPOCH');
}
