/**
 * A Produce request (version 11) encoded into ONE buffer whose size is computed first.
 *
 * The library builds each record as a list of small buffers (a `Buffer.allocUnsafe` per varint and
 * per int8, the length prepended), joins a batch's lists, then joins them again for the CRC: that
 * was ~60% of everything a processor worker allocated, and most of the young-generation collections
 * (docs/decisions/processor-performance.md). The bytes written here are the library's, byte for
 * byte (produce-request.test.ts compares them with the library's own `createRequest`), and the
 * broker checks every batch's CRC on arrival.
 *
 * Pure: no I/O; the CRC32C implementation is passed in.
 */

/** The fields of a message this encoder reads, as the library's producer hands them to the Produce API. */
export interface EncodableMessage {
  readonly topic: string;
  readonly partition?: number;
  /** Strings are written as UTF-8. */
  readonly key?: Buffer | string | null;
  readonly value?: Buffer | string | null;
  readonly headers?: ReadonlyMap<Buffer, Buffer>;
  readonly timestamp?: bigint | number;
}

/** The producer state the library passes with each Produce call (the subset this encoder reads). */
export interface ProduceRequestOptions {
  readonly transactionalId?: string | null;
  readonly producerId?: bigint;
  readonly producerEpoch?: number;
  /** The first sequence number of each partition's batch. Absent: not idempotent, sequence 0. */
  readonly firstSequence?: (topic: string, partition: number) => number;
  readonly partitionLeaderEpoch?: number;
}

export type Crc32c = (bytes: Uint8Array) => number;

/** Record batch attribute: the batch belongs to a transaction. */
const IS_TRANSACTIONAL = 1 << 4;
const RECORD_BATCH_MAGIC = 2;
/** baseOffset(8) length(4) partitionLeaderEpoch(4) magic(1) crc(4). */
const BATCH_PREFIX = 21;
/** attributes(2) lastOffsetDelta(4) firstTimestamp(8) maxTimestamp(8) producerId(8) producerEpoch(2) baseSequence(4) records count(4): the CRC covers these and the records. */
const BATCH_HEADER_AFTER_CRC = 40;

/** Bytes of an unsigned varint. */
function unsignedVarIntSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

/** Bytes of a signed (zigzag) varint; values within ±2^52 (record fields are far smaller). */
function varIntSize(value: number): number {
  return unsignedVarIntSize(value >= 0 ? value * 2 : -value * 2 - 1);
}

