/**
 * The Kafka adapter: the only module that imports the Kafka client library, so the rest of the
 * code depends on the small interfaces here. (Which library, and why, is in
 * docs/decisions/kafka-client.md.)
 */
import fs from 'node:fs';
import {
  Admin,
  ConfigResourceTypes,
  ConfigSources,
  Consumer,
  FetchIsolationLevels,
  IncrementalAlterConfigOperationTypes,
  IS_CONTROL,
  IS_TRANSACTIONAL,
  ListOffsetTimestamps,
  Producer,
  type CallbackWithPromise,
  type ConnectionOptions,
  type ClusterMetadata,
  type FetchIsolationLevelValue,
  type FetchOptions,
  type fetchV17,
  type GroupPartitionsAssigner,
  type Message,
  type MessagesStream,
  type MessageToProduce,
  type RecordsBatch,
} from '@platformatic/kafka';
import type { Config } from '../config/schema.ts';
import { DependencyError, messageOf, UsageError } from '../core/errors.ts';

type FetchResponse = fetchV17.FetchResponse;
type FetchRequestPartition = fetchV17.FetchRequestPartition;
type Transaction = Awaited<ReturnType<Producer['beginTransaction']>>;

export interface ClusterSummary {
  readonly clusterId: string;
  readonly brokers: number;
  readonly controllerId: number;
  readonly topics: number;
}

export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly configs?: Readonly<Record<string, string>>;
}

export interface TopicDescription {
  readonly name: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  /** Only the configs set on the topic itself (not broker or built-in defaults). */
  readonly configs: Readonly<Record<string, string>>;
}

export interface PartitionOffset {
  readonly partition: number;
  readonly offset: bigint;
}

export interface PartitionLag {
  readonly topic: string;
  readonly partition: number;
  /** The group's committed offset (the next record it will read); null when it has none. */
  readonly committed: bigint | null;
  readonly end: bigint;
  /** end − committed; with no commit, end − the partition's earliest offset. */
  readonly lag: bigint;
}

export interface GroupSummary {
  readonly groupId: string;
  readonly state: string;
  readonly protocolType: string;
}

/** What phases and status need from Kafka's admin API. */
export interface TopicAdmin {
  /** Creates the topics that do not exist yet; returns the names it created. Existing ones are left as they are. */
  createTopics(specs: readonly TopicSpec[]): Promise<readonly string[]>;
  /** Describes the named topics that exist; missing ones are absent from the result. */
  describeTopics(names: readonly string[]): Promise<readonly TopicDescription[]>;
  /** Sets the given topic configs; a null value resets that key to its default. Other keys are untouched. */
  alterTopicConfigs(name: string, configs: Readonly<Record<string, string | null>>): Promise<void>;
  /** Grows the topic to `total` partitions (Kafka cannot shrink a topic); a no-op when it already has them. */
  createPartitions(name: string, total: number): Promise<void>;
  /** Deletes the named topics; missing ones are ignored. */
  deleteTopics(names: readonly string[]): Promise<void>;
  /** Topic names, internal topics left out, sorted. */
  listTopics(): Promise<readonly string[]>;
  /** The log end offset (high watermark) of each partition. */
  endOffsets(topic: string): Promise<readonly PartitionOffset[]>;
  /**
   * The last stable offset of each partition (ListOffsets with read_committed): the end a
   * read_committed reader can reach now, before the first transaction still open.
   */
  lastStableOffsets(topic: string): Promise<readonly PartitionOffset[]>;
  /** Committed vs end offset for every partition the group has committed. */
  groupLag(groupId: string): Promise<readonly PartitionLag[]>;
  listGroups(): Promise<readonly GroupSummary[]>;
}

export interface KafkaAdmin extends TopicAdmin {
  /** A metadata request: proves a broker answers the Kafka protocol, not only TCP. */
  cluster(): Promise<ClusterSummary>;
  close(): Promise<void>;
}

export type KafkaSettings = Pick<Config, 'kafka'>['kafka'];

/** A record to produce. Strings are written as UTF-8; a null value is a tombstone. */
export interface OutgoingRecord {
  readonly topic: string;
  readonly key?: string | Buffer | null;
  readonly value: string | Buffer | null;
  readonly headers?: Readonly<Record<string, string>>;
  /** Chosen by murmur2 of the key (the Java client's default) when absent. */
  readonly partition?: number;
}

/** A consumed record; offsets are bigint because Kafka's are 64-bit. */
export interface ConsumedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
  /** Milliseconds since the epoch. */
  readonly timestamp: number;
}

/**
 * The consumer's group membership at the time a batch was fetched. A transactional producer sends
 * it with the offsets (KIP-447), so the group coordinator refuses the commit of a worker that has
 * lost the partitions in a rebalance (a zombie).
 */
export interface ConsumerGroupMetadata {
  readonly groupId: string;
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
}

/** The position to commit for a partition: the offset of the next record to read. */
export interface CommitOffset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
}

export interface ConsumedBatch {
  readonly records: readonly ConsumedRecord[];
  /**
   * The membership the batch was read under; an empty batch carries the current one, so a
   * transaction without new records (a queue that drained, a table record) can still commit
   * offsets. Null only while the consumer has not joined the group.
   */
  readonly group: ConsumerGroupMetadata | null;
  /** Per partition in the batch, the offset after its last record: what to commit once it is processed. */
  readonly nextOffsets: readonly CommitOffset[];
}

export interface ConsumerOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Static membership (KIP-345): a restarted worker with the same id takes its partitions back without a rebalance. */
  readonly groupInstanceId?: string;
  readonly sessionTimeoutMs?: number;
  readonly heartbeatIntervalMs?: number;
  readonly rebalanceTimeoutMs?: number;
  /** How long the broker may hold a fetch open when there is nothing new. */
  readonly fetchMaxWaitMs?: number;
  readonly clientSuffix?: string;
  /**
   * Co-partitioned assignment (as Kafka Streams): partition i of every subscribed topic goes to
   * the same member, so the member owning `cdc.public.orders` partition 3 also owns partition 3
   * of the other topics. See `copartitionedAssignment`. Every member of the group must set it
   * (the group leader's choice is the one that applies).
   */
  readonly copartitioned?: boolean;
}

/** Partitions of one topic. */
export interface TopicAssignment {
  readonly topic: string;
  readonly partitions: readonly number[];
}

