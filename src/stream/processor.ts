import { partitionKey } from '../clients/kafka/records.ts';
import type {
  CommitOffset,
  ConsumedRecord,
  KafkaAdmin,
  KafkaConsumer,
  KafkaSettings,
  PartitionReader,
  TransactionalProducer,
} from '../clients/kafka.ts';
import { reportLagByTopic } from '../clients/consumer-lag.ts';
import type { Config } from '../config/schema.ts';
import { durationMs } from '../core/duration.ts';
import { CheckFailedError, DependencyError, messageOf } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import { sleep } from '../core/time.ts';
import { isFanIn } from '../domain/patterns.ts';
import { compileRules, type CompiledRules } from '../domain/rules.ts';
import { decodeOrder } from './cdc-decode.ts';
import { deadLetter } from './dead-letter.ts';
import { FanInState } from './fan-in-state.ts';
import { OutputBuffer } from './output-buffer.ts';
import { OrderState, type Emission } from './order-state.ts';
import { NumberHash } from './pair-hash.ts';
import { decodeContribution, decodeProcessed, decodeProcessedKey, decodeRouted, encodeEmission, encodeRouted, type RoutedChange } from './records.ts';
import { InMemoryTables } from './reference-tables.ts';
import { TableFeed } from './table-feed.ts';
import { checkStreamTopology, partitionForCustomer, partitionForProduct, streamTopics, type StreamTopics } from './topics.ts';

type KafkaModule = typeof import('../clients/kafka.ts');

export interface ProcessorOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Stable per worker: the static group member id and the transactional id derive from it. */
  readonly instanceId: string;
  /** Aborted on SIGTERM/SIGINT: the worker finishes its transaction and leaves the group. */
  readonly signal: AbortSignal;
}

export interface ProcessorSummary {
  readonly recordsIn: number;
  readonly recordsOut: number;
  readonly deadLettered: number;
  readonly transactions: number;
}

interface PendingRecord {
  readonly record: ConsumedRecord;
  readonly change: RoutedChange;
  readonly since: number;
}

/**
 * The stream worker: consume the CDC topics, transform with the shared domain rules, produce the
 * outputs and commit the input offsets in one Kafka transaction.
 *
 * Three stages, co-partitioned by task number p (the consumer group assigns partition p of every
 * input topic to the same worker):
 *  1. orders (keyed by order) are routed by customer into the repartition topic; the order →
 *     customer map is stage 1's state, logged to a compacted changelog.
 *  2. the repartition topic is joined with the customer and product tables (read in full by every
 *     worker) and aggregated into windows. Stage 2's state is restored from its own compacted
 *     output topic processed-orders (partition p holds exactly task p's orders, like Kafka
 *     Streams' source-topic changelogs), and windows are rebuilt from those orders. In the same
 *     transaction it writes each NEW-tier order's part in fan-in to orders-by-product, keyed and
 *     partitioned by product.
 *  3. orders-by-product is aggregated per (fan-in pattern, product, window) into fan-in alerts.
 *     Its state is restored from that compacted topic itself, read up to the group's committed
 *     offset (the records after it are consumed again, and their alerts were never emitted).
 * Any error or rebalance ends the session: the transaction is aborted and state is rebuilt from
 * committed topics, so in-memory state never runs ahead of what Kafka has committed.
 */
