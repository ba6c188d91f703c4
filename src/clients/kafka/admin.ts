import { Admin, ConfigResourceTypes, ConfigSources, FetchIsolationLevels, IncrementalAlterConfigOperationTypes, ListOffsetTimestamps, type FetchIsolationLevelValue } from '@platformatic/kafka';
import { DependencyError, UsageError } from '../../core/errors.ts';
import { guard, hasProtocolError, kafkaUnreachable } from './errors.ts';
import { stableCommittedOffsets } from './library-patches.ts';
import { partitionKey } from './records.ts';
import { connectionOptions, type KafkaSettings } from './settings.ts';

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
  /**
   * The group's committed offsets of the given partitions, `topic\0partition` → next offset (absent:
   * none), read with require_stable: a partition whose offsets a transaction is still committing
   * waits for it (at most maxWaitMs) instead of answering the older offset, as groupLag would.
   */
  stableCommittedOffsets(groupId: string, topics: readonly string[], partitions: readonly number[], maxWaitMs: number): Promise<Map<string, bigint>>;
  listGroups(): Promise<readonly GroupSummary[]>;
}

export interface KafkaAdmin extends TopicAdmin {
  /** A metadata request: proves a broker answers the Kafka protocol, not only TCP. */
  cluster(): Promise<ClusterSummary>;
  close(): Promise<void>;
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

    stableCommittedOffsets: (groupId, topics, partitions, maxWaitMs) =>
      call('read group offsets', async () => {
        const committed = new Map<string, bigint>();
        if (topics.length === 0 || partitions.length === 0) return committed;
        const read = await stableCommittedOffsets(admin, groupId, { topics: topics.map((topic) => ({ topic, partitions: [...partitions] })) }, maxWaitMs);
        for (const [topic, byPartition] of read) byPartition.forEach((offset, partition) => offset >= 0n && committed.set(partitionKey(topic, partition), offset));
        return committed;
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
