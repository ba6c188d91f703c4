/**
 * Everything that works around @platformatic/kafka, in one place, for the one version it was
 * verified against (docs/decisions/kafka-client.md, "2.x upgrade"). Loading this module checks
 * the installed version and refuses any other, so a bump cannot silently keep patches that
 * reach into behaviour the new version may have changed: re-run test/integration/kafka.test.ts
 * and kafka-reader.test.ts, then move PATCHED_VERSION. (One shim lives apart, as it must run before
 * the library loads: lazy-option-schemas.ts, which defers ajv's schema compiles; it relies on ajv, not
 * on the library's internals.)
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { crc32c, defaultPartitioner, kGetApi, kGetConnection, kMetadata, kPerformWithRetry, produceV11, Writer, type Admin, type ClusterMetadata, type CallbackWithPromise, type Connection, type Consumer, type FetchOptions, type fetchV17, type ListCommitsOptions, type Offsets, type Producer } from '@platformatic/kafka';
import { UsageError } from '../../core/errors.ts';
import { sleep } from '../../core/time.ts';
import { dropAbortedBatches, fetchPosition, type FetchPosition } from './aborted-batches.ts';
import { hasProtocolError } from './errors.ts';
import { encodeProduceRequest, PartitionSequences, type EncodableMessage, type ProduceRequestOptions } from './produce-request.ts';
import { partitionKey, type CommitOffset, type ConsumerGroupMetadata, type ProducedMessage } from './records.ts';

/** The library version every patch below was checked against (package.json pins it exactly). */
export const PATCHED_VERSION = '2.12.1';