export interface PollOptions {
  /** Default 5 000. */
  readonly maxRecords?: number;
  /** Returns after this long with whatever has arrived, possibly nothing. Default 100. */
  readonly maxWaitMs?: number;
}

/**
 * A group consumer that reads only committed records (read_committed), starts from the earliest
 * offset when the group has none, and never commits on its own.
 */
export interface KafkaConsumer {
  poll(options?: PollOptions): Promise<ConsumedBatch>;
  /** A plain (non-transactional) commit, for consumers that do not produce. */
  commit(offsets: readonly CommitOffset[]): Promise<void>;
  /**
   * The partitions this member was given by the last completed group join, sorted by topic and
   * partition; empty before the first join (the first poll joins) and after leaving. Records
   * already buffered for partitions lost in a rebalance can still come out of poll; their batch
   * carries the older generation, so a transactional commit of them is fenced.
   */
  assignment(): readonly TopicAssignment[];
  /** The generation id of `assignment()`; null before the first join. A change means a rebalance happened. */
  generation(): number | null;
  /** Stops fetching; records already buffered are still returned by poll. */
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}

export interface KafkaProducer {
  send(records: readonly OutgoingRecord[]): Promise<void>;
  close(): Promise<void>;
}

/** The operations allowed inside one transaction. */
export interface TransactionScope {
  send(records: readonly OutgoingRecord[]): Promise<void>;
  /** Commits the consumer's offsets atomically with the records sent in this transaction. */
  sendOffsets(group: ConsumerGroupMetadata, offsets: readonly CommitOffset[]): Promise<void>;
}

export interface TransactionalProducerOptions {
  /**
   * Stable across restarts of the same worker: initialising it fences the previous incarnation
   * and aborts the transaction it left open, so read_committed readers are not blocked.
   */
  readonly transactionalId: string;
  /** The coordinator aborts a transaction left open longer than this. Default 60 000. */
  readonly transactionTimeoutMs?: number;
  readonly clientSuffix?: string;
}