export async function runProcessor(options: ProcessorOptions): Promise<ProcessorSummary> {
  const kafka: KafkaModule = await import('../clients/kafka.ts');
  const { config, logger, metrics } = options;
  const topics = streamTopics(config);
  const rules = compileRules(config.rules);
  const settings = config.kafka;
  const admin = kafka.createKafkaAdmin(settings, `processor-${options.instanceId}-admin`, { retries: 3 });
  const counters = processorMetrics(metrics);
  const totals = { recordsIn: 0, recordsOut: 0, deadLettered: 0, transactions: 0 };
  let producer: TransactionalProducer | undefined;
  try {
    const partitions = await checkStreamTopology(admin, topics);
    const newProducer = async (): Promise<TransactionalProducer> => {
      const created = kafka.createTransactionalProducer(settings, {
        transactionalId: `${config.processor.groupId}.${options.instanceId}`,
        transactionTimeoutMs: durationMs(config.processor.transactionTimeout),
        clientSuffix: `processor-${options.instanceId}`,
      });
      // Fences an earlier incarnation of this worker and aborts the transaction it left open.
      await created.init();
      return created;
    };
    producer = await newProducer();
    const lag = setInterval(() => void reportLagByTopic(admin, config.processor.groupId, counters.lag), 5_000);
    // One group member for the worker's life: a session that ends on a rebalance keeps it and
    // rewinds to the committed offsets, because a member that left and rejoined would start
    // another rebalance in every other worker (a storm with two workers or more).
    let consumer: KafkaConsumer | undefined;
    const newConsumer = (): KafkaConsumer =>
      kafka.createConsumer(settings, {
        groupId: config.processor.groupId,
        topics: [topics.orders, ...topics.sourceOrders, topics.ordersByCustomer, topics.ordersByProduct],
        groupInstanceId: options.instanceId,
        copartitioned: true,
        sessionTimeoutMs: 10_000,
        heartbeatIntervalMs: 1_000,
        fetchMaxWaitMs: 50,
        bufferedRecords: 2 * config.processor.maxPollRecords,
        clientSuffix: `processor-${options.instanceId}`,
      });
    try {
      let failures = 0;
      while (!options.signal.aborted) {
        try {
          consumer ??= newConsumer();
          await consumer.rewind();
          const progressed = await runSession({ kafka, settings, config, topics, rules, partitions, producer, admin, consumer, options, counters, totals });
          failures = progressed ? 0 : failures + 1;
        } catch (error) {
          if (overtakenByRebalance(error)) {
            // The group moved on while a batch was in flight: its offsets were refused for the older
            // generation and its transaction aborted. The member is sound, and closing it would leave
            // the group and start another rebalance, which fails the other workers' transactions the
            // same way (measured: two workers passing that storm back and forth until one gave up).
            // So the next session keeps it and rewinds; only the producer is renewed (below).
            logger.info(`processor session ended by a rebalance (${messageOf(error)}); rewinding to the committed offsets`);
          } else {
            // After any other error the member itself is suspect: the next session starts with a new one.
            await consumer?.close().catch(() => undefined);
            consumer = undefined;
          }
          if (isFenced(error)) throw new CheckFailedError(`another worker took over instance ${options.instanceId} (producer fenced); give each worker its own --instance`);
          if (!overtakenByRebalance(error)) {
            failures++;
            logger.warn(`processor session ended: ${messageOf(error)}; rebuilding state from Kafka`, { attempt: failures });
            if (failures >= 5) throw error;
            await sleep(Math.min(5_000, 250 * 2 ** failures), options.signal);
          }
          // So is the producer: after a failed send its sequence numbers are out of step
          // (OUT_OF_ORDER_SEQUENCE_NUMBER on every later one); a new one re-registers the id.
          await producer.close().catch(() => undefined);
          producer = await newProducer();
        }
      }
    } finally {
      clearInterval(lag);
      await consumer?.close().catch(() => undefined);
    }
    return totals;
  } finally {
    await producer?.close().catch(() => undefined);
    await admin.close().catch(() => undefined);
  }
}

/** How long a poll that has records waits for more: a few ms gathers a fetch's worth without holding the first record back. */
const POLL_LINGER_MS = 5;

/**
 * A batch is processed in slices of this many records with the event loop let in between, so the
 * previous batch's transaction (produce, offsets, commit: each a broker round trip) and the next
 * fetches move on while this one is worked through, instead of all waiting for its end.
 */
const YIELD_EVERY_RECORDS = 256;
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