/** The installed library's version, read from its package.json (its exports map hides the file). */
export function installedLibraryVersion(): string {
  const entry = createRequire(import.meta.url).resolve('@platformatic/kafka');
  let dir = path.dirname(entry);
  while (!fs.existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  const manifest: unknown = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const version: unknown = typeof manifest === 'object' && manifest !== null ? Reflect.get(manifest, 'version') : undefined;
  return typeof version === 'string' ? version : 'unknown';
}

/** Throws unless `installed` is the version the patches were verified against. */
export function assertLibraryVersion(installed: string): void {
  if (installed === PATCHED_VERSION) return;
  throw new UsageError(
    `@platformatic/kafka ${installed} is installed, but the Kafka adapter's workarounds were verified against ${PATCHED_VERSION}; ` +
      'run `npm ci` (package.json pins it), or re-verify src/clients/kafka/library-patches.ts against the new version and update PATCHED_VERSION',
  );
}

assertLibraryVersion(installedLibraryVersion());

type FetchResponse = fetchV17.FetchResponse;
/** The library's transaction class is not exported; its type is what `beginTransaction` returns. */
export type Transaction = Awaited<ReturnType<AdapterProducer['beginTransaction']>>;
/** The adapter's producers: keys and values as bytes or strings (see `ProducedMessage`), headers as bytes. */
export type AdapterProducer = Producer<Buffer | string | null, Buffer | string | null, Buffer, Buffer>;
type FetchCallback = CallbackWithPromise<FetchResponse>;
type FetchedPartition = FetchResponse['responses'][number]['partitions'][number];
/** The Fetch API function the library gets from `kGetApi`, as far as the patch below handles it. */
type FetchArguments = unknown[];
type FetchApiWithCallback = (connection: unknown, ...args: unknown[]) => void;
type FetchApi = FetchApiWithCallback & { readonly key: number; readonly version: number; readonly async: unknown };

/** Each fetched partition's aborted-transaction list, taken off it before the library's filter could read it (see `keepReadCommittedFilterOurs`). */
const hiddenAborted = new WeakMap<object, FetchedPartition['abortedTransactions']>();

/** Applies `dropAbortedBatches` to every partition of a fetch response, in place. */
export function filterFetchResponse(response: FetchResponse): void {
  for (const topic of response.responses) {
    for (const partition of topic.partitions) {
      const aborted = hiddenAborted.has(partition) ? hiddenAborted.get(partition) : partition.abortedTransactions;
      partition.abortedTransactions = aborted ?? null;
      if (partition.records) partition.records = dropAbortedBatches(partition.records, aborted);
    }
  }
}

/**
 * Defect 9 (still in 2.12.1): the library's own read_committed filter DROPS COMMITTED RECORDS. It
 * keeps one aborted range per producer id, starting at that producer's last listed aborted
 * transaction and ending at the producer's LAST abort marker in the response, so when a later
 * abort marker of the same producer carries no listed transaction (a transaction aborted before
 * its data reached this partition: a worker SIGKILLed between AddPartitionsToTxn and Produce),
 * every committed batch of that producer in between is dropped, and the consumer's position
 * moves past them. Found by bench/restart.ts losing 10-30% of stage 2's input after SIGKILLs.
 * The library runs that filter on every read_committed Fetch response, before `fetch` returns;
 * this hands it responses without their aborted list (so it removes nothing), and
 * `filterFetchResponse` puts the list back and applies the Java client's rule instead. Every
 * read_committed consumer of this adapter (group consumer and partition reader) installs it.
 */
export function keepReadCommittedFilterOurs(consumer: Consumer): void {
  const getApi = consumer[kGetApi].bind(consumer) as (name: string, callback: (error: Error | null, api?: FetchApi) => void) => void;
  const patched = (name: string, callback: (error: Error | null, api?: FetchApi) => void): void => {
    if (name !== 'Fetch') return getApi(name, callback);
    getApi(name, (error, api) => {
      if (error || !api) return callback(error, api);
      const hiding: FetchApiWithCallback = (connection, ...args) => {
        const done = args.pop() as (error: Error | null, response?: FetchResponse) => void;
        api(connection, ...(args as FetchArguments), (fetchError: Error | null, response?: FetchResponse) => {
          const received = response ?? (fetchError as { response?: FetchResponse } | null)?.response;
          for (const topic of received?.responses ?? []) {
            for (const partition of topic.partitions) {
              hiddenAborted.set(partition, partition.abortedTransactions);
              partition.abortedTransactions = null;
            }
          }
          done(fetchError, response);
        });
      };
      callback(null, Object.assign(hiding, { key: api.key, version: api.version, async: api.async }) as unknown as FetchApi);
    });
  };
  // An own property shadows the prototype method for this instance only.
  Object.defineProperty(consumer, kGetApi, { value: patched, writable: true, configurable: true });
}

/**
 * Defect 1 (still in 2.12.1): read_committed delivers aborted records. The library keeps one
 * aborted range per producer id per fetch response (a Map overwritten per aborted transaction),
 * so when one producer aborted more than once in the range (every restarted worker does), all
 * but the last aborted transaction are delivered; a range whose abort marker lies past the
 * response is not filtered at all. This routes the consumer's fetches (its stream calls the
 * public `fetch`) through the Java client's filter, instead of the library's own (defect 9 above).
 *
 * `observe`, when given, is called as each fetch is sent and returns what receives the positions
 * its response shows (so a caller can tell responses of requests made before some event).
 */
export function filterAbortedTransactions(consumer: Consumer, observe?: () => (positions: readonly TopicFetchPosition[]) => void): void {
  keepReadCommittedFilterOurs(consumer);
  const original = consumer.fetch.bind(consumer) as (options: FetchOptions<Buffer, Buffer, Buffer, Buffer>, callback: FetchCallback) => void;
  const patched = (options: FetchOptions<Buffer, Buffer, Buffer, Buffer>, callback?: FetchCallback): void | Promise<FetchResponse> => {
    if (!callback) {
      return new Promise<FetchResponse>((resolve, reject) => {
        patched(options, (error, response) => (error ? reject(error) : resolve(response as FetchResponse)));
      });
    }
    const onPositions = observe?.();
    original(options, (error, response) => {
      if (!error && response) {
        const fetched = onPositions ? response.responses.map((t) => t.partitions.map((p) => p.records ?? [])) : [];
        filterFetchResponse(response);
        if (onPositions) onPositions(positionsOf(options, response, fetched));
      }
      callback(error, response as FetchResponse);
    });
  };
  // An own property shadows the prototype method for this instance only.
  Object.defineProperty(consumer, 'fetch', { value: patched, writable: true, configurable: true });
}

/** A fetch position (see `fetchPosition`) of one partition, by topic id (fetch responses name no topics), with the offset the fetch asked from. */
export interface TopicFetchPosition extends FetchPosition {
  readonly topicId: string;
  readonly partition: number;
  readonly requestedFrom: bigint;
}

type FetchedBatches = NonNullable<FetchResponse['responses'][number]['partitions'][number]['records']>;

/** The positions a filtered response shows; `fetched` holds each partition's batches before the filter, in response order. */
function positionsOf(request: FetchOptions<Buffer, Buffer, Buffer, Buffer>, response: FetchResponse, fetched: readonly (readonly FetchedBatches[])[]): TopicFetchPosition[] {
  const requested = new Map<string, bigint>();
  for (const topic of request.topics) for (const p of topic.partitions) requested.set(partitionKey(topic.topicId, p.partition), p.fetchOffset);
  const positions: TopicFetchPosition[] = [];
  response.responses.forEach((topic, t) =>
    topic.partitions.forEach((partition, p) => {
      const requestedFrom = requested.get(partitionKey(topic.topicId, partition.partitionIndex));
      const position = requestedFrom === undefined ? null : fetchPosition(fetched[t]?.[p] ?? [], partition.records ?? []);
      if (position && requestedFrom !== undefined) positions.push({ topicId: topic.topicId, partition: partition.partitionIndex, requestedFrom, ...position });
    }),
  );
  return positions;
}

/**
 * Defect 2 (still in 2.12.1): InitProducerId is sent with producer id 0 / epoch 0 unless told
 * otherwise; the coordinator reads that as "bump this existing producer" (KIP-360) and answers
 * PRODUCER_FENCED when the previous incarnation left a transaction open, exactly the restart after
 * SIGKILL. -1 / -1 asks for the plain init that fences the previous incarnation and aborts its
 * transaction. Pass to `beginTransaction`.
 */
export const PLAIN_INIT_PRODUCER_ID = Object.freeze({ producerId: -1n, producerEpoch: -1 });

/**
 * Defect 4 (still in 2.12.1): there is no transaction timeout option; `timeout` is both the
 * produce request timeout and transaction.timeout.ms (default 5 s, too short for a restore).
 */
export function transactionTimeoutOption(transactionTimeoutMs: number): { readonly timeout: number } {
  return { timeout: transactionTimeoutMs };
}

/**
 * Commits a consumer's offsets inside `tx` with its group metadata (TxnOffsetCommit with
 * generation and member id: KIP-447), all partitions in ONE request. The library's `addOffset`
 * takes one consumed message and sends one TxnOffsetCommit per partition, and concurrent calls are
 * coalesced (defect 3), so they had to go one after another: a processor committing 12-18
 * partitions paid as many round trips per transaction. This builds the same request the library
 * would (its API, connection, metadata and retry helpers, all exported) with every partition.
 */
export async function addOffsetsToTransaction(producer: AdapterProducer, tx: Transaction, group: ConsumerGroupMetadata, coordinatorId: number, offsets: readonly CommitOffset[]): Promise<void> {
  if (offsets.length === 0) return;
  // AddOffsetsToTxn: the library reads only `groupId` from the consumer.
  await tx.addConsumer({ groupId: group.groupId } as unknown as Consumer);
  const producerId = producer.producerId;
  const producerEpoch = producer.producerEpoch;
  if (producerId === undefined || producerEpoch === undefined) throw new Error('transactional producer has no producer id; it must be initialised first');
  const byTopic = new Map<string, CommitOffset[]>();
  for (const o of offsets) byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), o]);
  await new Promise<void>((resolve, reject) => {
    producer[kPerformWithRetry]<void>(
      'commit',
      (done) => {
        producer[kMetadata]({ topics: [...byTopic.keys()] }, (error, metadata) => {
          if (error || !metadata) return done(error ?? new Error('no cluster metadata'));
          const broker = metadata.brokers.get(coordinatorId);
          if (!broker) return done(new Error(`group coordinator ${coordinatorId} is not in the cluster metadata`));
          producer[kGetConnection](broker, (connectionError, connection) => {
            if (connectionError || !connection) return done(connectionError ?? new Error(`no connection to group coordinator ${coordinatorId}`));
            producer[kGetApi]<TxnOffsetCommitArguments, unknown>('TxnOffsetCommit', (apiError, api) => {
              if (apiError || !api) return done(apiError ?? new Error('TxnOffsetCommit is not supported by the broker'));
              const topics = [...byTopic].map(([name, list]) => ({
                name,
                partitions: list.map((o) => ({ partitionIndex: o.partition, committedOffset: o.offset, committedLeaderEpoch: metadata.topics.get(name)?.partitions[o.partition]?.leaderEpoch ?? -1 })),
              }));
              api(connection, tx.id, group.groupId, producerId, producerEpoch, group.generationId, group.memberId, null, topics, (requestError) => done(requestError ?? null));
            });
          });
        });
      },
      (error) => (error ? reject(error) : resolve()),
    );
  });
}