export interface TransactionalProducer extends TransactionScope {
  readonly transactionalId: string;
  /** Registers the transactional id (fencing earlier producers with it). Call before reading committed offsets. */
  init(): Promise<void>;
  begin(): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
  /** begin, run `fn`, commit; abort (and rethrow) when `fn` or the commit throws. */
  runTransaction<T>(fn: (tx: TransactionScope) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Connection options shared by every client: SASL and TLS from the configuration. */
export function connectionOptions(kafka: KafkaSettings): ConnectionOptions {
  const sasl = kafka.sasl
    ? {
        sasl: {
          mechanism: ({ plain: 'PLAIN', 'scram-sha-256': 'SCRAM-SHA-256', 'scram-sha-512': 'SCRAM-SHA-512' } as const)[kafka.sasl.mechanism],
          username: kafka.sasl.username,
          password: kafka.sasl.password,
        },
      }
    : {};
  const ssl = kafka.ssl;
  const tls =
    ssl === true
      ? { tls: {} }
      : ssl && typeof ssl === 'object'
        ? {
            tls: {
              ...(ssl.ca ? { ca: fs.readFileSync(ssl.ca) } : {}),
              ...(ssl.cert ? { cert: fs.readFileSync(ssl.cert) } : {}),
              ...(ssl.key ? { key: fs.readFileSync(ssl.key) } : {}),
              ...(ssl.rejectUnauthorized !== undefined ? { rejectUnauthorized: ssl.rejectUnauthorized } : {}),
            },
          }
        : {};
  return { connectTimeout: 5_000, requestTimeout: 30_000, ...sasl, ...tls };
}

export interface KafkaAdminOptions {
  /** Retries of retriable protocol errors; 0 (the default) suits health checks that must answer fast. */
  readonly retries?: number;
}

/** The admin client: cluster health, topics, offsets and consumer groups. */
export function createKafkaAdmin(kafka: KafkaSettings, clientSuffix = 'admin', options: KafkaAdminOptions = {}): KafkaAdmin {
  const admin = new Admin({
    clientId: `${kafka.clientId}-${clientSuffix}`,
    bootstrapBrokers: [...kafka.brokers],
    retries: options.retries ?? 0,
    retryDelay: 250,
    ...connectionOptions(kafka),
  });
  const call = <T>(what: string, run: () => Promise<T>): Promise<T> => guard(kafka, what, run);

  const topicNames = async (): Promise<Set<string>> => new Set(await admin.listTopics({ includeInternals: false }));

  const partitionCount = async (topic: string): Promise<number> => {
    const metadata = await admin.metadata({ topics: [topic], forceUpdate: true });
    const described = metadata.topics.get(topic);
    if (!described) throw new DependencyError(`Kafka topic ${topic} has no metadata; does it exist?`, { retriable: false, details: { topic } });
    return described.partitionsCount;
  };

  const offsetsAt = async (topic: string, timestamp: bigint, isolationLevel: FetchIsolationLevelValue = FetchIsolationLevels.READ_UNCOMMITTED): Promise<PartitionOffset[]> => {
    const partitions = await partitionCount(topic);
    const listed = await admin.listOffsets({
      topics: [{ name: topic, partitions: Array.from({ length: partitions }, (_, partitionIndex) => ({ partitionIndex, timestamp })) }],
      isolationLevel,
    });
    return listed
      .filter((t) => t.name === topic)
      .flatMap((t) => t.partitions.map((p) => ({ partition: p.partitionIndex, offset: p.offset })))
      .sort((a, b) => a.partition - b.partition);
  };

  return {
    async cluster() {
      try {
        const metadata = await admin.metadata({ topics: [], forceUpdate: true });
        return { clusterId: metadata.id, brokers: metadata.brokers.size, controllerId: metadata.controllerId, topics: metadata.topics.size };
      } catch (error) {
        throw kafkaUnreachable(kafka, error);
      }
    },

    createTopics: (specs) =>
      call('create topics', async () => {
        const existing = await topicNames();
        const created: string[] = [];
        for (const spec of specs) {
          if (existing.has(spec.name)) continue;
          try {
            await admin.createTopics({
              topics: [spec.name],
              partitions: spec.partitions,
              replicas: spec.replicationFactor,
              configs: Object.entries(spec.configs ?? {}).map(([name, value]) => ({ name, value })),
            });
            created.push(spec.name);
          } catch (error) {
            // Another process created it between our list and our create: that is the state we want.
            if (!hasProtocolError(error, 'TOPIC_ALREADY_EXISTS')) throw error;
          }
        }
        return created;
      }),

    describeTopics: (names) =>
      call('describe topics', async () => {
        const existing = await topicNames();
        const wanted = names.filter((n) => existing.has(n));
        if (wanted.length === 0) return [];
        const metadata = await admin.metadata({ topics: wanted, forceUpdate: true });
        const configs = await admin.describeConfigs({
          resources: wanted.map((resourceName) => ({ resourceType: ConfigResourceTypes.TOPIC, resourceName, configurationKeys: [] })),
        });
        return wanted.map((name) => {
          const topic = metadata.topics.get(name);
          const own: Record<string, string> = {};
          for (const entry of configs.find((c) => c.resourceName === name)?.configs ?? []) {
            if (entry.configSource === ConfigSources.TOPIC_CONFIG && typeof entry.value === 'string' && !entry.isSensitive) own[entry.name] = entry.value;
          }
          return {
            name,
            partitions: topic?.partitionsCount ?? 0,
            replicationFactor: topic?.partitions[0]?.replicas.length ?? 0,
            configs: own,
          };
        });
      }),

    alterTopicConfigs: (name, configs) =>
      call('alter topic configs', async () => {
        const entries = Object.entries(configs);
        if (entries.length === 0) return;
        await admin.incrementalAlterConfigs({
          resources: [
            {
              resourceType: ConfigResourceTypes.TOPIC,
              resourceName: name,
              configs: entries.map(([key, value]) =>
                value === null
                  ? { name: key, configOperation: IncrementalAlterConfigOperationTypes.DELETE }
                  : { name: key, configOperation: IncrementalAlterConfigOperationTypes.SET, value },
              ),
            },
          ],
        });
      }),

    createPartitions: (name, total) =>
      call('create partitions', async () => {
        const current = await partitionCount(name);
        if (total < current) {
          throw new UsageError(`Kafka topic ${name} has ${current} partitions and cannot shrink to ${total}; recreate it or keep ${current}`);
        }
        if (total === current) return;
        await admin.createPartitions({ topics: [{ name, count: total, assignments: null }] });
      }),

    deleteTopics: (names) =>
      call('delete topics', async () => {
        const existing = await topicNames();
        const doomed = names.filter((n) => existing.has(n));
        if (doomed.length > 0) await admin.deleteTopics({ topics: doomed });
      }),

    listTopics: () => call('list topics', async () => [...(await topicNames())].sort()),

    endOffsets: (topic) => call('list offsets', () => offsetsAt(topic, ListOffsetTimestamps.LATEST)),

    lastStableOffsets: (topic) =>
      call('list last stable offsets', () => offsetsAt(topic, ListOffsetTimestamps.LATEST, FetchIsolationLevels.READ_COMMITTED)),

    groupLag: (groupId) =>
      call('read group offsets', async () => {
        const [group] = await admin.listConsumerGroupOffsets({ groups: [groupId], requireStable: false });
        const lags: PartitionLag[] = [];
        for (const topic of group?.topics ?? []) {
          const ends = new Map((await offsetsAt(topic.name, ListOffsetTimestamps.LATEST)).map((p) => [p.partition, p.offset]));
          const starts = new Map((await offsetsAt(topic.name, ListOffsetTimestamps.EARLIEST)).map((p) => [p.partition, p.offset]));
          for (const p of topic.partitions) {
            const end = ends.get(p.partitionIndex) ?? 0n;
            const committed = p.committedOffset >= 0n ? p.committedOffset : null;
            const from = committed ?? starts.get(p.partitionIndex) ?? 0n;
            lags.push({ topic: topic.name, partition: p.partitionIndex, committed, end, lag: end > from ? end - from : 0n });
          }
        }
        return lags.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
      }),

    listGroups: () =>
      call('list groups', async () => {
        const groups = await admin.listGroups();
        return [...groups.values()]
          .map((g) => ({ groupId: g.id, state: String(g.state), protocolType: g.protocolType }))
          .sort((a, b) => a.groupId.localeCompare(b.groupId));
      }),

    close: () => admin.close(),
  };
}

/** A non-transactional, idempotent producer (acks=all). */
export function createProducer(kafka: KafkaSettings, clientSuffix = 'producer'): KafkaProducer {
  const producer = new Producer({
    clientId: `${kafka.clientId}-${clientSuffix}`,
    bootstrapBrokers: [...kafka.brokers],
    idempotent: true,
    autocreateTopics: false,
    retries: 5,
    retryDelay: 250,
    ...connectionOptions(kafka),
  });
  return {
    send: (records) =>
      guard(kafka, 'produce', async () => {
        for (const chunk of chunksBySize(records)) await producer.send({ messages: chunk.map(toProduce) });
      }),
    close: () => producer.close(),
  };
}

/**
 * A transactional producer for consume-transform-produce. One transaction at a time; calls inside
 * a transaction are made one after another (the library coalesces concurrent calls of the same
 * kind, which would drop partitions or offsets).
 */
export function createTransactionalProducer(kafka: KafkaSettings, options: TransactionalProducerOptions): TransactionalProducer {
  const producer = new Producer({
    clientId: `${kafka.clientId}-${options.clientSuffix ?? 'tx'}`,
    bootstrapBrokers: [...kafka.brokers],
    idempotent: true,
    transactionalId: options.transactionalId,
    // The library uses `timeout` both as the produce request timeout and as transaction.timeout.ms.
    timeout: options.transactionTimeoutMs ?? 60_000,
    autocreateTopics: false,
    // InitProducerId answers CONCURRENT_TRANSACTIONS until the previous incarnation's transaction is aborted.
    retries: 20,
    retryDelay: 250,
    ...connectionOptions(kafka),
  });
  let current: Transaction | undefined;
  const active = (): Transaction => {
    if (!current) throw new UsageError(`no open transaction on producer ${options.transactionalId}; call begin() first`);
    return current;
  };
  const call = <T>(what: string, run: () => Promise<T>): Promise<T> => guard(kafka, `${what} (transactional id ${options.transactionalId})`, run);

  const scope: TransactionScope = {
    send: (records) =>
      call('transactional produce', async () => {
        // One request per chunk, one after another: concurrent sends inside a transaction get merged by the library.
        for (const chunk of chunksBySize(records)) await active().send({ messages: chunk.map(toProduce) });
      }),
    sendOffsets: (group, offsets) =>
      call('transactional offset commit', async () => {
        const tx = active();
        const coordinatorId = groupCoordinators.get(group);
        if (coordinatorId === undefined) throw new UsageError('sendOffsets needs the group metadata of a batch returned by KafkaConsumer.poll');
        // The library reads only `groupId` from the consumer here (AddOffsetsToTxn).
        await tx.addConsumer({ groupId: group.groupId } as unknown as Consumer);
        for (const offset of offsets) {
          // addOffset commits `offset + 1` of a consumed message with the consumer group metadata
          // it carries (TxnOffsetCommit with generation and member id: KIP-447); it reads only
          // topic, partition, offset and metadata.consumer, so a minimal message is enough.
          const message = {
            topic: offset.topic,
            partition: offset.partition,
            offset: offset.offset - 1n,
            metadata: { consumer: { groupId: group.groupId, generationId: group.generationId, memberId: group.memberId, coordinatorId } },
          } as unknown as Message;
          await tx.addOffset(message);
        }
      }),
  };

  const begin = (): Promise<void> =>
    call('begin transaction', async () => {
      if (current) throw new UsageError(`producer ${options.transactionalId} already has an open transaction`);
      current = await producer.beginTransaction({ producerId: -1n, producerEpoch: -1 });
    });
  const end = (commit: boolean): Promise<void> =>
    call(commit ? 'commit transaction' : 'abort transaction', async () => {
      const tx = active();
      try {
        await (commit ? tx.commit() : tx.abort());
      } finally {
        // Whatever the outcome, the next begin() starts afresh; a failed commit is fatal for the
        // batch and the caller aborts or restarts.
        if (tx.completed || !commit) current = undefined;
      }
    });

  return {
    transactionalId: options.transactionalId,
    ...scope,
    init: () =>
      call('init transactional producer', async () => {
        if (current) return;
        // beginTransaction sends InitProducerId the first time; cancel drops the (empty) local
        // transaction without an EndTxn, leaving the producer registered and the zombie fenced.
        // The library would send producer id 0 / epoch 0, which the coordinator reads as "bump
        // this existing producer" (KIP-360) and answers PRODUCER_FENCED whenever the id was used
        // before; -1 / -1 asks for the plain init that fences the previous incarnation.
        const tx = await producer.beginTransaction({ producerId: -1n, producerEpoch: -1 });
        await tx.cancel();
      }),
    begin,
    commit: () => end(true),
    abort: () => end(false),
    async runTransaction<T>(fn: (tx: TransactionScope) => Promise<T>): Promise<T> {
      await begin();
      try {
        const result = await fn(scope);
        await end(true);
        return result;
      } catch (error) {
        if (current) {
          try {
            await end(false);
          } catch {
            // The original error says more; a failed abort leaves the coordinator to time the transaction out.
            current = undefined;
          }
        }
        throw error;
      }
    },
    async close() {
      if (current) {
        await current.abort().catch(() => undefined);
        current = undefined;
      }
      await producer.close();
    },
  };
}

/** Which group coordinator a batch's metadata belongs to; kept out of the public shape. */
const groupCoordinators = new WeakMap<ConsumerGroupMetadata, number>();

/** A read_committed group consumer with manual commits; see `KafkaConsumer`. */
export function createConsumer(kafka: KafkaSettings, options: ConsumerOptions): KafkaConsumer {
  const consumer = new Consumer({
    clientId: `${kafka.clientId}-${options.clientSuffix ?? 'consumer'}`,
    bootstrapBrokers: [...kafka.brokers],
    groupId: options.groupId,
    ...(options.groupInstanceId ? { groupInstanceId: options.groupInstanceId } : {}),
    sessionTimeout: options.sessionTimeoutMs ?? 10_000,
    heartbeatInterval: options.heartbeatIntervalMs ?? 1_000,
    rebalanceTimeout: options.rebalanceTimeoutMs ?? 30_000,
    isolationLevel: FetchIsolationLevels.READ_COMMITTED,
    maxWaitTime: options.fetchMaxWaitMs ?? 500,
    autocommit: false,
    retries: 5,
    retryDelay: 250,
    ...(options.copartitioned ? { partitionAssigner: copartitionedAssigner } : {}),
    ...connectionOptions(kafka),
  });
  filterAbortedTransactions(consumer);

  // The library sets `generationId` at JoinGroup and `assignments` only after SyncGroup; the join
  // event carries both, so the pair read here is always consistent.
  let membership: { readonly generation: number; readonly assignment: readonly TopicAssignment[] } | null = null;
  consumer.on('consumer:group:join', (payload: unknown) => {
    const generation: unknown = typeof payload === 'object' && payload !== null ? Reflect.get(payload, 'generationId') : undefined;
    const assignments: unknown = typeof payload === 'object' && payload !== null ? Reflect.get(payload, 'assignments') : undefined;
    if (typeof generation === 'number') membership = { generation, assignment: toAssignment(assignments) };
  });
  consumer.on('consumer:group:leave', () => {
    membership = null;
  });

  // The membership as the coordinator knows it now, for batches that carry no record to read it from.
  const currentGroup = (): ConsumerGroupMetadata | null => {
    const coordinatorId = consumer.coordinatorId;
    if (!membership || consumer.memberId === null || coordinatorId === null) return null;
    const group: ConsumerGroupMetadata = Object.freeze({ groupId: options.groupId, generationId: membership.generation, memberId: consumer.memberId, groupInstanceId: null });
    groupCoordinators.set(group, coordinatorId);
    return group;
  };

  let stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const open = async (): Promise<MessagesStream<Buffer, Buffer, Buffer, Buffer>> => {
    if (stream) return stream;
    const opened = await consumer.consume({ topics: [...options.topics], mode: 'committed', fallbackMode: 'earliest', autocommit: false });
    // A 'readable' listener keeps the stream in paused mode: records wait in its buffer for poll().
    opened.on('readable', () => wake?.());
    opened.on('error', (error: unknown) => {
      failure = error;
      wake?.();
    });
    stream = opened;
    return opened;
  };

  return {
    poll: (pollOptions = {}) =>
      guard(kafka, `consume ${options.topics.join(',')}`, async () => {
        const source = await open();
        const maxRecords = pollOptions.maxRecords ?? 5_000;
        const deadline = Date.now() + (pollOptions.maxWaitMs ?? 100);
        const records: ConsumedRecord[] = [];
        const next = new Map<string, CommitOffset>();
        let group: ConsumerGroupMetadata | null = null;
        while (records.length < maxRecords) {
          if (failure !== undefined) throw failure;
          const message: unknown = source.read();
          if (message !== null) {
            const record = toConsumed(message);
            records.push(record);
            next.set(`${record.topic}\u0000${record.partition}`, { topic: record.topic, partition: record.partition, offset: record.offset + 1n });
            group = groupOf(message) ?? group;
            continue;
          }
          const remaining = deadline - Date.now();
          if (remaining <= 0) break;
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, remaining);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wake = undefined;
        }
        return { records, group: group ?? currentGroup(), nextOffsets: [...next.values()] };
      }),
    commit: (offsets) =>
      guard(kafka, `commit offsets of group ${options.groupId}`, () =>
        consumer.commit({ offsets: offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset, leaderEpoch: -1 })) }),
      ),
    assignment: () => membership?.assignment ?? [],
    generation: () => membership?.generation ?? null,
    pause: () => void stream?.pause(),
    resume: () => void stream?.resume(),
    async close() {
      await stream?.close().catch(() => undefined);
      await consumer.close(true);
    },
  };
}