interface SessionDeps {
  readonly kafka: KafkaModule;
  readonly settings: KafkaSettings;
  readonly config: Config;
  readonly topics: StreamTopics;
  readonly rules: CompiledRules;
  readonly partitions: number;
  readonly producer: TransactionalProducer;
  readonly admin: KafkaAdmin;
  readonly consumer: KafkaConsumer;
  readonly options: ProcessorOptions;
  readonly counters: ProcessorCounters;
  readonly totals: { recordsIn: number; recordsOut: number; deadLettered: number; transactions: number };
}

/**
 * One generation of the group: wait for the assignment, restore the state of the assigned tasks
 * from committed topics, then process until the assignment changes or the worker is asked to
 * stop. Returns whether it committed anything.
 */
async function runSession(deps: SessionDeps): Promise<boolean> {
  const { kafka, settings, config, topics, rules, partitions, producer, consumer, options, counters, totals } = deps;
  const { logger } = options;
  const tableReaders = [
    kafka.createPartitionReader(settings, { topic: topics.customers, clientSuffix: `processor-${options.instanceId}-customers` }),
    kafka.createPartitionReader(settings, { topic: topics.products, clientSuffix: `processor-${options.instanceId}-products` }),
  ] as const;
  let committedSomething = false;
  try {
    const maxWaitMs = durationMs(config.processor.commitInterval);
    const maxRecords = config.processor.maxPollRecords;
    // Join first and restore while the first batch is fetched; its records are read once state is restored.
    await consumer.join();
    if (options.signal.aborted) return false;
    const generation = consumer.generation();
    const owned = new Set(consumer.assignment().find((a) => a.topic === topics.orders)?.partitions ?? []);
    const started = Date.now();

    const tables = new InMemoryTables();
    const committed = await committedOffsets(deps.admin, config.processor.groupId, [topics.customers, topics.products, topics.ordersByProduct], owned);
    const tableFeed = new TableFeed(topics, tables, owned, committed);
    // Invalid table records this task has not dead-lettered yet: written with the first transaction.
    const tableDeadLetters: { record: ConsumedRecord; reason: string }[] = [];
    const tableCommits = new Map<string, CommitOffset>();
    const state = new OrderState(rules, tables);
    const fanIn = new FanInState(rules.patterns.filter(isFanIn));
    // The restores read different topics with clients of their own, so their fetches overlap;
    // only stage 2 needs the tables (a restored row's tier change time may come from them).
    const tablesRestored = restoreTables(tableReaders, tableFeed, counters, (record, change) => {
      if (change.deadLetter) tableDeadLetters.push({ record, reason: change.deadLetter });
      if (change.commit) setOffset(tableCommits, change.commit);
    });
    // Stage 1 and 2 restore from partitions only their task writes: a previous owner's transaction may still be open there.
    const settled = openTransactionsSettled(deps.admin, [topics.changelog, topics.processedOrders], owned, logger, durationMs(config.processor.transactionTimeout));
    // When each restore finished, ms after the session started: says which one a slow restart waited for.
    const doneAt = (promise: Promise<unknown>) => promise.then(() => Date.now() - started);
    const [stage1, settledMs, tablesMs, ordersMs, fanInMs] = await Promise.all([
      settled.then(() => restoreStage1(kafka, settings, topics.changelog, owned, options.instanceId)),
      doneAt(settled),
      doneAt(tablesRestored),
      doneAt(Promise.all([tablesRestored, settled]).then(() => restoreStage2(kafka, settings, topics.processedOrders, owned, options.instanceId, state))),
      doneAt(restoreStage3(kafka, settings, topics.ordersByProduct, owned, options.instanceId, fanIn, committed)),
    ]);
    counters.stateOrders(state.size);
    logger.info(`processor ${options.instanceId}: tasks [${[...owned].sort((a, b) => a - b).join(', ')}] of ${partitions}, restored ${stage1.size} routes, ${state.size} orders and ${fanIn.size} fan-in parts in ${Date.now() - started} ms`, {
      generation,
      customers: tables.counts.customers,
      products: tables.counts.products,
      openTransactionsSettledMs: settledMs,
      tablesMs,
      ordersMs,
      fanInMs,
    });

    let batch = await consumer.poll({ maxRecords, maxWaitMs, lingerMs: POLL_LINGER_MS });
    const pending = new Map<number, PendingRecord[]>();
    let carry: Emission[] = [...state.reconcileAll()];
    const waitMs = durationMs(config.processor.missingReferenceWait);
    // Per repartition partition: the offset after the last record consumed, and the offset last committed.
    const consumedTo = new Map<number, bigint>();
    const committedTo = new Map<number, bigint>();

    // The transaction of the previous batch while this one is processed: its I/O (produce, offsets,
    // markers) overlaps the next batch's CPU work. It is always settled before the next transaction
    // begins and before the session ends; if it failed, the session ends and state is rebuilt from
    // Kafka, so the work done meanwhile is dropped with it.
    let inflight: Promise<void> | undefined;
    const settle = async (): Promise<void> => {
      const pending = inflight;
      inflight = undefined;
      await pending;
    };
    try {
      while (!options.signal.aborted) {
        if ((batch.group && batch.group.generationId !== generation) || consumer.generation() !== generation) {
          await settle();
          return committedSomething;
        }
        const out = new OutputBuffer();
        const offsets = new Map<string, CommitOffset>(tableCommits);
        tableCommits.clear();
        const now = Date.now();
        const nowIso = new Date(now).toISOString();
        const seen = new Map<string, number>();
        const emit = (emissions: readonly Emission[]) => {
          for (const e of emissions) {
            const encoded = encodeEmission(e, nowIso, rules.windowMinutes);
            if (e.kind === 'contribution') {
              out.latestByKey({ topic: topics.ordersByProduct, partition: partitionForProduct(e.productId, partitions), key: encoded.key, value: encoded.value });
              continue;
            }
            const topic = e.kind === 'processed' ? topics.processedOrders : e.kind === 'summary' ? topics.orderSummaries : topics.fraudAlerts;
            out.latestByKey({ topic, partition: partitionForCustomer(e.customerId, partitions), key: encoded.key, value: encoded.value });
            if (e.kind === 'processed' && e.row && e.sourceTsMs !== null) counters.latency(now - e.sourceTsMs);
          }
        };
        emit(carry);
        carry = [];
        // Every dead letter goes out with this transaction, counted by stage (the metric's reason).
        const toDeadLetters: DeadLetterSink = (record, reason, stage, metric) => {
          out.append(deadLetter(topics.deadLetter, record, reason, stage, now));
          counters.deadLetters(1, { reason: metric });
          totals.deadLettered++;
        };
        for (const { record, reason } of tableDeadLetters.splice(0)) toDeadLetters(record, reason, 'reference', 'invalid-reference');

        for (const reader of tableReaders) {
          for (const record of await reader.poll({ maxWaitMs: 0 })) {
            seen.set(record.topic, (seen.get(record.topic) ?? 0) + 1);
            const change = tableFeed.apply(record);
            if (change.deadLetter) toDeadLetters(record, change.deadLetter, 'reference', 'invalid-reference');
            if (change.commit) setOffset(offsets, change.commit);
            if (change.customer !== undefined) emit(state.customerChanged(change.customer));
            if (change.product !== undefined) emit(state.productChanged(change.product));
          }
        }

        const applyRouted = (record: ConsumedRecord, change: RoutedChange, since: number): boolean => {
          if (change.op === 'delete') {
            if (change.customerId !== null) emit(state.delete(change.id, change.customerId, change.ts));
            else emit(state.deleteWhere(change.id, (customerId) => partitionForCustomer(customerId, partitions) === record.partition));
            return true;
          }
          const result = state.upsert(change.order, change.ts);
          if ('emissions' in result) {
            emit(result.emissions);
            return true;
          }
          if (Date.now() - since < waitMs) return false;
          toDeadLetters(record, `${result.blocked} within ${config.processor.missingReferenceWait}`, 'join', 'missing-reference');
          return true;
        };

        // Orders that waited for a customer or product go first, in their partition's order.
        for (const [partition, queue] of pending) {
          while (queue.length > 0 && applyRouted(queue[0]!.record, queue[0]!.change, queue[0]!.since)) queue.shift();
          if (queue.length === 0) pending.delete(partition);
        }

        let sinceYield = 0;
        for (const record of batch.records) {
          if (++sinceYield === YIELD_EVERY_RECORDS) {
            sinceYield = 0;
            await yieldToEventLoop();
          }
          seen.set(record.topic, (seen.get(record.topic) ?? 0) + 1);
          totals.recordsIn++;
          if (!owned.has(record.partition)) continue;
          if (record.topic === topics.ordersByProduct) {
            // Stage 3: a NEW-tier order's part in fan-in.
            const part = decodeContribution(record.key, record.value);
            if (part) emit(fanIn.apply(part.key, part.finalCents));
            else toDeadLetters(record, 'undecodable fan-in contribution record', 'join', 'undecodable');
          } else if (record.topic !== topics.ordersByCustomer) {
            // The CDC orders topic and the order sources' topics are all stage 1's input.
            routeOrder(record, { topics, partitions, stage1, out, toDeadLetters });
          } else {
            const change = record.value ? safeDecodeRouted(record.value) : undefined;
            if (!change) {
              toDeadLetters(record, 'undecodable repartition record', 'join', 'undecodable');
            } else {
              const queue = pending.get(record.partition);
              if (queue) {
                queue.push({ record, change, since: now });
              } else if (!applyRouted(record, change, now)) {
                pending.set(record.partition, [{ record, change, since: now }]);
              }
            }
          }
        }
        // Where each owned partition now stands: after its last record, or past the abort markers
        // and aborted transactions fetched after it (so an idle partition's lag reaches 0).
        for (const next of batch.nextOffsets) {
          if (!owned.has(next.partition)) continue;
          if (next.topic === topics.ordersByCustomer) consumedTo.set(next.partition, next.offset);
          else setOffset(offsets, next);
        }
        // A repartition partition commits up to its first waiting order, or all it consumed once its
        // queue has drained (also when the drain happened without new records, so a restart does not
        // dead-letter the drained orders again).
        for (const [partition, end] of consumedTo) {
          const offset = pending.get(partition)?.[0]?.record.offset ?? end;
          if (committedTo.get(partition) !== offset) setOffset(offsets, { topic: topics.ordersByCustomer, partition, offset });
        }
        counters.pending([...pending.values()].reduce((n, q) => n + q.length, 0));
        for (const [topic, n] of seen) counters.recordsIn(n, { topic });

        if (out.size > 0 || offsets.size > 0) {
          const records = out.drain();
          const group = batch.group;
          // Outputs without their offsets would be produced again after a restart: never commit one without the other.
          if (offsets.size > 0 && !group) throw new Error('no group membership to commit offsets with; rejoining');
          await settle();
          const started = Date.now();
          inflight = producer
            .runTransaction(async (tx) => {
              if (records.length > 0) await tx.send(records);
              if (offsets.size > 0 && group) await tx.sendOffsets(group, [...offsets.values()]);
            })
            .then(() => {
              counters.commitLatency(Date.now() - started);
              counters.transactions(1);
              totals.transactions++;
              totals.recordsOut += records.length;
              const written = new Map<string, number>();
              for (const r of records) written.set(r.topic, (written.get(r.topic) ?? 0) + 1);
              for (const [topic, n] of written) counters.recordsOut(n, { topic });
              counters.stateOrders(state.size);
              committedSomething = true;
              for (const o of offsets.values()) if (o.topic === topics.ordersByCustomer) committedTo.set(o.partition, o.offset);
            });
          // Marked handled now; settle() still rethrows its failure.
          inflight.catch(() => undefined);
        }
        if (options.signal.aborted) break;
        // Whatever has arrived goes into the next transaction at once (latency); under a backlog the
        // buffer holds maxRecords anyway, so batches stay large (throughput).
        batch = await consumer.poll({ maxRecords, maxWaitMs, lingerMs: POLL_LINGER_MS });
      }
      await settle();
      return committedSomething;
    } finally {
      // Left by an exception thrown while it was in flight: its outcome no longer matters, only that nothing overlaps the next session.
      await inflight?.catch(() => undefined);
    }
  } finally {
    for (const reader of tableReaders) await reader.close().catch(() => undefined);
  }
}