type TxnOffsetCommitArguments = [transactionalId: string, groupId: string, producerId: bigint, producerEpoch: number, generationId: number, memberId: string, groupInstanceId: string | null, topics: { name: string; partitions: { partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number }[] }[]];

/**
 * The gap of defect 5 (2.12.1 still sends OffsetFetch with require_stable false): a member given a
 * partition while its previous owner's transaction is still committing would start from the
 * older committed offset and process those records again. This routes the stream's
 * `listCommittedOffsets` (public; the stream calls it after every join) through the admin API with
 * `requireStable: true`, waiting while the broker answers UNSTABLE_OFFSET_COMMIT (a transaction with
 * offsets for the group is pending) for at most `maxWaitMs`, as the Java client does (KIP-447).
 */
export function readCommittedOffsetsStably(consumer: Consumer, admin: () => Admin, maxWaitMs: number, onCommitted?: (offsets: Offsets) => void): void {
  const patched = (options: ListCommitsOptions, callback?: CallbackWithPromise<Offsets>): void | Promise<Offsets> => {
    const result = stableCommittedOffsets(admin(), consumer.groupId, options, maxWaitMs).then((offsets) => {
      onCommitted?.(offsets);
      return offsets;
    });
    if (!callback) return result;
    result.then(
      (offsets) => callback(null, offsets),
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error)), undefined as unknown as Offsets),
    );
  };
  Object.defineProperty(consumer, 'listCommittedOffsets', { value: patched, writable: true, configurable: true });
}

