import type { ProducedMessage } from './records.ts';

/**
 * Splits a large send so no partition's batch in one produce request exceeds the broker's
 * default message.max.bytes (1 MiB): the library (2.12.1 as 1.x) sends one batch per partition
 * and does not split. Messages without an explicit partition count against their topic as a whole.
 * Pure; a single message larger than the limit still goes alone in its chunk. Works on messages
 * already encoded to bytes, so each string is converted to UTF-8 once (it was measured, then
 * converted again: two passes over every output record).
 */
export function chunksBySize(messages: readonly ProducedMessage[], maxBytesPerPartition = 900 * 1024): ProducedMessage[][] {
  if (messages.length === 0) return [];
  const sizes = messages.map(messageBytes);
  let total = 0;
  for (const size of sizes) total += size;
  // No partition can hold more than the whole send: most sends are one chunk, with no bookkeeping.
  if (total <= maxBytesPerPartition) return [[...messages]];
  const chunks: ProducedMessage[][] = [];
  let current: ProducedMessage[] = [];
  let used = new Map<string, number>();
  messages.forEach((message, i) => {
    const bytes = sizes[i] ?? 0;
    const bucket = message.partition === undefined ? message.topic : `${message.topic}\u0000${message.partition}`;
    if (current.length > 0 && (used.get(bucket) ?? 0) + bytes > maxBytesPerPartition) {
      chunks.push(current);
      current = [];
      used = new Map();
    }
    current.push(message);
    used.set(bucket, (used.get(bucket) ?? 0) + bytes);
  });
  chunks.push(current);
  return chunks;
}

/** An upper estimate of a message's size in a v2 batch (70 bytes of framing covers its varints and attributes). */
export function messageBytes(message: ProducedMessage): number {
  let bytes = 70 + (message.key?.length ?? 0) + (message.value?.length ?? 0);
  if (message.headers) for (const [k, v] of message.headers) bytes += k.length + v.length + 8;
  return bytes;
}
