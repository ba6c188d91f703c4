import { formatDuration } from '../core/duration.ts';
import type { ValidationReportSummary } from '../state/validation-reports.ts';

/** A validation report as the gate judges it (what the reports repository returns). */
export type ReportSummary = ValidationReportSummary;

/** A fact the gate needs, or why it could not be read (a tool error fails its check, it does not pass it). */
export type Observed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

export interface GateInput {
  /** Validation reports, newest first. A validate that failed as a tool (exit 3) stores none. */
  readonly reports: Observed<readonly ReportSummary[]>;
  readonly connector: Observed<{ readonly name: string; readonly state: string; readonly tasks: readonly { readonly id: number; readonly state: string }[] }>;
  /** Consumer lag per group (processor, sink), in records. */
  readonly lags: Observed<readonly { readonly group: string; readonly lag: number }[]>;
  /** Dead-letter records written since the newest report was created. */
  readonly deadLetterGrowth: Observed<number>;
  /** Another cutover or rollback holds the lock. */
  readonly otherChangeInProgress: boolean;
  readonly now: Date;
}

export interface GatePolicy {
  readonly requiredReports: number;
  readonly minCoverageMs: number;
  readonly maxReportAgeMs: number;
  readonly maxConsumerLag: number;
  readonly maxDeadLetterGrowth: number;
}

export interface GateCheck {
  readonly name: string;
  readonly passed: boolean;
  readonly detail: string;
}

export interface GateResult {
  readonly allowed: boolean;
  readonly checks: readonly GateCheck[];
  /** The reports the decision rests on (the streak), for the audit log. */
  readonly reportIds: readonly number[];
}

/**
 * The cutover policy, pure: the last N reports all PASS (any FAIL among them breaks the streak),
 * together covering the required span of event time, the newest fresh; the connector and its
 * tasks RUNNING; consumers caught up; no dead-letter growth; nobody else changing the state.
 */
export function evaluateGate(input: GateInput, policy: GatePolicy): GateResult {
  const checks: GateCheck[] = [];
  const streak = input.reports.ok ? input.reports.value.slice(0, policy.requiredReports) : [];

  if (!input.reports.ok) {
    checks.push({ name: 'validation-streak', passed: false, detail: `reports unavailable: ${input.reports.error}` });
  } else {
    const firstFail = streak.find((r) => r.verdict === 'FAIL');
    const passed = streak.length === policy.requiredReports && !firstFail;
    const detail = firstFail
      ? `report #${firstFail.id} (${firstFail.createdAt.toISOString()}) is FAIL: the streak starts again after it`
      : streak.length < policy.requiredReports
        ? `${streak.length} consecutive PASS report(s), ${policy.requiredReports} required`
        : `last ${policy.requiredReports} reports PASS (#${streak.map((r) => r.id).join(', #')})`;
    checks.push({ name: 'validation-streak', passed, detail });
  }

  const coveredMs = coverage(streak.filter((r) => r.verdict === 'PASS'));
  checks.push({
    name: 'validation-coverage',
    passed: input.reports.ok && coveredMs >= policy.minCoverageMs,
    detail: `the streak covers ${formatDuration(coveredMs)} of event time, ${formatDuration(policy.minCoverageMs)} required`,
  });

  const newest = input.reports.ok ? input.reports.value[0] : undefined;
  const ageMs = newest ? input.now.getTime() - newest.createdAt.getTime() : Infinity;
  checks.push({
    name: 'validation-freshness',
    passed: newest !== undefined && ageMs <= policy.maxReportAgeMs,
    detail: newest ? `newest report #${newest.id} is ${formatDuration(ageMs)} old, at most ${formatDuration(policy.maxReportAgeMs)} allowed` : 'no validation report yet: run `stream-migrate validate`',
  });

  if (!input.connector.ok) {
    checks.push({ name: 'connector-running', passed: false, detail: `connector status unavailable: ${input.connector.error}` });
  } else {
    const c = input.connector.value;
    const notRunning = c.tasks.filter((t) => t.state !== 'RUNNING');
    const passed = c.state === 'RUNNING' && c.tasks.length > 0 && notRunning.length === 0;
    checks.push({
      name: 'connector-running',
      passed,
      detail: passed
        ? `${c.name} and its ${c.tasks.length} task(s) RUNNING`
        : `${c.name} is ${c.state}${c.tasks.length === 0 ? ' with no tasks' : ''}${notRunning.map((t) => `, task ${t.id} ${t.state}`).join('')}`,
    });
  }

  if (!input.lags.ok) {
    checks.push({ name: 'consumer-lag', passed: false, detail: `lag unavailable: ${input.lags.error}` });
  } else {
    const over = input.lags.value.filter((l) => l.lag > policy.maxConsumerLag);
    checks.push({
      name: 'consumer-lag',
      passed: over.length === 0 && input.lags.value.length > 0,
      detail:
        input.lags.value.length === 0
          ? 'no processor or sink consumer group found: run `stream-migrate phase run processing`'
          : `${input.lags.value.map((l) => `${l.group} ${l.lag}`).join(', ')} (at most ${policy.maxConsumerLag})`,
    });
  }

  checks.push(
    input.deadLetterGrowth.ok
      ? {
          name: 'dead-letters',
          passed: input.deadLetterGrowth.value <= policy.maxDeadLetterGrowth,
          detail: `${input.deadLetterGrowth.value} dead-letter record(s) since the newest report (at most ${policy.maxDeadLetterGrowth})`,
        }
      : { name: 'dead-letters', passed: false, detail: `dead-letter topic unavailable: ${input.deadLetterGrowth.error}` },
  );

  checks.push({
    name: 'no-concurrent-change',
    passed: !input.otherChangeInProgress,
    detail: input.otherChangeInProgress ? 'another cutover or rollback is in progress' : 'no other cutover or rollback in progress',
  });

  return { allowed: checks.every((c) => c.passed), checks, reportIds: streak.map((r) => r.id) };
}

/** Milliseconds of event time covered by the union of the reports' windows. */
export function coverage(reports: readonly ReportSummary[]): number {
  const intervals = reports.map((r) => [r.windowFrom.getTime(), r.windowTo.getTime()] as const).sort((a, b) => a[0] - b[0]);
  let total = 0;
  let end = -Infinity;
  for (const [from, to] of intervals) {
    const start = Math.max(from, end);
    if (to > start) total += to - start;
    end = Math.max(end, to);
  }
  return total;
}
