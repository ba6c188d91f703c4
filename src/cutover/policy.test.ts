import { describe, expect, it } from 'vitest';
import { coverage, evaluateGate, type GateInput, type GatePolicy, type ReportSummary } from './policy.ts';

const H = 3_600_000;
const now = new Date('2026-11-26T12:00:00Z');
const policy: GatePolicy = { requiredReports: 3, minCoverageMs: 72 * H, maxReportAgeMs: 24 * H, maxConsumerLag: 1000, maxDeadLetterGrowth: 0 };

function report(id: number, verdict: 'PASS' | 'FAIL', daysAgo: number, createdHoursAgo = daysAgo * 24 - 1): ReportSummary {
  const to = new Date(now.getTime() - daysAgo * 24 * H + 24 * H);
  return { id, verdict, windowFrom: new Date(to.getTime() - 24 * H), windowTo: to, createdAt: new Date(now.getTime() - createdHoursAgo * H), provenance: null };
}

/** Three daily PASS reports, newest first, everything else healthy. */
function healthy(overrides: Partial<GateInput> = {}): GateInput {
  return {
    reports: { ok: true, value: [report(3, 'PASS', 1, 2), report(2, 'PASS', 2), report(1, 'PASS', 3)] },
    connector: { ok: true, value: { name: 'stream-migrate-source', state: 'RUNNING', tasks: [{ id: 0, state: 'RUNNING' }] } },
    lags: { ok: true, value: [{ group: 'stream-migrate-processor', lag: 3 }, { group: 'stream-migrate-sink', lag: 0 }] },
    deadLetterGrowth: { ok: true, value: 0 },
    otherChangeInProgress: false,
    now,
    ...overrides,
  };
}

const failed = (input: GateInput) => evaluateGate(input, policy).checks.filter((c) => !c.passed).map((c) => c.name);

describe('the cutover gate', () => {
  it('allows cutover when every condition holds, naming the reports it rests on', () => {
    const result = evaluateGate(healthy(), policy);
    expect(result.allowed).toBe(true);
    expect(result.reportIds).toEqual([3, 2, 1]);
    expect(result.checks.map((c) => c.name)).toEqual(['validation-streak', 'validation-coverage', 'validation-freshness', 'connector-running', 'consumer-lag', 'dead-letters', 'no-concurrent-change']);
  });

  it('a FAIL among the last N resets the streak, even with older passes', () => {
    const reports = [report(5, 'PASS', 1, 2), report(4, 'FAIL', 2), report(3, 'PASS', 3), report(2, 'PASS', 4), report(1, 'PASS', 5)];
    const result = evaluateGate(healthy({ reports: { ok: true, value: reports } }), policy);
    expect(result.allowed).toBe(false);
    expect(result.checks[0]?.detail).toContain('report #4');
  });

  it('passes again once N new passes follow the FAIL', () => {
    const reports = [report(7, 'PASS', 1, 2), report(6, 'PASS', 2), report(5, 'PASS', 3), report(4, 'FAIL', 4)];
    expect(evaluateGate(healthy({ reports: { ok: true, value: reports } }), policy).allowed).toBe(true);
  });

  it('a tool error (no report stored) neither counts nor resets: the streak is judged on stored reports', () => {
    // validate exiting 3 stores nothing, so the input simply has the same three passes.
    expect(evaluateGate(healthy(), policy).allowed).toBe(true);
    expect(failed(healthy({ reports: { ok: false, error: 'warehouse unreachable' } }))).toEqual(['validation-streak', 'validation-coverage', 'validation-freshness']);
  });

  it('needs N reports', () => {
    expect(failed(healthy({ reports: { ok: true, value: [report(2, 'PASS', 1, 2), report(1, 'PASS', 2)] } }))).toContain('validation-streak');
  });

  it('needs the streak to cover the span: overlapping windows count once', () => {
    const same = [report(3, 'PASS', 1, 2), report(2, 'PASS', 1, 3), report(1, 'PASS', 1, 4)];
    const result = evaluateGate(healthy({ reports: { ok: true, value: same } }), policy);
    expect(result.checks.find((c) => c.name === 'validation-coverage')).toMatchObject({ passed: false, detail: 'the streak covers 24h00m of event time, 72h00m required' });
  });

  it('refuses a stale pass', () => {
    const stale = [report(3, 'PASS', 2, 30), report(2, 'PASS', 3), report(1, 'PASS', 4)];
    expect(failed(healthy({ reports: { ok: true, value: stale } }))).toEqual(['validation-freshness']);
  });

  it('needs the connector and every task RUNNING', () => {
    expect(failed(healthy({ connector: { ok: true, value: { name: 'c', state: 'RUNNING', tasks: [{ id: 0, state: 'FAILED' }] } } }))).toEqual(['connector-running']);
    expect(failed(healthy({ connector: { ok: true, value: { name: 'c', state: 'PAUSED', tasks: [] } } }))).toEqual(['connector-running']);
    expect(failed(healthy({ connector: { ok: false, error: 'Connect unreachable' } }))).toEqual(['connector-running']);
  });

  it('refuses on consumer lag over the threshold, or no consumers at all', () => {
    expect(failed(healthy({ lags: { ok: true, value: [{ group: 'stream-migrate-processor', lag: 5000 }] } }))).toEqual(['consumer-lag']);
    expect(failed(healthy({ lags: { ok: true, value: [] } }))).toEqual(['consumer-lag']);
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