/** The group's committed offsets of the given partitions, read stable; the library's shape (partition index → offset, -1 for none). */
export async function stableCommittedOffsets(admin: Admin, groupId: string, options: ListCommitsOptions, maxWaitMs: number): Promise<Offsets> {
  const deadline = Date.now() + maxWaitMs;
  for (let delay = 50; ; delay = Math.min(delay * 2, 500)) {
    try {
      const [group] = await admin.listConsumerGroupOffsets({
        groups: [{ groupId, topics: options.topics.map((t) => ({ name: t.topic, partitionIndexes: [...t.partitions] })) }],
        requireStable: true,
      });
      const offsets: Offsets = new Map();
      for (const topic of group?.topics ?? []) {
        const byPartition: bigint[] = [];
        for (const p of topic.partitions) byPartition[p.partitionIndex] = p.committedOffset;
        offsets.set(topic.name, byPartition);
      }
      return offsets;
    } catch (error) {
      if (!hasProtocolError(error, 'UNSTABLE_OFFSET_COMMIT') || Date.now() + delay > deadline) throw error;
      await sleep(delay);
    }
  }
}

type ProduceResponse = produceV11.ProduceResponse;
/** What the library's producer passes its Produce API: sequences by `topic:partition`. */
type LibraryProduceOptions = Omit<ProduceRequestOptions, 'firstSequence'> & { readonly compression?: string; readonly sequences?: { getWithDefault(key: string, fallback: number): number } };
type ProduceCallback = (error: Error | null, response?: ProduceResponse | boolean) => void;
type ProduceApi = ((connection: Connection, ...args: unknown[]) => void) & { readonly key: number; readonly version: number; readonly async: unknown };

