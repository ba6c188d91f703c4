import { describe, expect, it } from 'vitest';
import { notCountingReasons, parseProvenance, type EvidencePolicy, type ReportProvenance } from './provenance.ts';

const zero = { missingInStream: 0, missingInBatch: 0, mismatched: 0 };
const policy: EvidencePolicy = { tables: ['processed_orders', 'order_summaries', 'fraud_alerts'], channels: ['web'], settleMs: 300_000, batchSchema: 'public', streamDatabase: 'stream', tolerances: zero, minRows: 1 };
const made: ReportProvenance = {
  tables: ['processed_orders', 'order_summaries', 'fraud_alerts'],
  settle: '5m',
  settleMs: 300_000,
  batchSchema: 'public',
  streamDatabase: 'stream',
  streamRead: 'final',
  tolerances: zero,
  minRows: 1,
  requestedWindow: { from: '2026-11-25T00:00:00.000Z', to: '2026-11-26T00:00:00.000Z' },
  comparedWindow: { from: '2026-11-25T00:00:00.000Z', to: '2026-11-26T00:00:00.000Z' },
  sourcePosition: { newestSourceCommit: null, slotName: 'stream_migrate', slotConfirmedLsn: null, note: 'n' },
  channels: ['web'],
};

describe('which reports count toward the gate', () => {
  it('a report made the configured way counts (the same settle written differently too)', () => {
    expect(notCountingReasons(made, policy)).toEqual([]);
    expect(notCountingReasons({ ...made, settle: '300s' }, policy)).toEqual([]);
  });

  it('names each way a report differs from the configured one', () => {
    expect(notCountingReasons(null, policy)).toEqual(['made before reports recorded how they were made (no provenance); run validate again']);
    expect(notCountingReasons({ ...made, tables: ['processed_orders'] }, policy)).toEqual(['leaves out order_summaries, fraud_alerts']);
    expect(notCountingReasons({ ...made, settle: '0s', settleMs: 0 }, policy)).toEqual(['settle 0s, configured 5m00s']);
    expect(notCountingReasons({ ...made, batchSchema: 'it_x', streamDatabase: 'it_y' }, policy)).toEqual(['batch schema it_x, configured public', 'ClickHouse database it_y, configured stream']);
    expect(notCountingReasons({ ...made, tolerances: { ...zero, mismatched: 5 } }, policy)).toEqual(['tolerances differ from the configured ones (mismatched 5 vs 0)']);
    expect(notCountingReasons({ ...made, minRows: 1 }, { ...policy, minRows: 100 })).toEqual(['minRows 1, configured 100']);
    expect(notCountingReasons(made, { ...policy, channels: ['web', 'partner', 'store'] })).toEqual(['has no partner, store orders in its window (every configured channel must be covered)']);
    expect(notCountingReasons({ ...made, channels: ['web', 'store', 'partner'] }, { ...policy, channels: ['web', 'partner', 'store'] })).toEqual([]);
  });

  it('parses what it stored, and refuses other shapes', () => {
    expect(parseProvenance(JSON.parse(JSON.stringify(made)))).toEqual(made);
    expect(parseProvenance(null)).toBeNull();
    // Reports made before channels were recorded covered the web orders only.
    const { channels: _omitted, ...older } = made;
    expect(parseProvenance(older)?.channels).toEqual(['web']);
    expect(parseProvenance({ ...made, streamRead: 'other' })).toBeNull();
    expect(parseProvenance({ ...made, tables: 'processed_orders' })).toBeNull();
  });
});