/** Sends a record to the dead-letter topic in the current transaction: why, at which stage, under which metric reason. */
type DeadLetterSink = (record: ConsumedRecord, reason: string, stage: 'decode' | 'join' | 'reference', metric: string) => void;

/** Offsets to commit, one per partition: `topic\0partition` → the next offset. */
function setOffset(offsets: Map<string, CommitOffset>, offset: CommitOffset): void {
  offsets.set(partitionKey(offset.topic, offset.partition), offset);
}

interface RouteDeps {
  readonly topics: StreamTopics;
  readonly partitions: number;
  readonly stage1: NumberHash;
  readonly out: OutputBuffer;
  readonly toDeadLetters: DeadLetterSink;
}

/** Stage 1: route an order change to its customer's task; a move also retracts from the old one. */
function routeOrder(record: ConsumedRecord, deps: RouteDeps): void {
  const { topics, partitions, stage1, out } = deps;
  const decoded = decodeOrder(record.key, record.value);
  if (!decoded.ok) {
    deps.toDeadLetters(record, decoded.reason, 'decode', 'decode');
    return;
  }
  const change = decoded.value;
  const id = change.kind === 'upsert' ? change.row.id : change.id;
  const previous = stage1.get(id);
  const route = (customerId: number, routed: RoutedChange) =>
    out.append({ topic: topics.ordersByCustomer, partition: partitionForCustomer(customerId, partitions), key: String(id), value: encodeRouted(routed) });
  const log = (value: string | null) => out.latestByKey({ topic: topics.changelog, partition: record.partition, key: String(id), value });
  if (change.kind === 'delete') {
    if (previous === undefined) return;
    route(previous, { op: 'delete', id, customerId: previous, ts: change.sourceTsMs });
    stage1.delete(id);
    log(null);
    return;
  }
  const customerId = change.row.customerId;
  // A move: the old customer's partition retracts exactly the (order, old customer) row.
  if (previous !== undefined && previous !== customerId) route(previous, { op: 'delete', id, customerId: previous, ts: change.sourceTsMs });
  route(customerId, { op: 'upsert', order: change.row, ts: change.sourceTsMs });
  if (previous !== customerId) {
    stage1.set(id, customerId);
    log(String(customerId));
  }
}