/**
 * Co-partitioned assignment (pure; Kafka Streams' rule for joins): for each topic, the members
 * subscribed to it are sorted by id and partition i goes to `sorted[i % n]`. When every member
 * subscribes to the same topics, partition i of every topic lands on the same member, so state
 * keyed like the input (same key, same partitioner, same partition count) stays local.
 *
 * Topics with different partition counts are still assigned by i % n, so partition i still has
 * one owner across topics, and the larger topic's extra partitions continue the rotation. The
 * same key then lands on different partition numbers in the two topics (murmur2 % count), so
 * a join on it is not local: the caller should check the counts are equal when it relies on that.
 * Returns every member, possibly with nothing assigned (more members than partitions).
 */
export function copartitionedAssignment(
  subscriptions: ReadonlyMap<string, readonly string[]>,
  partitionCounts: ReadonlyMap<string, number>,
): Map<string, TopicAssignment[]> {
  const members = [...subscriptions.keys()].sort();
  const result = new Map<string, TopicAssignment[]>(members.map((m) => [m, []]));
  const topics = [...new Set([...subscriptions.values()].flat())].sort();
  for (const topic of topics) {
    const count = partitionCounts.get(topic);
    if (count === undefined) continue;
    const subscribers = members.filter((m) => subscriptions.get(m)?.includes(topic));
    if (subscribers.length === 0) continue;
    const byMember = new Map<string, number[]>();
    for (let partition = 0; partition < count; partition++) {
      const owner = subscribers[partition % subscribers.length]!;
      const owned = byMember.get(owner) ?? [];
      owned.push(partition);
      byMember.set(owner, owned);
    }
    for (const [owner, partitions] of byMember) result.get(owner)!.push({ topic, partitions });
  }
  return result;
}