/**
 * Not a defect but the largest cost in a processor worker: the library encodes each record as a
 * list of small buffers and joins them twice (produce-request.ts). This hands a producer's Produce
 * v11 calls to `encodeProduceRequest`, which writes the same bytes into one buffer, and sends them
 * on the library's connection with the library's response parser: sequences, retries, metadata and
 * transactions stay the library's. Anything the encoder does not cover (compression, a broker that
 * settles on another Produce version, a header that is not bytes) goes to the library's own, with
 * string keys and values turned into bytes first.
 */
export function encodeProduceRequestsInOneBuffer(producer: AdapterProducer): void {
  const getApi = producer[kGetApi].bind(producer) as (name: string, callback: (error: Error | null, api?: ProduceApi) => void) => void;
  const patched = (name: string, callback: (error: Error | null, api?: ProduceApi) => void): void => {
    if (name !== 'Produce') return getApi(name, callback);
    getApi(name, (error, api) => {
      if (error || !api) return callback(error, api);
      const oneBuffer = (connection: Connection, ...args: unknown[]): void => {
        const [acks, timeout, messages, options] = args as [number, number, readonly EncodableMessage[], LibraryProduceOptions];
        const done = args[args.length - 1] as ProduceCallback;
        if (api.version !== 11 || typeof done !== 'function' || !encodable(messages, options)) {
          keysAndValuesAsBytes(messages);
          return api(connection, ...args);
        }
        let body: Buffer;
        try {
          const sequences = options.sequences;
          const firstSequence = sequences ? (topic: string, partition: number) => sequences.getWithDefault(`${topic}:${partition}`, 0) : undefined;
          body = encodeProduceRequest(acks, timeout, messages, { ...options, firstSequence }, crc32c);
        } catch (encodeError) {
          return done(encodeError instanceof Error ? encodeError : new Error(String(encodeError)));
        }
        connection.send(api.key, api.version, () => {
          const writer = Writer.create().append(body);
          // acks=0: the broker sends no response, and the connection must not wait for one.
          if (acks === 0) writer.context.noResponse = true;
          return writer;
        }, produceV11.parseResponse, true, true, done);
      };
      callback(null, Object.assign(oneBuffer, { key: api.key, version: api.version, async: api.async }) as ProduceApi);
    });
  };
  // An own property shadows the prototype method for this instance only.
  Object.defineProperty(producer, kGetApi, { value: patched, writable: true, configurable: true });
}

/**
 * The library's own encoder counts a string's characters, not its bytes: it gets bytes. The messages
 * are the copies the library's `send` made, so changing them changes nothing of the caller's.
 */
function keysAndValuesAsBytes(messages: unknown): void {
  if (!Array.isArray(messages)) return;
  for (const m of messages as { key?: unknown; value?: unknown }[]) {
    if (typeof m.key === 'string') m.key = Buffer.from(m.key, 'utf8');
    if (typeof m.value === 'string') m.value = Buffer.from(m.value, 'utf8');
  }
}