function safeDecodeRouted(value: Buffer): RoutedChange | undefined {
  try {
    return decodeRouted(value);
  } catch {
    return undefined;
  }
}

/** Reads the customer and product tables to their end, passing each record's effect to `onChange`. */
async function restoreTables(readers: readonly PartitionReader[], feed: TableFeed, counters: ProcessorCounters, onChange: (record: ConsumedRecord, change: ReturnType<TableFeed['apply']>) => void): Promise<void> {
  for (const reader of readers) {
    await reader.readToEnd((records) => {
      for (const record of records) {
        counters.recordsIn(1, { topic: record.topic });
        onChange(record, feed.apply(record));
      }
    });
  }
}

/**
 * The group's committed offsets of some topics' owned partitions, `topic\0partition` → the next
 * offset to read, read stable: a previous owner's transaction still committing them is waited for,
 * or this session would take the older offsets while its consumer starts from the newer ones.
 */
function committedOffsets(admin: Pick<KafkaAdmin, 'stableCommittedOffsets'>, groupId: string, topics: readonly string[], owned: ReadonlySet<number>): Promise<Map<string, bigint>> {
  return admin.stableCommittedOffsets(groupId, topics, [...owned], 60_000);
}

/**
 * Waits until no transaction is open in the owned partitions of the given topics (last stable
 * offset = log end), for at most the producers' transaction timeout. The stable offset fetch
 * of the join only proves the previous owner's offsets are committed; on a cluster its markers
 * reach the output partitions separately, and a restore that read to a last stable offset taken
 * before them would miss that transaction's outputs while the input resumes after it.
 */
