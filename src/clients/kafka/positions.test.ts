import { describe, expect, it } from 'vitest';
import { CONTROL_BIT, dropAbortedBatches, fetchPosition, TRANSACTIONAL_BIT } from './aborted-batches.ts';
import { FetchPositions } from './positions.ts';

/** `count` transactional records of producer `pid` from offset `first`. */
const data = (pid: number, first: number, count = 3) => ({
  firstOffset: BigInt(first),
  lastOffsetDelta: count - 1,
  producerId: BigInt(pid),
  attributes: TRANSACTIONAL_BIT,
  records: Array.from({ length: count }, (_, i) => ({ key: null, offsetDelta: i })),
});

const marker = (pid: number, offset: number, type: 'abort' | 'commit') => {
  const key = Buffer.alloc(4);
  key.writeInt16BE(type === 'abort' ? 0 : 1, 2);
  return { firstOffset: BigInt(offset), lastOffsetDelta: 0, producerId: BigInt(pid), attributes: TRANSACTIONAL_BIT | CONTROL_BIT, records: [{ key, offsetDelta: 0 }] };
};

const P = 'orders\u00000';

describe('fetchPosition', () => {
  it('moves past an aborted transaction and its marker at the end of a response', () => {
    // committed 0-2 + marker 3, aborted 4-6 + marker 7: a reader gets 0-2 and may stand at 8.
    const fetched = [data(1, 0), marker(1, 3, 'commit'), data(1, 4), marker(1, 7, 'abort')];
    const kept = dropAbortedBatches(fetched, [{ producerId: 1n, firstOffset: 4n }]);
    expect(fetchPosition(fetched, kept)).toEqual({ fetchedTo: 8n, dataTo: 3n });
  });

  it('has no data position when the response held only an aborted transaction', () => {
    const fetched = [data(1, 10), marker(1, 13, 'abort')];
    const kept = dropAbortedBatches(fetched, [{ producerId: 1n, firstOffset: 10n }]);
    expect(fetchPosition(fetched, kept)).toEqual({ fetchedTo: 14n, dataTo: null });
  });

  it('counts an aborted tail whose marker is not fetched yet', () => {
    const fetched = [data(1, 0), marker(1, 3, 'commit'), data(1, 4)];
    const kept = dropAbortedBatches(fetched, [{ producerId: 1n, firstOffset: 4n }]);
    expect(fetchPosition(fetched, kept)).toEqual({ fetchedTo: 7n, dataTo: 3n });
  });

  it('is null for a partition that returned nothing', () => {
    expect(fetchPosition([], [])).toBeNull();
  });
});

describe('FetchPositions', () => {
  it('offers the position past abort markers once every fetched record was delivered, and only once', () => {
    const p = new FetchPositions();
    p.started(P, 0n);
    p.fetchedFrom(P, 0n, { fetchedTo: 8n, dataTo: 3n });
    expect(p.advanced([P])).toEqual([]); // records 0-2 not delivered yet
    p.delivered(P, 1n);
    p.delivered(P, 3n);
    expect(p.advanced([P])).toEqual([{ key: P, offset: 8n }]);
    expect(p.advanced([P])).toEqual([]);
  });

  it('moves an idle partition that holds only an aborted transaction after its committed offset', () => {
    const p = new FetchPositions();
    p.started(P, 40n);
    p.fetchedFrom(P, 40n, { fetchedTo: 44n, dataTo: null });
    expect(p.advanced([P])).toEqual([{ key: P, offset: 44n }]);
  });

  it('ignores a late response of a replaced stream that had read further than the new session', () => {
    // The old session processed 50-99 in a transaction that aborted; committed is still 50.
    const p = new FetchPositions();
    p.started(P, 50n);
    p.fetchedFrom(P, 100n, { fetchedTo: 106n, dataTo: null });
    expect(p.advanced([P])).toEqual([]);
  });

  it('takes a partition without a committed offset from its first fetch', () => {
    const p = new FetchPositions();
    p.started(P, -1n);
    p.fetchedFrom(P, 0n, { fetchedTo: 8n, dataTo: 3n });
    p.delivered(P, 3n);
    expect(p.advanced([P])).toEqual([{ key: P, offset: 8n }]);
  });

  it('trusts consecutive fetches, and nothing before the read started', () => {
    const p = new FetchPositions();
    p.fetchedFrom(P, 0n, { fetchedTo: 5n, dataTo: null });
    expect(p.advanced([P])).toEqual([]);
    p.started(P, 0n);
    p.fetchedFrom(P, 0n, { fetchedTo: 5n, dataTo: 5n });
    p.fetchedFrom(P, 5n, { fetchedTo: 9n, dataTo: null });
    p.delivered(P, 5n);
    expect(p.advanced([P])).toEqual([{ key: P, offset: 9n }]);
  });

  it('forgets everything on clear and on a restart of the partition', () => {
    const p = new FetchPositions();
    p.started(P, 0n);
    p.fetchedFrom(P, 0n, { fetchedTo: 4n, dataTo: null });
    p.clear();
    expect(p.advanced([P])).toEqual([]);
    p.started(P, 4n);
    p.fetchedFrom(P, 4n, { fetchedTo: 4n, dataTo: null });
    expect(p.advanced([P])).toEqual([]); // not past the committed offset
  });

  it('offers only partitions asked for', () => {
    const p = new FetchPositions();
    p.started(P, 0n);
    p.fetchedFrom(P, 0n, { fetchedTo: 2n, dataTo: null });
    expect(p.advanced(['other\u00000'])).toEqual([]);
  });
});
