import { Admin, Consumer, FetchIsolationLevels, type MessagesStream } from '@platformatic/kafka';
import { copartitionedAssigner, toAssignment } from './assignor.ts';
import { guard } from './errors.ts';
import { filterAbortedTransactions, readCommittedOffsetsStably } from './library-patches.ts';
import { FetchPositions } from './positions.ts';
import { partitionKey, toConsumed, type CommitOffset, type ConsumedRecord, type ConsumerGroupMetadata, type PollOptions, type TopicAssignment } from './records.ts';
import { connectionOptions, type KafkaSettings } from './settings.ts';

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
  /**
   * How long a newly assigned partition may wait for a pending transaction that commits offsets
   * for it (committed offsets are read with require_stable). Default 60 000, the producers'
   * default transaction timeout, after which the coordinator aborts that transaction anyway.
   */
  readonly stableOffsetsMaxWaitMs?: number;
  /**
   * How many fetched records the consumer buffers before it stops fetching. Default 1 024 (the
   * library's); a worker that polls thousands at a time sets it above its poll size, so the next
   * batch is fetched while it processes and commits the current one.
   */
  readonly bufferedRecords?: number;
}

/**
 * A group consumer that reads only committed records (read_committed), starts from the earliest
 * offset when the group has none, and never commits on its own.
 */
export interface KafkaConsumer {
  poll(options?: PollOptions): Promise<ConsumedBatch>;
  /**
   * Joins the group without taking records: resolves once the member has its first assignment,
   * while the first batch is fetched into the buffer. A worker restores state in the meantime,
   * instead of holding a polled batch (and the time to fetch it) before it can start restoring.
   */
  join(): Promise<void>;
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
  /**
   * Drops every record fetched and not yet returned, and reads each assigned partition from the
   * group's committed offset again, without leaving the group: a new stream is opened before the
   * old one closes, so the subscription never empties (the library would rejoin, and a member
   * that leaves and rejoins starts a rebalance in every other member: a storm with several workers).
   */
  rewind(): Promise<void>;
  /** Stops fetching; records already buffered are still returned by poll. */
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}

/** Which group coordinator a batch's metadata belongs to; kept out of the public shape. */
const groupCoordinators = new WeakMap<ConsumerGroupMetadata, number>();

/** The coordinator of a batch's group metadata; undefined when the metadata did not come from `poll`. */
export function coordinatorOf(group: ConsumerGroupMetadata): number | undefined {
  return groupCoordinators.get(group);
}

/**
 * Bytes one fetch may bring, in all and per partition. The library's defaults (50 MiB each) let
 * one fetch carry the whole backlog of the first partitions it lists: measured on the processor
 * bench, the worker read 375 000 CDC records before its first repartition record (stage 2 waited
 * for stage 1 to finish), holding ~150 000 decoded records at once. The Java consumer's 1 MiB per
 * partition is the model, scaled to a buffer of a few thousand records.
 */
