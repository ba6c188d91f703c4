import { Consumer, FetchIsolationLevels, IS_CONTROL, type fetchV17, type RecordsBatch } from '@platformatic/kafka';
import { DependencyError, UsageError } from '../../core/errors.ts';
import { guard, protocolErrorIds } from './errors.ts';
import { filterFetchResponse, keepReadCommittedFilterOurs } from './library-patches.ts';
import { headersOf, NO_HEADERS, type ConsumedRecord, type PollOptions } from './records.ts';
import { connectionOptions, type KafkaSettings } from './settings.ts';

type FetchRequestPartition = fetchV17.FetchRequestPartition;

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
  keepReadCommittedFilterOurs(consumer);
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
          filterFetchResponse(response);
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
      out.push({
        topic,
        partition,
        offset,
        key: record.key,
        value: record.value,
        headers: record.headers.length > 0 ? headersOf(record.headers) : NO_HEADERS,
        timestamp: Number(batch.firstTimestamp + record.timestampDelta),
      });
    }
  }
}