/** The library's assigner hook over `copartitionedAssignment`; it runs on the group leader only. */
const copartitionedAssigner: GroupPartitionsAssigner = (_current, members, topics, metadata: ClusterMetadata) => {
  // A member's subscription lists its topics; the leader's own set stands in when one does not.
  const subscriptions = new Map([...members].map(([memberId, subscription]) => [memberId, subscription.topics ?? [...topics]] as const));
  const counts = new Map<string, number>();
  for (const topic of new Set([...subscriptions.values()].flat())) {
    const described = metadata.topics.get(topic);
    if (described) counts.set(topic, described.partitionsCount);
  }
  return [...copartitionedAssignment(subscriptions, counts)].map(([memberId, assigned]) => ({
    memberId,
    assignments: new Map(assigned.map((a) => [a.topic, { topic: a.topic, partitions: [...a.partitions] }] as const)),
  }));
};

/** Narrows the library's `GroupAssignment[]` (from the join event) into sorted, frozen data. */
function toAssignment(assignments: unknown): readonly TopicAssignment[] {
  if (!Array.isArray(assignments)) return [];
  const result: TopicAssignment[] = [];
  for (const entry of assignments as unknown[]) {
    if (typeof entry !== 'object' || entry === null) continue;
    const topic: unknown = Reflect.get(entry, 'topic');
    const partitions: unknown = Reflect.get(entry, 'partitions');
    if (typeof topic !== 'string' || !Array.isArray(partitions)) continue;
    const numbers = (partitions as unknown[]).filter((p): p is number => typeof p === 'number').sort((a, b) => a - b);
    if (numbers.length > 0) result.push(Object.freeze({ topic, partitions: Object.freeze(numbers) }));
  }
  return Object.freeze(result.sort((a, b) => a.topic.localeCompare(b.topic)));
}

export interface PartitionReaderOptions {
  readonly topic: string;
  /** Default: every partition of the topic (as it is when the reader first reads). */
  readonly partitions?: readonly number[];
  readonly clientSuffix?: string;
  /**
   * Upper bound of one fetch response (the broker still returns a larger first batch whole).
   * Default 512 KiB: the library's response parser gets slower per record as a response grows
   * (its chunked buffer scans its chunk list on every read), so on the local broker 512 KiB–1 MiB
   * restored 2× faster than 4 MiB and 3–4× faster than 16 MiB (bench/kafka-restore.ts).
   */
  readonly maxBytesPerFetch?: number;
}

/**
 * A group-less reader of some partitions of one topic, for restoring state and following small
 * tables. It reads read_committed (aborted transactions filtered, control records skipped) from
 * the earliest offset, never joins a group and never commits. Calls must not overlap.
 */
export interface PartitionReader {
  /**
   * Reads from the current position (at first, the earliest offset) up to the end offsets taken
   * when the call starts (read_committed: the last stable offset), one `onBatch` per fetch
   * response, awaited before the next is delivered; returns the number of records read.
   * When `onBatch` throws, the position is already past that batch: restore with a new reader.
   */
  readToEnd(onBatch: (records: readonly ConsumedRecord[]) => void | Promise<void>): Promise<number>;
  /** Records that arrived since the last read, waiting up to maxWaitMs when there are none. */
  poll(options?: PollOptions): Promise<readonly ConsumedRecord[]>;
  close(): Promise<void>;
}