async function openTransactionsSettled(admin: Pick<KafkaAdmin, 'endOffsets' | 'lastStableOffsets'>, topics: readonly string[], owned: ReadonlySet<number>, logger: Logger, maxWaitMs: number): Promise<void> {
  const deadline = Date.now() + maxWaitMs;
  for (const topic of topics) {
    for (let delay = 20; ; delay = Math.min(delay * 2, 1_000)) {
      const [ends, stable] = await Promise.all([admin.endOffsets(topic), admin.lastStableOffsets(topic)]);
      const stableOf = new Map(stable.map((p) => [p.partition, p.offset]));
      const open = ends.filter((p) => owned.has(p.partition) && (stableOf.get(p.partition) ?? 0n) < p.offset).map((p) => p.partition);
      if (open.length === 0) break;
      if (Date.now() + delay > deadline) {
        logger.warn(`${topic} partitions ${open.join(', ')} still hold an open transaction after ${maxWaitMs} ms; restoring to their last stable offset`);
        break;
      }
      await sleep(delay);
    }
  }
}

async function restoreStage1(kafka: KafkaModule, settings: KafkaSettings, topic: string, owned: ReadonlySet<number>, instanceId: string): Promise<NumberHash> {
  const routes = new NumberHash();
  if (owned.size === 0) return routes;
  const reader = kafka.createPartitionReader(settings, { topic, partitions: [...owned], clientSuffix: `processor-${instanceId}-restore-routes` });
  try {
    await reader.readToEnd((records) => {
      for (const r of records) {
        const id = Number(r.key?.toString('utf8'));
        const customerId = r.value === null ? null : Number(r.value.toString('utf8'));
        // Only this processor writes the changelog: a record that is not (order id, customer id) is not one of ours.
        if (Number.isNaN(id) || Number.isNaN(customerId)) continue;
        if (customerId === null) routes.delete(id);
        else routes.set(id, customerId);
      }
    });
  } finally {
    await reader.close();
  }
  return routes;
}

