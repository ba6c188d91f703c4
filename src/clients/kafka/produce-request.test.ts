import { crc32c, NumericMap, produceV11, Reader, readRecordsBatch } from '@platformatic/kafka';
import { describe, expect, it } from 'vitest';
import { encodeProduceRequest, PartitionSequences, type EncodableMessage } from './produce-request.ts';

const NOW = 1_764_500_000_123;
const bytes = (text: string) => Buffer.from(text, 'utf8');

/** The library's own encoding of the same request: the reference these tests compare with. */
function libraryRequest(acks: number, timeout: number, messages: readonly EncodableMessage[], options: Parameters<typeof produceV11.createRequest>[3]): Buffer {
  // The library stamps messages without a timestamp with its own clock; give it ours.
  const copies = messages.map((m) => ({ ...m, headers: m.headers ? new Map(m.headers) : undefined, timestamp: m.timestamp === undefined ? BigInt(NOW) : BigInt(m.timestamp) }));
  return produceV11.createRequest(acks, timeout, copies as Parameters<typeof produceV11.createRequest>[2], options).buffer;
}

/** The library's sequences (by `topic:partition`) and the same as the encoder reads them. */
function sequences(entries: Record<string, number>): { readonly library: NumericMap; readonly firstSequence: (topic: string, partition: number) => number } {
  const library = new NumericMap();
  for (const [k, v] of Object.entries(entries)) library.set(k, v);
  return { library, firstSequence: (topic, partition) => entries[`${topic}:${partition}`] ?? 0 };
}

