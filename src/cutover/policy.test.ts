import { describe, expect, it } from 'vitest';
import type { ReportProvenance } from '../validation/provenance.ts';
import { coverage, evaluateGate, sortEvidence, type GateInput, type GatePolicy, type ReportSummary } from './policy.ts';

const H = 3_600_000;
const now = new Date('2026-11-26T12:00:00Z');
const zero = { missingInStream: 0, missingInBatch: 0, mismatched: 0 };
const evidence = { tables: ['processed_orders', 'order_summaries', 'fraud_alerts'], channels: ['web'], settleMs: 300_000, batchSchema: 'public', streamDatabase: 'stream', tolerances: zero, minRows: 1 };
const policy: GatePolicy = { requiredReports: 3, minCoverageMs: 72 * H, maxReportAgeMs: 24 * H, maxConsumerLag: 1000, maxDeadLetterGrowth: 0, maxSlotLagBytes: 1_000_000, evidence };

function made(from: Date, to: Date, overrides: Partial<ReportProvenance> = {}): ReportProvenance {
  const w = { from: from.toISOString(), to: to.toISOString() };
  return {
    tables: evidence.tables,
    channels: ['web'],
    settle: '5m',
    settleMs: 300_000,
    batchSchema: 'public',
    streamDatabase: 'stream',
    streamRead: 'final',
    tolerances: zero,
    minRows: 1,
    requestedWindow: w,
    comparedWindow: w,
    sourcePosition: { newestSourceCommit: null, slotName: 's', slotConfirmedLsn: null, note: null },
    ...overrides,
  };
}

/** A report over the day ending `daysAgo − 1` days before now (daysAgo 1: the last 24 h). */
function report(id: number, verdict: ReportSummary['verdict'], daysAgo: number, createdHoursAgo = daysAgo * 24 - 1, overrides: Partial<ReportProvenance> = {}): ReportSummary {
  const to = new Date(now.getTime() - daysAgo * 24 * H + 24 * H);
  const from = new Date(to.getTime() - 24 * H);
  return { id, verdict, windowFrom: from, windowTo: to, createdAt: new Date(now.getTime() - createdHoursAgo * H), provenance: made(from, to, overrides) };
}

/** Three daily PASS reports, newest first, everything else healthy. */
function healthy(overrides: Partial<GateInput> = {}): GateInput {
  return {
    reports: { ok: true, value: [report(3, 'PASS', 1, 2), report(2, 'PASS', 2), report(1, 'PASS', 3)] },
    connector: { ok: true, value: { name: 'stream-migrate-source', state: 'RUNNING', tasks: [{ id: 0, state: 'RUNNING' }] } },
    slot: { ok: true, value: { slotName: 'stream_migrate', exists: true, active: true, confirmedLsn: '0/16B3748', currentLsn: '0/16B3780', lagBytes: 56 } },
    groups: {
      ok: true,
      value: [
        { role: 'processor', group: 'stream-migrate-processor', exists: true, state: 'STABLE', lag: 3 },
        { role: 'sink', group: 'stream-migrate-sink', exists: true, state: 'STABLE', lag: 0 },
      ],
    },
    workers: { ok: true, value: { deploy: 'local', workers: [{ name: 'processor-w1', pid: 101 }, { name: 'sink-s1', pid: 102 }] } },
    deadLetterGrowth: { ok: true, value: 0 },
    otherChangeInProgress: false,
    now,
    ...overrides,
  };
}

const reports = (...value: ReportSummary[]): Partial<GateInput> => ({ reports: { ok: true, value } });
const failed = (input: GateInput) => evaluateGate(input, policy).checks.filter((c) => !c.passed).map((c) => c.name);
const check = (input: GateInput, name: string) => evaluateGate(input, policy).checks.find((c) => c.name === name);

describe('the cutover gate', () => {
  it('allows cutover when every condition holds, naming the reports it rests on', () => {
    const result = evaluateGate(healthy(), policy);
    expect(result.allowed).toBe(true);
    expect(result.reportIds).toEqual([3, 2, 1]);
    expect(result.checks.map((c) => c.name)).toEqual([
      'validation-streak',
      'validation-coverage',
      'validation-freshness',
      'connector-running',
      'replication-slot',
      'processor-group',
      'sink-group',
      'local-workers',
      'dead-letters',
      'no-concurrent-change',
    ]);
  });

  it('a FAIL among the last N resets the streak, even with older passes', () => {
    const result = evaluateGate(healthy(reports(report(5, 'PASS', 1, 2), report(4, 'FAIL', 2), report(3, 'PASS', 3), report(2, 'PASS', 4), report(1, 'PASS', 5))), policy);
    expect(result.allowed).toBe(false);
    expect(result.checks[0]?.detail).toContain('report #4');
  });

  it('passes again once N new passes follow the FAIL', () => {
    expect(evaluateGate(healthy(reports(report(7, 'PASS', 1, 2), report(6, 'PASS', 2), report(5, 'PASS', 3), report(4, 'FAIL', 4))), policy).allowed).toBe(true);
  });

  it('a tool error (no report stored) neither counts nor resets; unreadable reports fail the evidence checks', () => {
    expect(failed(healthy({ reports: { ok: false, error: 'warehouse unreachable' } }))).toEqual(['validation-streak', 'validation-coverage', 'validation-freshness']);
  });

  it('needs N reports', () => {
    expect(failed(healthy(reports(report(2, 'PASS', 1, 2), report(1, 'PASS', 2))))).toContain('validation-streak');
  });
});