function encodable(messages: readonly EncodableMessage[], options: { readonly compression?: string } | undefined): boolean {
  if (!Array.isArray(messages) || messages.length === 0 || (options?.compression ?? 'none') !== 'none') return false;
  for (const m of messages) {
    if (!isData(m.key) || !isData(m.value)) return false;
    if (m.headers !== undefined && !(m.headers instanceof Map)) return false;
    if (m.headers) for (const [k, v] of m.headers) if (!Buffer.isBuffer(k) || !Buffer.isBuffer(v)) return false;
  }
  return true;
}

function isData(data: unknown): boolean {
  return data === null || data === undefined || typeof data === 'string' || Buffer.isBuffer(data);
}

/**
 * A transaction's records produced without the library's `send`, for a producer used ONLY through
 * this (sequence numbers are kept here, not in the library). `send` did, per record: a copy of the
 * message, two header Maps, a `topic:partition` string for the transaction's partitions and another
 * for the sequences, before encoding; ~7% of a processor worker's CPU beside the encoding itself. Here:
 * partitions resolved as the library would (its key partitioner, round robin without a key, modulo
 * the partition count), AddPartitionsToTxn through the library's transaction (once per partition and
 * transaction), then per leader broker one Produce v11 request encoded by `encodeProduceRequest`, sent on the
 * library's connection with its retries. A request that fails because its leader moved is sent again,
 * with the same sequences, to the new leader when all its partitions moved there together; otherwise
 * the error ends the transaction (the caller aborts and starts a new producer).
 * A cluster whose brokers do not speak Produce v11 (Kafka before 3.7) gets the library's `send` for
 * every record, decided once per producer, so the two never share its sequences.
 */
export class TransactionalProduce {
  readonly #producer: AdapterProducer;
  readonly #timeoutMs: number;
  readonly #sequences = new PartitionSequences();
  readonly #roundRobin = new Map<string, number>();
  #oneBuffer: Promise<boolean> | undefined;

  constructor(producer: AdapterProducer, timeoutMs: number) {
    this.#producer = producer;
    this.#timeoutMs = timeoutMs;
  }

