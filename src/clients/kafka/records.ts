/** The records and positions that cross the adapter's boundary, and their conversion from and to the library's. */
import type { MessageToProduce } from '@platformatic/kafka';

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

/** The one key of a topic's partition in maps of offsets and positions: `topic\0partition`. */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
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
  /**
   * Once a record has been read, returns when nothing more arrives for this long instead of
   * waiting out `maxWaitMs` (a latency-bound reader). Default: wait out `maxWaitMs`.
   */
  readonly lingerMs?: number;
}

/**
 * A record as the library's producer takes it. Keys and values stay strings where the partition is
 * given: the one-buffer Produce encoder (produce-request.ts) writes them as UTF-8 straight into the
 * request, instead of a Buffer made per key and per value first (four or five per processed record).
 * A record without a partition has its key as bytes, which the library's partitioner hashes.
 */
export type ProducedMessage = MessageToProduce<Buffer | string | null, Buffer | string | null, Buffer, Buffer> & { readonly headers?: Map<Buffer, Buffer> };

/**
 * A record as the producer takes it. A record with a partition and no headers is that already (the
 * processor's ~4 output records per input record): it is passed on as it is, not copied. A null key
 * or value is written as absent (a null value is a tombstone).
 */
export function toProduce(record: OutgoingRecord): ProducedMessage {
  if (record.partition !== undefined && record.headers === undefined) return record as ProducedMessage;
  const key = record.key ?? undefined;
  return {
    topic: record.topic,
    key: record.partition === undefined && typeof key === 'string' ? Buffer.from(key, 'utf8') : key,
    value: record.value ?? undefined,
    partition: record.partition,
    headers: record.headers ? new Map(Object.entries(record.headers).map(([k, v]) => [Buffer.from(k, 'utf8'), Buffer.from(v, 'utf8')] as const)) : undefined,
  };
}

/** The headers of a record without any: one shared frozen object, not a new one per consumed record. */
export const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** A consumed record's headers as strings (a value-less header reads as ''; a key-less one is dropped). */
export function headersOf(entries: Iterable<readonly [unknown, unknown]>): Readonly<Record<string, string>> {
  const own: Record<string, string> = {};
  for (const [k, v] of entries) {
    if (isBuffer(k) || typeof k === 'string') own[k.toString('utf8')] = isBuffer(v) || typeof v === 'string' ? v.toString('utf8') : '';
  }
  return own;
}

function isBuffer(value: unknown): value is Buffer {
  return Buffer.isBuffer(value);
}

/** Narrows a message from the stream (typed by the library, checked here because it crosses into our types). */
export function toConsumed(message: unknown): ConsumedRecord {
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
  return {
    topic,
    partition,
    offset,
    key: isBuffer(key) ? key : null,
    value: isBuffer(value) ? value : null,
    headers: headers instanceof Map && headers.size > 0 ? headersOf(headers) : NO_HEADERS,
    timestamp: typeof timestamp === 'bigint' ? Number(timestamp) : typeof timestamp === 'number' ? timestamp : 0,
  };
}