const FETCH_MAX_BYTES = 4 * 1024 * 1024;
const FETCH_MAX_BYTES_PER_PARTITION = 512 * 1024;

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
    maxBytes: FETCH_MAX_BYTES,
    maxBytesPerPartition: FETCH_MAX_BYTES_PER_PARTITION,
    ...(options.bufferedRecords ? { highWaterMark: options.bufferedRecords } : {}),
    autocommit: false,
    retries: 5,
    retryDelay: 250,
    ...(options.copartitioned ? { partitionAssigner: copartitionedAssigner } : {}),
    ...connectionOptions(kafka),
  });
  // Where each partition may be committed past abort markers (see FetchPositions); fetch
  // responses name topics by id, resolved through the metadata read when the stream opens.
  const positions = new FetchPositions();
  const topicNames = new Map<string, string>();
  // Bumped by a rewind before and after the old stream closes: a response to a fetch sent in
  // another epoch may come from that stream, which had read further than the new session.
  let epoch = 0;
  filterAbortedTransactions(consumer, () => {
    const sentIn = epoch;
    return (fetched) => {
      if (sentIn !== epoch) return;
      for (const f of fetched) {
        const topic = topicNames.get(f.topicId);
        if (topic !== undefined) positions.fetchedFrom(partitionKey(topic, f.partition), f.requestedFrom, f);
      }
    };
  });
  // Committed offsets are read with require_stable through an admin client of its own, made on
  // the first join: a partition waits for its previous owner's pending transaction (KIP-447).
  let admin: Admin | undefined;
  readCommittedOffsetsStably(
    consumer,
    () => (admin ??= new Admin({ clientId: `${kafka.clientId}-${options.clientSuffix ?? 'consumer'}-offsets`, bootstrapBrokers: [...kafka.brokers], retries: 3, retryDelay: 250, ...connectionOptions(kafka) })),
    options.stableOffsetsMaxWaitMs ?? 60_000,
    (committed) => {
      for (const [topic, byPartition] of committed) byPartition.forEach((offset, partition) => positions.started(partitionKey(topic, partition), offset));
    },
  );

  // The library sets `generationId` at JoinGroup and `assignments` only after SyncGroup; the join
  // event carries both, so the pair read here is always consistent.
  let membership: { readonly generation: number; readonly assignment: readonly TopicAssignment[] } | null = null;
  consumer.on('consumer:group:join', (payload) => {
    if (typeof payload.generationId === 'number') membership = { generation: payload.generationId, assignment: toAssignment(payload.assignments) };
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

  const groups = new MessageGroups();
  let stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const open = async (): Promise<MessagesStream<Buffer, Buffer, Buffer, Buffer>> => {
    if (stream) return stream;
    if (topicNames.size < options.topics.length) {
      const metadata = await consumer.metadata({ topics: [...options.topics] });
      for (const [name, topic] of metadata.topics) topicNames.set(topic.id, name);
    }
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
        // The last record of each partition, by topic then partition: what to commit after it.
        const last = new Map<string, Map<number, ConsumedRecord>>();
        let group: ConsumerGroupMetadata | null = null;
        while (records.length < maxRecords) {
          if (failure !== undefined) throw failure;
          const message: unknown = source.read();
          if (message !== null) {
            const record = toConsumed(message);
            records.push(record);
            const byPartition = last.get(record.topic);
            if (byPartition) byPartition.set(record.partition, record);
            else last.set(record.topic, new Map([[record.partition, record]]));
            group = groups.of(message) ?? group;
            continue;
          }
          const now = Date.now();
          const remaining = Math.min(deadline, records.length > 0 && pollOptions.lingerMs !== undefined ? now + pollOptions.lingerMs : deadline) - now;
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
        const next = new Map<string, CommitOffset>();
        for (const [topic, byPartition] of last) {
          for (const [partition, record] of byPartition) {
            const key = partitionKey(topic, partition);
            next.set(key, { topic, partition, offset: record.offset + 1n });
            positions.delivered(key, record.offset + 1n);
          }
        }
        // Partitions fully delivered whose fetch position lies past their last record (abort markers, aborted transactions).
        const assigned = (membership?.assignment ?? []).flatMap((a) => a.partitions.map((partition) => partitionKey(a.topic, partition)));
        for (const { key, offset } of positions.advanced(assigned)) {
          const [topic = '', partition = '0'] = key.split('\u0000');
          next.set(key, { topic, partition: Number(partition), offset });
        }
        return { records, group: group ?? currentGroup(), nextOffsets: [...next.values()] };
      }),
    join: () =>
      guard(kafka, `join group ${options.groupId}`, async () => {
        await open();
        // consume() resolves after the join; a rebalance already under way may still hold the assignment back.
        const deadline = Date.now() + (options.rebalanceTimeoutMs ?? 30_000);
        while (membership === null && failure === undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
        if (failure !== undefined) throw failure;
        if (membership === null) throw new Error(`no assignment from group ${options.groupId} within the rebalance timeout`);
      }),
    commit: (offsets) =>
      guard(kafka, `commit offsets of group ${options.groupId}`, () =>
        consumer.commit({ offsets: offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset, leaderEpoch: -1 })) }),
      ),
    assignment: () => membership?.assignment ?? [],
    generation: () => membership?.generation ?? null,
    rewind: () =>
      guard(kafka, `rewind ${options.topics.join(',')}`, async () => {
        const old = stream;
        if (!old) return;
        stream = undefined;
        failure = undefined;
        positions.clear();
        epoch++;
        await open();
        await old.close().catch(() => undefined);
        epoch++;
      }),
    pause: () => void stream?.pause(),
    resume: () => void stream?.resume(),
    async close() {
      await stream?.close().catch(() => undefined);
      await consumer.close(true);
      await admin?.close().catch(() => undefined);
    },
  };
}

/**
 * The group membership a message was fetched under (`metadata.consumer`, set by the library's
 * stream). The same membership object is handed out until it changes: one per record cost
 * allocations on the hottest path.
 */
class MessageGroups {
  private current: ConsumerGroupMetadata | null = null;
  private currentCoordinator = -1;

  of(message: unknown): ConsumerGroupMetadata | null {
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
    const known = this.current;
    if (known && known.groupId === groupId && known.generationId === generationId && known.memberId === memberId && this.currentCoordinator === coordinatorId) return known;
    const group: ConsumerGroupMetadata = Object.freeze({ groupId, generationId, memberId, groupInstanceId: null });
    groupCoordinators.set(group, coordinatorId);
    this.current = group;
    this.currentCoordinator = coordinatorId;
    return group;
  }
}
