import type { OutgoingRecord } from './records.ts';

/**
 * Splits a large send so no partition's batch in one produce request exceeds the broker's
 * default message.max.bytes (1 MiB): the library (2.12.1 as 1.x) sends one batch per partition
 * and does not split. Records without an explicit partition count against their topic as a whole.
 * Pure; a single record larger than the limit still goes alone in its chunk.
 */
export function chunksBySize(records: readonly OutgoingRecord[], maxBytesPerPartition = 900 * 1024): OutgoingRecord[][] {
  const chunks: OutgoingRecord[][] = [];
  let current: OutgoingRecord[] = [];
  let sizes = new Map<string, number>();
  for (const record of records) {
    const bytes = recordBytes(record);
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

/** An upper estimate of a record's size in a v2 batch (70 bytes of framing covers its varints and attributes). */
export function recordBytes(record: OutgoingRecord): number {
  const headers = record.headers ? Object.entries(record.headers).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v) + 8, 0) : 0;
  return 70 + byteLength(record.key) + byteLength(record.value) + headers;
}

function byteLength(value: string | Buffer | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'string' ? Buffer.byteLength(value) : value.length;
}