/**
 * Rebuilds stage 2's orders from the compacted processed-orders partitions of the owned tasks,
 * applying each version as it is read (a tombstone retracts its (order, customer) row), so the
 * last version of each key wins as compaction would decide, and nothing but the state itself is
 * held: collecting the latest version of every key first doubled the heap a restore needed.
 */
async function restoreStage2(kafka: KafkaModule, settings: KafkaSettings, topic: string, owned: ReadonlySet<number>, instanceId: string, state: OrderState): Promise<void> {
  if (owned.size === 0) return;
  const reader = kafka.createPartitionReader(settings, { topic, partitions: [...owned], clientSuffix: `processor-${instanceId}-restore-orders` });
  try {
    await reader.readToEnd((records) => {
      for (const r of records) {
        const restored = r.value ? decodeProcessed(r.value) : undefined;
        if (restored) {
          state.restore(restored.processed, restored.tierChangedAt);
          continue;
        }
        // A tombstone, or a value no version of this code reads: the row is not live.
        const key = r.key ? decodeProcessedKey(r.key) : undefined;
        if (key) state.restoreTombstone(key.orderId, key.customerId);
      }
    });
  } finally {
    await reader.close();
  }
}

/**
 * Rebuilds stage 3's fan-in state from the owned partitions of the compacted orders-by-product
 * topic, up to the group's committed offset of each: the state the committed alerts were computed
 * from. Records after it are consumed again by the session and emit their alerts then (had they
 * been restored, applying them again would change nothing and their alerts would never be
 * written). A partition never committed restores nothing: the session reads it from the start.
 */
