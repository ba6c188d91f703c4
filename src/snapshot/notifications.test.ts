import { describe, expect, it } from 'vitest';
import { failedScans, foldNotification, NOT_STARTED, parseNotification, rowsSoFar, type SnapshotProgress } from './notifications.ts';
import { executeSnapshotSignal, idInFilter } from './signal.ts';

const note = (id: string, type: string, data: Record<string, string> = {}, timestamp = 1000) =>
  Buffer.from(JSON.stringify({ id, aggregate_type: 'Incremental Snapshot', type, additional_data: { connector_name: 'cdc', ...data }, timestamp }));

function fold(signalId: string, values: readonly Buffer[]): SnapshotProgress {
  let state = NOT_STARTED;
  for (const v of values) {
    const n = parseNotification(v);
    if (n) state = foldNotification(state, signalId, n);
  }
  return state;
}

describe('incremental snapshot notifications', () => {
  it('follows one snapshot by its signal id to COMPLETED, counting rows by chunk and then by scan', () => {
    const running = fold('s1', [note('s1', 'STARTED', {}, 1000), note('s1', 'IN_PROGRESS'), note('other', 'IN_PROGRESS'), note('s1', 'IN_PROGRESS')]);
    expect(running.phase).toBe('running');
    expect(rowsSoFar(running, 1024, 5000)).toBe(2048);
    const done = fold('s1', [
      note('s1', 'STARTED', {}, 1000),
      note('s1', 'IN_PROGRESS'),
      note('s1', 'TABLE_SCAN_COMPLETED', { scanned_collection: 'public.orders', total_rows_scanned: '1500', status: 'SUCCEEDED' }),
      note('other', 'COMPLETED'),
    ]);
    expect(done.phase).toBe('running');
    expect(rowsSoFar(done, 1024, 5000)).toBe(1500);
    const completed = fold('s1', [note('s1', 'STARTED', {}, 1000), note('s1', 'COMPLETED', {}, 4000)]);
    expect(completed).toMatchObject({ phase: 'completed', startedAt: 1000, finishedAt: 4000 });
  });

  it('ignores initial-snapshot notices and other records, and reports scans that failed', () => {
    expect(parseNotification(Buffer.from('{"id":"x","aggregate_type":"Initial Snapshot","type":"COMPLETED"}'))?.aggregateType).toBe('Initial Snapshot');
    expect(fold('x', [Buffer.from('{"id":"x","aggregate_type":"Initial Snapshot","type":"COMPLETED"}')]).phase).toBe('waiting');
    expect(parseNotification(Buffer.from('not json'))).toBeUndefined();
    expect(parseNotification(null)).toBeUndefined();
    const failed = fold('s', [note('s', 'TABLE_SCAN_COMPLETED', { scanned_collection: 'public.orders', total_rows_scanned: '0', status: 'SQL_EXCEPTION' }), note('s', 'COMPLETED')]);
    expect(failedScans(failed)).toEqual([{ table: 'public.orders', rows: 0, status: 'SQL_EXCEPTION' }]);
    expect(fold('s', [note('s', 'ABORTED')]).phase).toBe('aborted');
  });
});

describe('signals', () => {
  it('asks for an incremental snapshot of one table with an optional filter', () => {
    const s = executeSnapshotSignal('id-1', 'public.orders', 'id <= 50');
    expect(s.type).toBe('execute-snapshot');
    expect(JSON.parse(s.data)).toEqual({ 'data-collections': ['public.orders'], type: 'incremental', 'additional-conditions': [{ 'data-collection': 'public.orders', filter: 'id <= 50' }] });
    expect(JSON.parse(executeSnapshotSignal('id-2', 'public.orders', undefined).data)).toEqual({ 'data-collections': ['public.orders'], type: 'incremental' });
    expect(idInFilter([5, 3, 5])).toBe('id IN (3, 5)');
    expect(() => idInFilter([1.5])).toThrow();
  });
});
