import { describe, expect, it } from 'vitest';
import { CONTROL_BIT, dropAbortedBatches, TRANSACTIONAL_BIT, type BatchLike } from './aborted-batches.ts';

/** A fixture batch: `count` records from `first`, by producer `pid`. */
const data = (pid: number, first: number, count = 3, transactional = true): BatchLike => ({
  firstOffset: BigInt(first),
  lastOffsetDelta: count - 1,
  producerId: BigInt(pid),
  attributes: transactional ? TRANSACTIONAL_BIT : 0,
  records: Array.from({ length: count }, () => ({ key: null })),
});

/** A control batch holding one marker: version 0, type 0 (abort) or 1 (commit). */
const marker = (pid: number, offset: number, type: 'abort' | 'commit'): BatchLike => {
  const key = Buffer.alloc(4);
  key.writeInt16BE(0, 0);
  key.writeInt16BE(type === 'abort' ? 0 : 1, 2);
  return { firstOffset: BigInt(offset), lastOffsetDelta: 0, producerId: BigInt(pid), attributes: TRANSACTIONAL_BIT | CONTROL_BIT, records: [{ key }] };
};

const offsets = (batches: readonly BatchLike[]): number[] => batches.map((b) => Number(b.firstOffset));

describe('dropAbortedBatches (read_committed)', () => {
  it('drops every aborted transaction of a producer that aborted several times in one response', () => {
    // commit, abort, abort, commit from one producer id: what every restarted worker leaves behind.
    // @platformatic/kafka 2.12.1 keeps one range per producer id and delivered the batch at 4.
    const batches = [data(7, 0), marker(7, 3, 'commit'), data(7, 4), marker(7, 7, 'abort'), data(7, 8), marker(7, 11, 'abort'), data(7, 12), marker(7, 15, 'commit')];
    const kept = dropAbortedBatches(batches, [
      { producerId: 7n, firstOffset: 4n },
      { producerId: 7n, firstOffset: 8n },
    ]);
    expect(offsets(kept)).toEqual([0, 3, 7, 11, 12, 15]);
  });

  it('drops an aborted transaction whose marker lies beyond the end of the response', () => {
    const kept = dropAbortedBatches([data(9, 0), data(9, 3), data(9, 6)], [{ producerId: 9n, firstOffset: 0n }]);
    expect(kept).toEqual([]);
  });

  it('drops only the aborting producer when transactions interleave, and keeps its later transactions', () => {
    const batches = [data(1, 0), data(2, 3), data(1, 6), marker(1, 9, 'abort'), marker(2, 10, 'commit'), data(1, 11), marker(1, 14, 'commit')];
    const kept = dropAbortedBatches(batches, [{ producerId: 1n, firstOffset: 0n }]);
    expect(offsets(kept)).toEqual([3, 9, 10, 11, 14]);
  });

  it('keeps non-transactional batches and batches before the aborted range starts', () => {
    const batches = [data(5, 0), marker(5, 3, 'commit'), data(5, 4, 2, false), data(5, 6), marker(5, 9, 'abort')];
    const kept = dropAbortedBatches(batches, [{ producerId: 5n, firstOffset: 6n }]);
    expect(offsets(kept)).toEqual([0, 3, 4, 9]);
  });

  it('returns a copy of everything when nothing was aborted, whatever the list is', () => {
    const batches = [data(3, 0), marker(3, 3, 'commit')];
    for (const aborted of [null, undefined, []]) {
      const kept = dropAbortedBatches(batches, aborted);
      expect(kept).toEqual(batches);
      expect(kept).not.toBe(batches);
    }
  });

  it('finds the aborted range whatever order the broker lists it in', () => {
    const batches = [data(4, 0), marker(4, 3, 'abort'), data(4, 4), marker(4, 7, 'abort'), data(4, 8), marker(4, 11, 'commit')];
    const kept = dropAbortedBatches(batches, [
      { producerId: 4n, firstOffset: 4n },
      { producerId: 4n, firstOffset: 0n },
    ]);
    expect(offsets(kept)).toEqual([3, 7, 8, 11]);
  });
});
