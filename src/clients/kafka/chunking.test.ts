import { describe, expect, it } from 'vitest';
import { chunksBySize, messageBytes } from './chunking.ts';
import { toProduce, type ProducedMessage } from './records.ts';

/** A message of exactly `bytes` by messageBytes' estimate (70 bytes of framing). */
const sized = (topic: string, partition: number | undefined, bytes: number, id = ''): ProducedMessage =>
  toProduce({ topic, ...(partition !== undefined ? { partition } : {}), key: null, value: id.padEnd(bytes - 70, 'x') });

describe('chunksBySize', () => {
  it('keeps a send that fits in one chunk', () => {
    const records = [sized('t', 0, 300), sized('t', 1, 300), sized('u', 0, 300)];
    expect(chunksBySize(records, 1_000)).toEqual([records]);
  });

  it('starts a new chunk when one partition would exceed the limit, counting partitions apart', () => {
    const records = [0, 1, 0, 1, 0].map((p, i) => sized('t', p, 500, `r${i}`));
    const chunks = chunksBySize(records, 1_000);
    expect(chunks.map((c) => c.length)).toEqual([4, 1]);
    expect(chunks.flat()).toEqual(records);
  });

  it('counts records without a partition against their topic as a whole', () => {
    const records = [sized('t', undefined, 600), sized('t', undefined, 600), sized('u', undefined, 600)];
    expect(chunksBySize(records, 1_000).map((c) => c.length)).toEqual([1, 2]);
  });

  it('sends a record larger than the limit alone, in order', () => {
    const records = [sized('t', 0, 200, 'a'), sized('t', 0, 5_000, 'big'), sized('t', 0, 200, 'c')];
    expect(chunksBySize(records, 1_000).map((c) => c.map((r) => String(r.value).slice(0, 3)))).toEqual([['axx'], ['big'], ['cxx']]);
  });

  it('counts keys, values and headers in bytes, not characters', () => {
    expect(messageBytes(toProduce({ topic: 't', key: 'é', value: Buffer.alloc(10), headers: { h: 'ü' } }))).toBe(70 + 2 + 10 + 1 + 2 + 8);
    expect(messageBytes(toProduce({ topic: 't', value: null }))).toBe(70);
    // With a partition, strings stay strings (written as UTF-8 by the Produce encoder) and count as their UTF-8 bytes.
    expect(messageBytes(toProduce({ topic: 't', partition: 1, key: 'é', value: '€' }))).toBe(70 + 2 + 3);
  });

  it('splits a send only as far as a partition needs, whatever the whole send weighs', () => {
    // 3 partitions of 600 bytes each: 1 800 in all, over the limit, yet no partition is: one chunk.
    const records = [0, 1, 2].map((p) => sized('t', p, 600));
    expect(chunksBySize(records, 1_000)).toEqual([records]);
    expect(chunksBySize([], 1_000)).toEqual([]);
  });

  it('keeps every partition of a large send under the default limit', () => {
    const records = Array.from({ length: 5_000 }, (_, i) => sized('t', i % 3, 1_000, String(i)));
    const chunks = chunksBySize(records);
    expect(chunks.flat()).toEqual(records);
    for (const chunk of chunks) {
      for (const p of [0, 1, 2]) expect(chunk.filter((r) => r.partition === p).reduce((n, r) => n + messageBytes(r), 0)).toBeLessThanOrEqual(900 * 1024);
    }
  });
});
