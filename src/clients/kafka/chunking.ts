import { dataLength } from './produce-request.ts';
import type { ProducedMessage } from './records.ts';

/**
 * Splits a large send so no partition's batch in one produce request exceeds the broker's
 * default message.max.bytes (1 MiB): the library (2.12.1 as 1.x) sends one batch per partition
 * and does not split. Messages without an explicit partition count against their topic as a whole.
 * Pure: a send that fits is returned whole as the one chunk; a single message larger than the limit
 * still goes alone in its chunk. Keys and values that are strings count by their UTF-8 length; they
 * stay strings until the Produce encoder writes them (produce-request.ts).
 */
export function chunksBySize(messages: ProducedMessage[], maxBytesPerPartition = 900 * 1024): ProducedMessage[][] {
  if (messages.length === 0) return [];
  // No partition can hold more than the whole send: most sends are one chunk, with no bookkeeping.
  // Measured only up to the limit, so a large send measures twice at most one chunk's worth.
  let total = 0;
  for (const message of messages) {
    total += messageBytes(message);
    if (total > maxBytesPerPartition) break;
  }
  if (total <= maxBytesPerPartition) return [messages];
  const chunks: ProducedMessage[][] = [];
  let current: ProducedMessage[] = [];
  // Bytes per topic and partition in the current chunk; index 0 holds the messages without a partition.
  let used = new Map<string, number[]>();
  for (const message of messages) {
    const bytes = messageBytes(message);
    const slot = message.partition === undefined ? 0 : message.partition + 1;
    let byPartition = used.get(message.topic);
    if (current.length > 0 && (byPartition?.[slot] ?? 0) + bytes > maxBytesPerPartition) {
      chunks.push(current);
      current = [];
      used = new Map();
      byPartition = undefined;
    }
    if (!byPartition) used.set(message.topic, (byPartition = []));
    current.push(message);
    byPartition[slot] = (byPartition[slot] ?? 0) + bytes;
  }
  chunks.push(current);
  return chunks;
}

/** An upper estimate of a message's size in a v2 batch (70 bytes of framing covers its varints and attributes). */
export function messageBytes(message: ProducedMessage): number {
  let bytes = 70 + Math.max(0, dataLength(message.key)) + Math.max(0, dataLength(message.value));
  if (message.headers) for (const [k, v] of message.headers) bytes += k.length + v.length + 8;
  return bytes;
}