describe('evidence rules', () => {
  it('NO_DATA reports are not evidence: three of them leave the streak empty, listed as not counting', () => {
    const input = healthy(reports(report(3, 'NO_DATA', 1, 2), report(2, 'NO_DATA', 2), report(1, 'NO_DATA', 3)));
    expect(failed(input)).toEqual(['validation-streak', 'validation-coverage', 'validation-freshness']);
    expect(check(input, 'validation-streak')?.detail).toBe(
      '0 counting PASS report(s) over distinct windows, 3 required; not counting: #3 NO_DATA: no rows to compare; #2 NO_DATA: no rows to compare; #1 NO_DATA: no rows to compare',
    );
    expect(check(input, 'validation-freshness')?.detail).toBe('no counting PASS report yet: run `stream-migrate validate`');
  });

  it('NO_DATA neither counts nor breaks a streak around it', () => {
    expect(evaluateGate(healthy(reports(report(9, 'NO_DATA', 1, 1), report(3, 'PASS', 1, 2), report(2, 'PASS', 2), report(1, 'PASS', 3))), policy).allowed).toBe(true);
  });

  it('re-running the same window replaces the earlier report instead of adding to the streak', () => {
    const input = healthy(reports(report(3, 'PASS', 1, 1), report(2, 'PASS', 1, 2), report(1, 'PASS', 1, 3)));
    expect(failed(input)).toEqual(['validation-streak', 'validation-coverage']);
    expect(check(input, 'validation-streak')?.detail).toBe(
      '1 counting PASS report(s) over distinct windows, 3 required; not counting: #2 same window as #3, which replaces it; #1 same window as #3, which replaces it',
    );
    expect(check(input, 'validation-coverage')?.detail).toBe('the streak covers 24h00m of event time, 72h00m required');
  });

  it('a passing re-run of a failed window replaces the FAIL', () => {
    expect(evaluateGate(healthy(reports(report(4, 'PASS', 3, 0), report(3, 'FAIL', 3, 1), report(2, 'PASS', 2), report(1, 'PASS', 1, 2))), policy).allowed).toBe(true);
  });

  it('reports made another way than configured do not count, each with its reason', () => {
    const input = healthy(
      reports(
        report(6, 'PASS', 1, 1, { tables: ['processed_orders'] }),
        report(5, 'PASS', 1, 1, { settle: '0s', settleMs: 0 }),
        report(4, 'PASS', 1, 1, { streamDatabase: 'it_db', batchSchema: 'it_schema' }),
        report(3, 'PASS', 1, 1, { tolerances: { ...zero, mismatched: 10 } }),
        { ...report(2, 'PASS', 2), provenance: null },
      ),
    );
    const detail = check(input, 'validation-streak')?.detail ?? '';
    expect(detail).toContain('0 counting PASS report(s)');
    expect(detail).toContain('#6 leaves out order_summaries, fraud_alerts');
    expect(detail).toContain('#5 settle 0s, configured 5m00s');
    expect(detail).toContain('#4 batch schema it_schema, configured public, ClickHouse database it_db, configured stream');
    expect(detail).toContain('#3 tolerances differ from the configured ones (mismatched 10 vs 0)');
    expect(detail).toContain('#2 made before reports recorded how they were made');
  });

  it('freshness is the event time the newest window ends at, not when its report was written', () => {
    // Written an hour ago, over windows that ended two to four days ago.
    const stale = healthy(reports(report(3, 'PASS', 3, 1), report(2, 'PASS', 4, 1), report(1, 'PASS', 5, 1)));
    expect(failed(stale)).toEqual(['validation-freshness']);
    expect(check(stale, 'validation-freshness')?.detail).toBe('the newest passing window ends at 2026-11-24T12:00:00.000Z, 48h00m of event time ago, at most 24h00m allowed');
    // Written long ago, over a window that ended recently enough, it is fresh.
    expect(failed(healthy(reports(report(3, 'PASS', 1, 30), report(2, 'PASS', 2, 40), report(1, 'PASS', 3, 50))))).toEqual([]);
  });

  it('sortEvidence keeps the newest report of each window, newest first', () => {
    const { counted, setAside } = sortEvidence([report(3, 'PASS', 1, 1), report(2, 'FAIL', 1, 2), report(1, 'PASS', 2)], evidence);
    expect(counted.map((r) => r.id)).toEqual([3, 1]);
    expect(setAside).toEqual([{ id: 2, reason: 'same window as #3, which replaces it' }]);
  });
});