  async send(tx: Transaction, messages: readonly ProducedMessage[]): Promise<void> {
    if (messages.length === 0) return;
    this.#oneBuffer ??= new Promise<boolean>((resolve) => {
      this.#producer[kGetApi]('Produce', (error, api) => resolve(!error && api?.version === 11));
    });
    if (!(await this.#oneBuffer)) {
      await tx.send({ messages: [...messages] });
      return;
    }
    const producerId = this.#producer.producerId;
    const producerEpoch = this.#producer.producerEpoch;
    if (producerId === undefined || producerEpoch === undefined) throw new Error('transactional producer has no producer id; it must be initialised first');
    const topicSet = new Set<string>();
    for (const m of messages) topicSet.add(m.topic);
    const topics = [...topicSet];
    const metadata = await this.#metadata(topics, false);
    const resolved = this.#withPartitions(messages, metadata);

    // Per topic: how many records each partition gets (one pass; the leaders come from it).
    const counts = new Map<string, number[]>();
    for (const m of resolved) {
      let byPartition = counts.get(m.topic);
      if (!byPartition) counts.set(m.topic, (byPartition = []));
      const p = m.partition as number;
      byPartition[p] = (byPartition[p] ?? 0) + 1;
    }
    const partitions: { topic: string; partition: number }[] = [];
    const leaders = new Set<number>();
    for (const [topic, byPartition] of counts) {
      byPartition.forEach((_, partition) => {
        partitions.push({ topic, partition });
        leaders.add(leaderOf(metadata, topic, partition));
      });
    }
    await tx.addPartitions(metadata, partitions as unknown as Parameters<Transaction['addPartitions']>[1]);

    const first = new Map<string, number[]>();
    for (const [topic, byPartition] of counts) {
      const firsts: number[] = [];
      byPartition.forEach((count, partition) => (firsts[partition] = this.#sequences.take(producerId, producerEpoch, topic, partition, count)));
      first.set(topic, firsts);
    }
    const options: ProduceRequestOptions = { transactionalId: tx.id, producerId, producerEpoch, firstSequence: (topic, partition) => first.get(topic)?.[partition] ?? 0 };
    const byLeader = leaders.size === 1 ? [resolved] : [...leaders].map((leader) => resolved.filter((m) => leaderOf(metadata, m.topic, m.partition as number) === leader));
    await Promise.all(byLeader.map((group) => this.#produce(topics, metadata, group, encodeProduceRequest(-1, this.#timeoutMs, group, options, crc32c))));
  }

  /** The messages with their partitions resolved and in range; the array itself when nothing changed (the processor's case). */
  #withPartitions(messages: readonly ProducedMessage[], metadata: ClusterMetadata): readonly ProducedMessage[] {
    let resolved: ProducedMessage[] | undefined;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i] as ProducedMessage;
      const count = metadata.topics.get(m.topic)?.partitionsCount;
      if (!count) throw new UsageError(`topic ${m.topic} does not exist; create it before producing to it`);
      let partition = m.partition;
      if (typeof partition !== 'number') {
        if (Buffer.isBuffer(m.key)) partition = defaultPartitioner(m as never, m.key);
        else {
          partition = this.#roundRobin.get(m.topic) ?? 0;
          this.#roundRobin.set(m.topic, partition + 1);
        }
      }
      partition %= count;
      if (partition !== m.partition) {
        resolved ??= messages.slice();
        resolved[i] = { ...m, partition };
      }
    }
    return resolved ?? messages;
  }

  #metadata(topics: readonly string[], forceUpdate: boolean): Promise<ClusterMetadata> {
    return new Promise((resolve, reject) =>
      this.#producer[kMetadata]({ topics: [...topics], autocreateTopics: false, forceUpdate }, (error, metadata) => (error || !metadata ? reject(error ?? new Error('no cluster metadata')) : resolve(metadata))),
    );
  }

  /**
   * Sends one encoded request to the leader of its partitions, with the library's retries. The first
   * attempt uses the metadata `send` read; a retry reads it afresh (a moved leader is the usual reason for one).
   */
  #produce(topics: readonly string[], sendMetadata: ClusterMetadata, messages: readonly ProducedMessage[], body: Buffer): Promise<void> {
    const producer = this.#producer;
    const { topic, partition } = messages[0] as ProducedMessage;
    let attempts = 0;
    return new Promise<void>((resolve, reject) => {
      producer[kPerformWithRetry]<void>(
        'produce',
        (done) => {
          (attempts++ === 0 ? Promise.resolve(sendMetadata) : this.#metadata(topics, true)).then((metadata) => {
            const leader = leaderOf(metadata, topic, partition as number);
            if (messages.some((m) => leaderOf(metadata, m.topic, m.partition as number) !== leader)) {
              return done(new LeadersSplitError('the partitions of one produce request no longer share a leader broker; the transaction is aborted and retried from the committed offsets'));
            }
            const broker = metadata.brokers.get(leader);
            if (!broker) return done(new Error(`leader broker ${leader} is not in the cluster metadata`));
            producer[kGetConnection](broker, (connectionError, connection) => {
              if (connectionError || !connection) return done(connectionError ?? new Error(`no connection to broker ${leader}`));
              connection.send(0, 11, () => Writer.create().append(body), produceV11.parseResponse, true, true, (error) => done(error ?? null));
            });
          }, done);
        },
        (error) => (error ? reject(error) : resolve()),
        0,
        [],
        (error) => error instanceof LeadersSplitError || error instanceof UsageError,
      );
    });
  }
}

/** A request's partitions moved to different leaders between attempts: it cannot be sent again as it is. */
class LeadersSplitError extends Error {}

function leaderOf(metadata: ClusterMetadata, topic: string, partition: number): number {
  return metadata.topics.get(topic)?.partitions[partition]?.leader ?? -1;
}