describe('encodeProduceRequest', () => {
  it('writes the bytes the library writes: two topics, partitions out of order, tombstone, key-less, headers, a transaction', () => {
    const messages: EncodableMessage[] = [
      { topic: 'orders', partition: 3, key: bytes('o-1'), value: bytes('{"id":1}') },
      { topic: 'summaries', partition: 0, key: bytes('c-9'), value: null },
      { topic: 'orders', partition: 1, key: null, value: bytes('no key') },
      { topic: 'orders', partition: 3, key: bytes('o-2'), value: bytes('{"id":2}'), headers: new Map([[bytes('trace'), bytes('abc')], [bytes('e'), Buffer.alloc(0)]]) },
      { topic: 'orders', partition: 3, key: Buffer.alloc(0), value: Buffer.alloc(0) },
    ];
    const seq = sequences({ 'orders:3': 120, 'orders:1': 5 });
    const options = { transactionalId: 'group.worker-0', producerId: 4242n, producerEpoch: 7 };
    const ours = encodeProduceRequest(-1, 30_000, messages, { ...options, firstSequence: seq.firstSequence }, crc32c, NOW);
    expect(ours.toString('hex')).toBe(libraryRequest(-1, 30_000, messages, { ...options, sequences: seq.library }).toString('hex'));
  });

  it('writes the bytes the library writes for values whose lengths take 2 and 3 varint bytes, mixed timestamps, no transaction', () => {
    const messages: EncodableMessage[] = [
      { topic: 't', partition: 0, key: bytes('a'), value: Buffer.alloc(200, 1), timestamp: NOW + 5_000 },
      { topic: 't', partition: 0, key: bytes('b'), value: Buffer.alloc(20_000, 2), timestamp: NOW },
      { topic: 't', partition: 0, key: Buffer.alloc(70, 3), value: bytes('x'), timestamp: BigInt(NOW + 70_000) },
    ];
    const options = { transactionalId: null, producerId: -1n, producerEpoch: -1 };
    const ours = encodeProduceRequest(1, 1_000, messages, options, crc32c, NOW);
    expect(ours.toString('hex')).toBe(libraryRequest(1, 1_000, messages, options).toString('hex'));
  });

  it('writes string keys and values as their UTF-8 bytes, multi-byte characters included: the same request as with Buffers', () => {
    const texts = ['plain', 'café ü', '€ and 𝄞 (4 bytes)', '', 'x'.repeat(300) + 'é'];
    const asStrings: EncodableMessage[] = texts.map((t, i) => ({ topic: 's', partition: i % 2, key: `k-${t}`, value: t, timestamp: NOW }));
    const asBytes: EncodableMessage[] = texts.map((t, i) => ({ topic: 's', partition: i % 2, key: bytes(`k-${t}`), value: bytes(t), timestamp: NOW }));
    const options = { transactionalId: 'tx', producerId: 3n, producerEpoch: 1 };
    const ours = encodeProduceRequest(-1, 1_000, asStrings, options, crc32c, NOW);
    expect(ours.toString('hex')).toBe(libraryRequest(-1, 1_000, asBytes, options).toString('hex'));
  });

  it('encodes a batch that the library decodes to the same records, with a correct CRC', () => {
    const messages: EncodableMessage[] = Array.from({ length: 150 }, (_, i) => ({ topic: 'p', partition: 2, key: bytes(`k${i}`), value: bytes(`value ${'x'.repeat(i)}`), timestamp: NOW + i }));
    const ours = encodeProduceRequest(-1, 5_000, messages, { transactionalId: 'tx', producerId: 1n, producerEpoch: 0, firstSequence: sequences({ 'p:2': 9 }).firstSequence }, crc32c, NOW);
    // transactional id (1 + 2), acks 2, timeout 4, topic array 1, name 1 + 1, partition array 1, index 4, then COMPACT_RECORDS.
    const reader = Reader.from(ours);
    reader.skip(3 + 2 + 4 + 1 + 2 + 1 + 4);
    reader.readUnsignedVarInt();
    const batchStart = reader.position;
    const batch = readRecordsBatch(reader);
    expect(batch.records.length).toBe(150);
    expect(batch.firstSequence).toBe(9);
    expect(batch.producerId).toBe(1n);
    expect(batch.attributes & 0x10).toBe(0x10);
    expect(batch.lastOffsetDelta).toBe(149);
    expect(batch.firstTimestamp).toBe(BigInt(NOW));
    expect(batch.maxTimestamp).toBe(BigInt(NOW + 149));
    expect(batch.records.map((r) => r.key?.toString())).toEqual(messages.map((_, i) => `k${i}`));
    expect(batch.records[149]?.value?.toString()).toBe(`value ${'x'.repeat(149)}`);
    expect(batch.records[149]?.offsetDelta).toBe(149);
    expect(batch.records[149]?.timestampDelta).toBe(149n);
    // The CRC covers attributes to the end of the batch (the Java client's Crc32C over the same range).
    const crcFrom = batchStart + 21;
    expect(batch.crc).toBe(crc32c(ours.subarray(crcFrom, batchStart + 12 + batch.length)));
    expect(batch.crc).not.toBe(0);
  });
});

describe('PartitionSequences', () => {
  it('counts per partition, starts again at 0 for a new producer epoch, and wraps past 2^31 - 1 like the broker', () => {
    const s = new PartitionSequences();
    expect(s.take(7n, 0, 'a', 1, 10)).toBe(0);
    expect(s.take(7n, 0, 'a', 1, 5)).toBe(10);
    expect(s.take(7n, 0, 'a', 2, 3)).toBe(0);
    expect(s.take(7n, 0, 'b', 1, 1)).toBe(0);
    expect(s.take(7n, 0, 'a', 1, 1)).toBe(15);
    // A new epoch (a re-initialised producer): every partition from 0.
    expect(s.take(7n, 1, 'a', 1, 4)).toBe(0);
    expect(s.take(7n, 1, 'a', 1, 1)).toBe(4);
    // Wrap: 2^31 - 3 plus 5 sequences (2^31-3, 2^31-2, 2^31-1, 0, 1): the next batch starts at 2.
    const w = new PartitionSequences();
    w.take(1n, 0, 't', 0, 2_147_483_645);
    expect(w.take(1n, 0, 't', 0, 5)).toBe(2_147_483_645);
    expect(w.take(1n, 0, 't', 0, 1)).toBe(2);
  });
});