const DEFAULT_READER_FETCH_BYTES = 512 * 1024;
const EARLIEST = -2n;
const LATEST = -1n;
/** Partition-level fetch errors that a metadata refresh (new leader or epoch) fixes. */
const LEADERSHIP_ERRORS = new Set(['NOT_LEADER_OR_FOLLOWER', 'FENCED_LEADER_EPOCH', 'UNKNOWN_LEADER_EPOCH', 'LEADER_NOT_AVAILABLE', 'UNKNOWN_TOPIC_OR_PARTITION']);

interface FetchRound {
  readonly records: ConsumedRecord[];
  /** The position after the last batch fetched from each partition that returned any. */
  readonly next: ReadonlyMap<number, bigint>;
}

/** A read_committed, group-less reader of one topic's partitions; see `PartitionReader`. */
export function createPartitionReader(kafka: KafkaSettings, options: PartitionReaderOptions): PartitionReader {
  const { topic } = options;
  const clientId = `${kafka.clientId}-${options.clientSuffix ?? 'reader'}`;
  const maxBytes = options.maxBytesPerFetch ?? DEFAULT_READER_FETCH_BYTES;
  const consumer = new Consumer({
    clientId,
    bootstrapBrokers: [...kafka.brokers],
    // Required by the library's options; the reader never joins, so no group is ever created.
    groupId: `${clientId}-groupless`,
    isolationLevel: FetchIsolationLevels.READ_COMMITTED,
    retries: 5,
    retryDelay: 250,
    ...connectionOptions(kafka),
  });
  const call = <T>(what: string, run: () => Promise<T>): Promise<T> => guard(kafka, `${what} ${topic}`, run);

  /** Next offset to fetch per partition; set on first use. */
  let positions: Map<number, bigint> | undefined;
  /** Records fetched by poll beyond its maxRecords, returned first by the next call. */
  let pending: ConsumedRecord[] = [];
  let busy = false;

  const metadataOf = async (refresh: boolean) => {
    const metadata = await consumer.metadata({ topics: [topic], forceUpdate: refresh });
    const described = metadata.topics.get(topic);
    if (!described) throw new DependencyError(`Kafka topic ${topic} has no metadata; does it exist?`, { retriable: false, details: { topic } });
    return described;
  };

  const offsetsAt = async (partitions: readonly number[], timestamp: bigint): Promise<Map<number, bigint>> => {
    const listed = await consumer.listOffsets({
      topics: [topic],
      partitions: { [topic]: [...partitions] },
      timestamp,
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
    });
    const offsets = listed.get(topic) ?? [];
    return new Map(partitions.map((p) => [p, offsets[p] ?? 0n] as const));
  };

  const start = async (): Promise<Map<number, bigint>> => {
    if (positions) return positions;
    const described = await metadataOf(true);
    const all = Array.from({ length: described.partitionsCount }, (_, i) => i);
    const wanted = options.partitions ? [...new Set(options.partitions)].sort((a, b) => a - b) : all;
    const missing = wanted.filter((p) => !Number.isInteger(p) || p < 0 || p >= described.partitionsCount);
    if (missing.length > 0) {
      throw new UsageError(`Kafka topic ${topic} has ${described.partitionsCount} partitions; cannot read partition ${missing.join(', ')}`);
    }
    positions = await offsetsAt(wanted, EARLIEST);
    return positions;
  };

  /** One fetch per leader of the given partitions, filtered and converted; positions are not moved. */
  const fetchRound = async (from: ReadonlyMap<number, bigint>, maxWaitMs: number, until?: ReadonlyMap<number, bigint>): Promise<FetchRound> => {
    for (let attempt = 0; ; attempt++) {
      try {
        const described = await metadataOf(attempt > 0);
        const byLeader = new Map<number, FetchRequestPartition[]>();
        for (const [partition, fetchOffset] of from) {
          const leader = described.partitions[partition]?.leader ?? -1;
          const requests = byLeader.get(leader) ?? [];
          // Epoch -1: no leader-epoch fencing, which a reader that restarts from offsets does not need.
          requests.push({ partition, fetchOffset, partitionMaxBytes: maxBytes, currentLeaderEpoch: -1, lastFetchedEpoch: -1 });
          byLeader.set(leader, requests);
        }
        const responses = await Promise.all(
          [...byLeader].map(([node, partitions]) =>
            consumer.fetch({
              node,
              topics: [{ topicId: described.id, partitions }],
              maxWaitTime: maxWaitMs,
              minBytes: 1,
              maxBytes,
              isolationLevel: FetchIsolationLevels.READ_COMMITTED,
            }),
          ),
        );
        const records: ConsumedRecord[] = [];
        const next = new Map<number, bigint>();
        for (const response of responses) {
          for (const partition of response.responses.flatMap((r) => r.partitions)) {
            const batches = partition.records;
            const last = batches?.[batches.length - 1];
            if (!batches || !last) continue;
            // Taken before the filter: a response may end inside an aborted transaction whose
            // batches the filter drops, and the position must still move past them.
            next.set(partition.partitionIndex, last.firstOffset + BigInt(last.lastOffsetDelta) + 1n);
          }
          dropAbortedBatches(response);
          for (const partition of response.responses.flatMap((r) => r.partitions)) {
            const index = partition.partitionIndex;
            appendRecords(records, topic, index, partition.records ?? [], from.get(index) ?? 0n, until?.get(index));
          }
        }
        return { records, next };
      } catch (error) {
        if (attempt >= 3 || !protocolErrorIds(error).some((id) => LEADERSHIP_ERRORS.has(id))) throw error;
        consumer.clearMetadata();
      }
    }
  };

  const exclusive = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
    if (busy) throw new UsageError(`partition reader of ${topic} is already reading; calls must not overlap`);
    busy = true;
    try {
      return await call(what, run);
    } finally {
      busy = false;
    }
  };

  return {
    readToEnd: (onBatch) =>
      exclusive('read to end of', async () => {
        const at = await start();
        const ends = await offsetsAt([...at.keys()], LATEST);
        let count = 0;
        if (pending.length > 0) {
          const buffered = pending;
          pending = [];
          count += buffered.length;
          await onBatch(buffered);
        }
        const open = (): Map<number, bigint> => new Map([...at].filter(([p, offset]) => offset < (ends.get(p) ?? 0n)));
        const advance = (round: FetchRound): void => {
          // Never beyond the captured end: what lies after it is for the next call.
          for (const [p, offset] of round.next) at.set(p, offset < (ends.get(p) ?? 0n) ? offset : (ends.get(p) ?? 0n));
        };
        let inflight: Promise<FetchRound> | undefined = open().size > 0 ? fetchRound(open(), 500, ends) : undefined;
        try {
          while (inflight) {
            const round = await inflight;
            advance(round);
            const remaining = open();
            // The next fetch runs while the caller handles this batch (at most two responses in memory).
            inflight = remaining.size > 0 ? fetchRound(remaining, 500, ends) : undefined;
            if (round.records.length > 0) {
              count += round.records.length;
              await onBatch(round.records);
            }
          }
        } finally {
          // onBatch threw with a fetch in flight: nobody awaits it any more.
          inflight?.catch(() => undefined);
        }
        return count;
      }),

    poll: (pollOptions = {}) =>
      exclusive('poll', async () => {
        const at = await start();
        const maxRecords = pollOptions.maxRecords ?? 5_000;
        if (pending.length === 0 && at.size > 0) {
          const round = await fetchRound(at, pollOptions.maxWaitMs ?? 100);
          for (const [p, offset] of round.next) at.set(p, offset);
          pending = round.records;
        }
        const out = pending.length <= maxRecords ? pending : pending.slice(0, maxRecords);
        pending = pending.length <= maxRecords ? [] : pending.slice(maxRecords);
        return out;
      }),

    close: () => consumer.close(),
  };
}

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * Appends the data records of fetched batches (already filtered of aborted transactions) with
 * offsets in [from, until): a fetch returns whole batches, so the first may start before the
 * requested offset, and a read to a captured end must not go past it. Control batches are skipped.
 */