function writeUnsignedVarInt(buffer: Buffer, offset: number, value: number): number {
  while (value >= 0x80) {
    buffer[offset++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  buffer[offset++] = value;
  return offset;
}

function writeVarInt(buffer: Buffer, offset: number, value: number): number {
  return writeUnsignedVarInt(buffer, offset, value >= 0 ? value * 2 : -value * 2 - 1);
}

/** The UTF-8 length of a key or value, -1 for none (the wire's null). */
export function dataLength(data: Buffer | string | null | undefined): number {
  if (data === null || data === undefined) return -1;
  return typeof data === 'string' ? Buffer.byteLength(data, 'utf8') : data.length;
}

/** A record's bytes after its own length prefix. */
function recordBodySize(message: EncodableMessage, keyBytes: number, valueBytes: number, timestampDelta: number, offsetDelta: number): number {
  let size = 1 + varIntSize(timestampDelta) + varIntSize(offsetDelta);
  size += keyBytes < 0 ? 1 : varIntSize(keyBytes) + keyBytes;
  size += valueBytes < 0 ? 1 : varIntSize(valueBytes) + valueBytes;
  const headers = message.headers;
  size += varIntSize(headers ? headers.size : 0);
  if (headers) for (const [k, v] of headers) size += varIntSize(k.length) + k.length + varIntSize(v.length) + v.length;
  return size;
}

/** A key, value or header part of `length` bytes (measured by `dataLength`), strings as UTF-8. */
function writeData(buffer: Buffer, offset: number, data: Buffer | string | null | undefined, length: number): number {
  offset = writeVarInt(buffer, offset, length);
  if (length <= 0 || data === null || data === undefined) return offset;
  if (typeof data === 'string') buffer.write(data, offset, length, 'utf8');
  else data.copy(buffer, offset);
  return offset + length;
}

function timestampOf(message: EncodableMessage, now: number): number {
  const ts = message.timestamp;
  return ts === undefined ? now : Number(ts);
}

/** One partition's messages with what its batch needs, measured before anything is written. */
interface PartitionBatch {
  readonly partition: number;
  readonly messages: EncodableMessage[];
  firstTimestamp: number;
  maxTimestamp: number;
  /** Each record's body size, key and value lengths (-1: none), in message order. */
  bodySizes: number[];
  keyBytes: number[];
  valueBytes: number[];
  /** The whole batch, baseOffset included. */
  batchSize: number;
}

/**
 * Messages grouped the way the library groups them: topics in the order first seen, partitions in
 * ascending order (it groups through object keys, which order integers), messages in order.
 */
function groupMessages(messages: readonly EncodableMessage[]): Map<string, PartitionBatch[]> {
  const byTopic = new Map<string, Map<number, PartitionBatch>>();
  for (const message of messages) {
    let partitions = byTopic.get(message.topic);
    if (!partitions) byTopic.set(message.topic, (partitions = new Map()));
    const partition = message.partition ?? 0;
    let batch = partitions.get(partition);
    if (!batch) partitions.set(partition, (batch = { partition, messages: [], firstTimestamp: 0, maxTimestamp: 0, bodySizes: [], keyBytes: [], valueBytes: [], batchSize: 0 }));
    batch.messages.push(message);
  }
  const grouped = new Map<string, PartitionBatch[]>();
  for (const [topic, partitions] of byTopic) grouped.set(topic, [...partitions.values()].sort((a, b) => a.partition - b.partition));
  return grouped;
}

function measureBatch(batch: PartitionBatch, now: number): void {
  const first = timestampOf(batch.messages[0] as EncodableMessage, now);
  let max = first;
  let size = BATCH_PREFIX + BATCH_HEADER_AFTER_CRC;
  for (let i = 0; i < batch.messages.length; i++) {
    const message = batch.messages[i] as EncodableMessage;
    const ts = timestampOf(message, now);
    if (ts > max) max = ts;
    const keyBytes = dataLength(message.key);
    const valueBytes = dataLength(message.value);
    const body = recordBodySize(message, keyBytes, valueBytes, ts - first, i);
    batch.bodySizes.push(body);
    batch.keyBytes.push(keyBytes);
    batch.valueBytes.push(valueBytes);
    size += varIntSize(body) + body;
  }
  batch.firstTimestamp = first;
  batch.maxTimestamp = max;
  batch.batchSize = size;
}

function writeBatch(buffer: Buffer, start: number, topic: string, batch: PartitionBatch, options: ProduceRequestOptions, now: number, crc32c: Crc32c): number {
  let offset = start;
  buffer.writeBigInt64BE(0n, offset); // baseOffset: the broker assigns it
  buffer.writeInt32BE(batch.batchSize - 12, offset + 8); // length: everything after itself
  buffer.writeInt32BE(options.partitionLeaderEpoch ?? 0, offset + 12);
  buffer.writeInt8(RECORD_BATCH_MAGIC, offset + 16);
  const crcAt = offset + 17;
  offset += BATCH_PREFIX;
  const crcFrom = offset;
  buffer.writeInt16BE(options.transactionalId ? IS_TRANSACTIONAL : 0, offset);
  buffer.writeInt32BE(batch.messages.length - 1, offset + 2);
  buffer.writeBigInt64BE(BigInt(batch.firstTimestamp), offset + 6);
  buffer.writeBigInt64BE(BigInt(batch.maxTimestamp), offset + 14);
  buffer.writeBigInt64BE(options.producerId ?? -1n, offset + 22);
  buffer.writeInt16BE(options.producerEpoch ?? 0, offset + 30);
  buffer.writeInt32BE(options.firstSequence?.(topic, batch.partition) ?? 0, offset + 32);
  buffer.writeInt32BE(batch.messages.length, offset + 36);
  offset += BATCH_HEADER_AFTER_CRC;
  for (let i = 0; i < batch.messages.length; i++) {
    const message = batch.messages[i] as EncodableMessage;
    offset = writeVarInt(buffer, offset, batch.bodySizes[i] as number);
    buffer[offset++] = 0; // record attributes: unused
    offset = writeVarInt(buffer, offset, timestampOf(message, now) - batch.firstTimestamp);
    offset = writeVarInt(buffer, offset, i);
    offset = writeData(buffer, offset, message.key, batch.keyBytes[i] as number);
    offset = writeData(buffer, offset, message.value, batch.valueBytes[i] as number);
    const headers = message.headers;
    offset = writeVarInt(buffer, offset, headers ? headers.size : 0);
    if (headers) {
      for (const [k, v] of headers) {
        offset = writeData(buffer, offset, k, k.length);
        offset = writeData(buffer, offset, v, v.length);
      }
    }
  }
  buffer.writeUInt32BE(crc32c(buffer.subarray(crcFrom, offset)), crcAt);
  return offset;
}

/**
 * The Produce v11 request body (what follows the request header): transactional id, acks, timeout,
 * then per topic and partition one record batch. `now` stamps messages without a timestamp.
 */
export function encodeProduceRequest(acks: number, timeoutMs: number, messages: readonly EncodableMessage[], options: ProduceRequestOptions, crc32c: Crc32c, now = Date.now()): Buffer {
  const grouped = groupMessages(messages);
  const transactionalId = options.transactionalId == null ? null : Buffer.from(options.transactionalId, 'utf8');
  // COMPACT_NULLABLE_STRING, acks, timeout, topic array length, trailing tagged fields.
  let size = (transactionalId ? unsignedVarIntSize(transactionalId.length + 1) + transactionalId.length : 1) + 2 + 4 + unsignedVarIntSize(grouped.size + 1) + 1;
  const topicNames = new Map<string, Buffer>();
  for (const [topic, batches] of grouped) {
    const name = Buffer.from(topic, 'utf8');
    topicNames.set(topic, name);
    // name, partition array length, the topic's tagged fields
    size += unsignedVarIntSize(name.length + 1) + name.length + unsignedVarIntSize(batches.length + 1) + 1;
    for (const batch of batches) {
      measureBatch(batch, now);
      // index, COMPACT_RECORDS length, the batch, the partition's tagged fields
      size += 4 + unsignedVarIntSize(batch.batchSize + 1) + batch.batchSize + 1;
    }
  }

  const buffer = Buffer.allocUnsafe(size);
  let offset = 0;
  if (transactionalId) {
    offset = writeUnsignedVarInt(buffer, offset, transactionalId.length + 1);
    offset += transactionalId.copy(buffer, offset);
  } else {
    buffer[offset++] = 0;
  }
  buffer.writeInt16BE(acks, offset);
  buffer.writeInt32BE(timeoutMs, offset + 2);
  offset = writeUnsignedVarInt(buffer, offset + 6, grouped.size + 1);
  for (const [topic, batches] of grouped) {
    const name = topicNames.get(topic) as Buffer;
    offset = writeUnsignedVarInt(buffer, offset, name.length + 1);
    offset += name.copy(buffer, offset);
    offset = writeUnsignedVarInt(buffer, offset, batches.length + 1);
    for (const batch of batches) {
      buffer.writeInt32BE(batch.partition, offset);
      offset = writeUnsignedVarInt(buffer, offset + 4, batch.batchSize + 1);
      offset = writeBatch(buffer, offset, topic, batch, options, now, crc32c);
      buffer[offset++] = 0; // partition tagged fields
    }
    buffer[offset++] = 0; // topic tagged fields
  }
  buffer[offset++] = 0; // request tagged fields
  if (offset !== size) throw new Error(`produce request encoder wrote ${offset} bytes, measured ${size}`);
  return buffer;
}

const MAX_SEQUENCE = 2_147_483_647;

/**
 * The idempotent producer's sequence numbers: per partition, the first sequence of the next batch.
 * They count per producer id and epoch (a new epoch starts every partition at 0 again) and wrap
 * past 2^31 - 1 to 0, as the broker expects.
 */
export class PartitionSequences {
  #producer = '';
  /** topic → next sequence by partition. */
  #next = new Map<string, number[]>();

  /** Reserves `count` sequences of a partition for `producerId`/`producerEpoch`; returns the first. */
  take(producerId: bigint, producerEpoch: number, topic: string, partition: number, count: number): number {
    const producer = `${producerId}/${producerEpoch}`;
    if (producer !== this.#producer) {
      this.#producer = producer;
      this.#next.clear();
    }
    let byPartition = this.#next.get(topic);
    if (!byPartition) this.#next.set(topic, (byPartition = []));
    const first = byPartition[partition] ?? 0;
    byPartition[partition] = first > MAX_SEQUENCE - count ? count - (MAX_SEQUENCE - first) - 1 : first + count;
    return first;
  }
}