describe('pipeline liveness', () => {
  it('needs the connector and every task RUNNING', () => {
    expect(failed(healthy({ connector: { ok: true, value: { name: 'c', state: 'RUNNING', tasks: [{ id: 0, state: 'FAILED' }] } } }))).toEqual(['connector-running']);
    expect(failed(healthy({ connector: { ok: true, value: { name: 'c', state: 'PAUSED', tasks: [] } } }))).toEqual(['connector-running']);
    expect(failed(healthy({ connector: { ok: false, error: 'Connect unreachable' } }))).toEqual(['connector-running']);
  });

  it('needs the replication slot to exist and be caught up with the source WAL', () => {
    const slot = (over: object): Partial<GateInput> => ({ slot: { ok: true, value: { slotName: 'stream_migrate', exists: true, active: true, confirmedLsn: '0/1', currentLsn: '0/2000001', lagBytes: 33_554_432, ...over } } });
    expect(failed(healthy(slot({})))).toEqual(['replication-slot']);
    expect(check(healthy(slot({})), 'replication-slot')?.detail).toBe("stream_migrate confirmed 0/1, 32.0 MiB behind the source's current WAL 0/2000001 (at most 976.6 KiB)");
    expect(check(healthy(slot({ exists: false, confirmedLsn: null, lagBytes: null })), 'replication-slot')?.detail).toBe('replication slot stream_migrate does not exist on the source: run `stream-migrate phase run ingestion`');
    expect(failed(healthy(slot({ confirmedLsn: null, lagBytes: null })))).toEqual(['replication-slot']);
    expect(failed(healthy({ slot: { ok: false, error: 'source unreachable' } }))).toEqual(['replication-slot']);
  });

  it('needs both consumer groups present, with live members and lag under the limit', () => {
    const groups = (processor: object): Partial<GateInput> => ({
      groups: { ok: true, value: [{ role: 'processor', group: 'p', exists: true, state: 'STABLE', lag: 0, ...processor }, { role: 'sink', group: 's', exists: true, state: 'STABLE', lag: 0 }] },
    });
    expect(failed(healthy(groups({ lag: 5000 })))).toEqual(['processor-group']);
    expect(check(healthy(groups({ exists: false, state: 'absent' })), 'processor-group')?.detail).toBe('consumer group p does not exist: run `stream-migrate phase run processing`');
    expect(check(healthy(groups({ state: 'EMPTY' })), 'processor-group')).toMatchObject({ passed: false, detail: 'consumer group p has no live members (EMPTY): start the processor workers (`stream-migrate phase run processing`)' });
    expect(failed(healthy(groups({ state: 'PREPARING_REBALANCE' })))).toEqual([]);
    expect(failed(healthy({ groups: { ok: true, value: [] } }))).toEqual(['processor-group', 'sink-group']);
    expect(failed(healthy({ groups: { ok: false, error: 'Kafka unreachable' } }))).toEqual(['processor-group', 'sink-group']);
  });

  it('needs the supervised local workers alive when processor.deploy is local, not when external', () => {
    expect(check(healthy({ workers: { ok: true, value: { deploy: 'local', workers: [{ name: 'processor-w1', pid: null }, { name: 'sink-s1', pid: 5 }] } } }), 'local-workers')).toMatchObject({
      passed: false,
      detail: 'not running: processor-w1 (see `stream-migrate workers status`)',
    });
    expect(check(healthy({ workers: { ok: true, value: { deploy: 'local', workers: [] } } }), 'local-workers')?.passed).toBe(false);
    expect(check(healthy({ workers: { ok: true, value: { deploy: 'external', workers: [] } } }), 'local-workers')?.passed).toBe(true);
  });

  it('refuses on dead-letter growth and on a concurrent change', () => {
    expect(failed(healthy({ deadLetterGrowth: { ok: true, value: 1 } }))).toEqual(['dead-letters']);
    expect(failed(healthy({ otherChangeInProgress: true }))).toEqual(['no-concurrent-change']);
  });
});

describe('coverage', () => {
  it('adds disjoint windows and counts overlaps once', () => {
    const a = report(1, 'PASS', 3);
    const b = report(2, 'PASS', 2);
    expect(coverage([a, b])).toBe(48 * H);
    expect(coverage([a, a])).toBe(24 * H);
    expect(coverage([])).toBe(0);
  });
});