function appendRecords(out: ConsumedRecord[], topic: string, partition: number, batches: readonly RecordsBatch[], from: bigint, until: bigint | undefined): void {
  for (const batch of batches) {
    if (batch.attributes & IS_CONTROL) continue;
    const lastOffset = batch.firstOffset + BigInt(batch.lastOffsetDelta);
    if (lastOffset < from) continue;
    if (until !== undefined && batch.firstOffset >= until) return;
    for (const record of batch.records) {
      const offset = batch.firstOffset + BigInt(record.offsetDelta);
      if (offset < from) continue;
      if (until !== undefined && offset >= until) return;
      let headers = NO_HEADERS;
      if (record.headers.length > 0) {
        const own: Record<string, string> = {};
        for (const [k, v] of record.headers) if (k !== null) own[k.toString('utf8')] = v === null ? '' : v.toString('utf8');
        headers = own;
      }
      out.push({
        topic,
        partition,
        offset,
        key: record.key,
        value: record.value,
        headers,
        timestamp: Number(batch.firstTimestamp + record.timestampDelta),
      });
    }
  }
}

/** The error for a broker that does not answer: exit code 3, retriable, with what to do. */
export function kafkaUnreachable(kafka: KafkaSettings, error: unknown): DependencyError {
  return new DependencyError(
    `Kafka at ${kafka.brokers.join(',')} is unreachable: ${messageOf(error)}; is it running? for the local stack run \`stream-migrate dev up\`, else check kafka.brokers`,
    { details: { service: 'kafka', brokers: kafka.brokers }, cause: error },
  );
}

/** Runs a library call, turning its errors into ours: network trouble is retriable, protocol refusals say what Kafka answered. */
async function guard<T>(kafka: KafkaSettings, what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof UsageError || error instanceof DependencyError) throw error;
    if (isNetworkError(error)) throw kafkaUnreachable(kafka, error);
    const protocol = protocolErrorIds(error);
    throw new DependencyError(`Kafka ${what} failed: ${protocol.length > 0 ? protocol.join(', ') : messageOf(error)}`, {
      retriable: protocol.some((id) => RETRIABLE_PROTOCOL_ERRORS.has(id)),
      details: { service: 'kafka', operation: what, protocolErrors: protocol },
      cause: error,
    });
  }
}

const RETRIABLE_PROTOCOL_ERRORS = new Set([
  'NOT_COORDINATOR',
  'COORDINATOR_NOT_AVAILABLE',
  'COORDINATOR_LOAD_IN_PROGRESS',
  'CONCURRENT_TRANSACTIONS',
  'LEADER_NOT_AVAILABLE',
  'NOT_LEADER_OR_FOLLOWER',
  'REBALANCE_IN_PROGRESS',
  'UNSTABLE_OFFSET_COMMIT',
  'REQUEST_TIMED_OUT',
]);

/** The Kafka protocol error names (e.g. PRODUCER_FENCED) found in a library error and its causes. */
export function protocolErrorIds(error: unknown, depth = 0): string[] {
  if (depth > 5 || typeof error !== 'object' || error === null) return [];
  const ids: string[] = [];
  const apiId: unknown = Reflect.get(error, 'apiId');
  if (typeof apiId === 'string') ids.push(apiId);
  const nested: unknown = Reflect.get(error, 'errors');
  if (Array.isArray(nested)) for (const e of nested) ids.push(...protocolErrorIds(e, depth + 1));
  const cause: unknown = Reflect.get(error, 'cause');
  if (cause !== undefined) ids.push(...protocolErrorIds(cause, depth + 1));
  return [...new Set(ids)];
}

function hasProtocolError(error: unknown, id: string): boolean {
  return protocolErrorIds(error).includes(id);
}

function isNetworkError(error: unknown, depth = 0): boolean {
  if (depth > 5 || typeof error !== 'object' || error === null) return false;
  const code: unknown = Reflect.get(error, 'code');
  if (code === 'PLT_KFK_NETWORK' || code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'ETIMEDOUT') return true;
  const nested: unknown = Reflect.get(error, 'errors');
  if (Array.isArray(nested) && nested.length > 0 && nested.every((e) => isNetworkError(e, depth + 1))) return true;
  const cause: unknown = Reflect.get(error, 'cause');
  return cause !== undefined && isNetworkError(cause, depth + 1);
}

/**
 * Splits a large send so no partition's batch in one produce request exceeds the broker's
 * default message.max.bytes (1 MiB): the library sends one batch per partition and does not
 * split. Records without an explicit partition count against their topic as a whole.
 */