async function restoreStage3(
  kafka: KafkaModule,
  settings: KafkaSettings,
  topic: string,
  owned: ReadonlySet<number>,
  instanceId: string,
  state: FanInState,
  committed: ReadonlyMap<string, bigint>,
): Promise<void> {
  const partitions = [...owned].filter((p) => (committed.get(partitionKey(topic, p)) ?? 0n) > 0n);
  if (partitions.length === 0) return;
  const reader = kafka.createPartitionReader(settings, { topic, partitions, clientSuffix: `processor-${instanceId}-restore-fan-in` });
  try {
    await reader.readToEnd((records) => {
      for (const r of records) {
        if (r.offset >= (committed.get(partitionKey(topic, r.partition)) ?? 0n)) continue;
        const part = decodeContribution(r.key, r.value);
        if (part) state.restore(part.key, part.finalCents);
      }
    });
    state.finishRestore();
  } finally {
    await reader.close();
  }
}

interface ProcessorCounters {
  recordsIn(by?: number, labels?: Readonly<Record<string, string>>): void;
  recordsOut(by?: number, labels?: Readonly<Record<string, string>>): void;
  deadLetters(by?: number, labels?: Readonly<Record<string, string>>): void;
  transactions(by?: number): void;
  commitLatency(ms: number): void;
  latency(ms: number): void;
  lag(value: number, labels?: Readonly<Record<string, string>>): void;
  pending(value: number): void;
  stateOrders(value: number): void;
}

function processorMetrics(metrics: Metrics): ProcessorCounters {
  return {
    recordsIn: metrics.counter('stream_migrate_processor_records_in_total', 'Records consumed, by topic'),
    recordsOut: metrics.counter('stream_migrate_processor_records_out_total', 'Records produced in committed transactions, by topic'),
    deadLetters: metrics.counter('stream_migrate_processor_dead_letters_total', 'Records sent to the dead-letter topic, by reason'),
    transactions: metrics.counter('stream_migrate_processor_transactions_total', 'Committed transactions'),
    commitLatency: metrics.histogram('stream_migrate_processor_commit_ms', 'Transaction duration (send + offsets + commit), ms', [5, 10, 25, 50, 100, 250, 500, 1000, 2500]),
    latency: metrics.histogram('stream_migrate_processor_end_to_end_ms', 'Source commit to processed output, ms', [50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000]),
    lag: metrics.gauge('stream_migrate_processor_consumer_lag', 'Records behind the end of each input topic'),
    pending: metrics.gauge('stream_migrate_processor_waiting_orders', 'Orders waiting for their customer or product'),
    stateOrders: metrics.gauge('stream_migrate_processor_state_orders', 'Contributing orders held in state'),
  };
}

/** A transactional offset commit refused because the group rebalanced since the batch was polled (not a fault of this member). */
export function overtakenByRebalance(error: unknown): boolean {
  const details = error instanceof DependencyError ? error.details.protocolErrors : undefined;
  return Array.isArray(details) && details.length > 0 && details.every((id) => id === 'ILLEGAL_GENERATION' || id === 'REBALANCE_IN_PROGRESS');
}

function isFenced(error: unknown): boolean {
  const details = error instanceof DependencyError ? error.details.protocolErrors : undefined;
  return Array.isArray(details) && details.some((id) => id === 'PRODUCER_FENCED' || id === 'INVALID_PRODUCER_EPOCH' || id === 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED');
}