export function chunksBySize(records: readonly OutgoingRecord[], maxBytesPerPartition = 900 * 1024): OutgoingRecord[][] {
  const chunks: OutgoingRecord[][] = [];
  let current: OutgoingRecord[] = [];
  let sizes = new Map<string, number>();
  for (const record of records) {
    const bytes = 70 + byteLength(record.key) + byteLength(record.value) + Object.entries(record.headers ?? {}).reduce((n, [k, v]) => n + k.length + v.length + 8, 0);
    const bucket = `${record.topic}\u0000${record.partition ?? '?'}`;
    const size = sizes.get(bucket) ?? 0;
    if (current.length > 0 && size + bytes > maxBytesPerPartition) {
      chunks.push(current);
      current = [];
      sizes = new Map();
    }
    current.push(record);
    sizes.set(bucket, (sizes.get(bucket) ?? 0) + bytes);
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

function byteLength(value: string | Buffer | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'string' ? Buffer.byteLength(value) : value.length;
}

function toBuffer(value: string | Buffer): Buffer {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
}

function toProduce(record: OutgoingRecord): MessageToProduce<Buffer, Buffer, Buffer, Buffer> {
  return {
    topic: record.topic,
    ...(record.key !== undefined && record.key !== null ? { key: toBuffer(record.key) } : {}),
    ...(record.value !== null ? { value: toBuffer(record.value) } : {}),
    ...(record.partition !== undefined ? { partition: record.partition } : {}),
    ...(record.headers
      ? { headers: new Map(Object.entries(record.headers).map(([k, v]) => [Buffer.from(k, 'utf8'), Buffer.from(v, 'utf8')] as const)) }
      : {}),
  };
}

function isBuffer(value: unknown): value is Buffer {
  return Buffer.isBuffer(value);
}

/** Narrows a message from the stream (typed by the library, checked here because it crosses into our types). */
function toConsumed(message: unknown): ConsumedRecord {
  if (typeof message !== 'object' || message === null) throw new TypeError('Kafka consumer returned a non-object message');
  const topic: unknown = Reflect.get(message, 'topic');
  const partition: unknown = Reflect.get(message, 'partition');
  const offset: unknown = Reflect.get(message, 'offset');
  const key: unknown = Reflect.get(message, 'key');
  const value: unknown = Reflect.get(message, 'value');
  const timestamp: unknown = Reflect.get(message, 'timestamp');
  const headers: unknown = Reflect.get(message, 'headers');
  if (typeof topic !== 'string' || typeof partition !== 'number' || typeof offset !== 'bigint') {
    throw new TypeError('Kafka consumer returned a message without topic, partition or offset');
  }
  const headerRecord: Record<string, string> = {};
  if (headers instanceof Map) {
    for (const [k, v] of headers) {
      if (isBuffer(k) || typeof k === 'string') headerRecord[k.toString()] = isBuffer(v) || typeof v === 'string' ? v.toString() : '';
    }
  }
  return {
    topic,
    partition,
    offset,
    key: isBuffer(key) ? key : null,
    value: isBuffer(value) ? value : null,
    headers: headerRecord,
    timestamp: typeof timestamp === 'bigint' ? Number(timestamp) : typeof timestamp === 'number' ? timestamp : 0,
  };
}

/** The group membership a message was fetched under (`metadata.consumer`, set by the library's stream). */
function groupOf(message: unknown): ConsumerGroupMetadata | null {
  const metadata: unknown = typeof message === 'object' && message !== null ? Reflect.get(message, 'metadata') : undefined;
  const c: unknown = typeof metadata === 'object' && metadata !== null ? Reflect.get(metadata, 'consumer') : undefined;
  if (typeof c !== 'object' || c === null) return null;
  const groupId: unknown = Reflect.get(c, 'groupId');
  const generationId: unknown = Reflect.get(c, 'generationId');
  const memberId: unknown = Reflect.get(c, 'memberId');
  const coordinatorId: unknown = Reflect.get(c, 'coordinatorId');
  if (typeof groupId !== 'string' || typeof generationId !== 'number' || typeof memberId !== 'string' || typeof coordinatorId !== 'number') {
    return null;
  }
  const group: ConsumerGroupMetadata = Object.freeze({ groupId, generationId, memberId, groupInstanceId: null });
  groupCoordinators.set(group, coordinatorId);
  return group;
}

const ABORT_MARKER = 0;

/**
 * Drops the records of aborted transactions from every fetch response, before the library's
 * stream turns them into messages. @platformatic/kafka 1.35's own read_committed filter keeps
 * one aborted range per producer id per response, so a producer that aborted twice (every
 * restarted worker does) has its earlier aborted records delivered. This is the algorithm of the
 * Java client: a producer's transactional batches are skipped from the first offset of one of its
 * aborted transactions until its abort marker. Control batches stay, so the stream still advances.
 */
function dropAbortedBatches(response: FetchResponse): void {
  for (const topic of response.responses) {
    for (const partition of topic.partitions) {
      if (!partition.records || partition.abortedTransactions.length === 0) continue;
      const pending = [...partition.abortedTransactions].sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0));
      const aborting = new Set<bigint>();
      partition.records = partition.records.filter((batch) => {
        const lastOffset = batch.firstOffset + BigInt(batch.lastOffsetDelta);
        while (pending.length > 0 && pending[0]!.firstOffset <= lastOffset) aborting.add(pending.shift()!.producerId);
        if (batch.attributes & IS_CONTROL) {
          if (batch.records[0]?.key?.readInt16BE(2) === ABORT_MARKER) aborting.delete(batch.producerId);
          return true;
        }
        return !((batch.attributes & IS_TRANSACTIONAL) !== 0 && aborting.has(batch.producerId));
      });
    }
  }
}

type FetchCallback = CallbackWithPromise<FetchResponse>;

/** Routes the consumer's fetches (its stream calls the public `fetch`) through `dropAbortedBatches`. */
function filterAbortedTransactions(consumer: Consumer): void {
  const original = consumer.fetch.bind(consumer) as (options: FetchOptions<Buffer, Buffer, Buffer, Buffer>, callback: FetchCallback) => void;
  const patched = (options: FetchOptions<Buffer, Buffer, Buffer, Buffer>, callback?: FetchCallback): void | Promise<FetchResponse> => {
    if (!callback) {
      return new Promise<FetchResponse>((resolve, reject) => {
        patched(options, (error, response) => (error ? reject(error) : resolve(response as FetchResponse)));
      });
    }
    original(options, (error, response) => {
      if (!error && response) dropAbortedBatches(response);
      callback(error, response as FetchResponse);
    });
  };
  // An own property shadows the prototype method for this instance only.
  Object.defineProperty(consumer, 'fetch', { value: patched, writable: true, configurable: true });
}
