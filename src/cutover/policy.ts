import { formatBytes } from '../core/bytes.ts';
import { formatDuration } from '../core/duration.ts';
import type { SlotPosition } from '../validation/source-position.ts';
import type { ValidationReportSummary } from '../state/validation-reports.ts';
import { notCountingReasons, type EvidencePolicy } from '../validation/provenance.ts';

/** A validation report as the gate judges it (what the reports repository returns). */
export type ReportSummary = ValidationReportSummary;

/** A fact the gate needs, or why it could not be read (a tool error fails its check, it does not pass it). */
export type Observed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/** A consumer group the pipeline needs: whether it exists, its state and how far behind it is. */
export interface GroupObservation {
  readonly role: 'processor' | 'sink';
  readonly group: string;
  readonly exists: boolean;
  /** The coordinator's state: Stable or rebalancing means live members; Empty or Dead means none. */
  readonly state: string;
  /** Records left to read (commit markers count as read). */
  readonly lag: number;
}

export interface WorkersObservation {
  readonly deploy: 'local' | 'external';
  /** The supervised local workers (empty when none are desired); pid null when not alive. */
  readonly workers: readonly { readonly name: string; readonly pid: number | null }[];
}

export interface GateInput {
  /** Validation reports, newest first. A validate that failed as a tool (exit 3) stores none. */
  readonly reports: Observed<readonly ReportSummary[]>;
  readonly connector: Observed<{ readonly name: string; readonly state: string; readonly tasks: readonly { readonly id: number; readonly state: string }[] }>;
  readonly slot: Observed<SlotPosition>;
  readonly groups: Observed<readonly GroupObservation[]>;
  readonly workers: Observed<WorkersObservation>;
  /** Dead-letter records written since the newest report was created. */
  readonly deadLetterGrowth: Observed<number>;
  /** Another cutover or rollback holds the lock. */
  readonly otherChangeInProgress: boolean;
  /** Who holds the cutover lock when another change is in progress, as the lock describes it. */
  readonly lockHolder?: string;
  readonly now: Date;
}

export interface GatePolicy {
  readonly requiredReports: number;
  readonly minCoverageMs: number;
  /** How far before now the newest compared window may end, in event time. */
  readonly maxReportAgeMs: number;
  readonly maxConsumerLag: number;
  readonly maxDeadLetterGrowth: number;
  readonly maxSlotLagBytes: number;
  /** What a report must have been made with to count. */
  readonly evidence: EvidencePolicy;
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

/** A report the gate set aside, and why. */
export interface SetAside {
  readonly id: number;
  readonly reason: string;
}

export interface Evidence {
  /** Counting PASS/FAIL reports, one per compared window (the newest run of it), newest first. */
  readonly counted: readonly ReportSummary[];
  readonly setAside: readonly SetAside[];
}

const windowKey = (r: ReportSummary) => `${r.windowFrom.toISOString()}/${r.windowTo.toISOString()}`;

/**
 * Sorts reports (newest first) into evidence and the rest: a report made another way than the
 * configured one does not count; NO_DATA proves nothing; a re-run of a window replaces the
 * earlier report of that window rather than adding to the streak.
 */
export function sortEvidence(reports: readonly ReportSummary[], policy: EvidencePolicy): Evidence {
  const counted: ReportSummary[] = [];
  const setAside: SetAside[] = [];
  const byWindow = new Map<string, number>();
  for (const r of reports) {
    // First: a report without rows proves nothing, however it was made (and has no channels either).
    if (r.verdict === 'NO_DATA') {
      setAside.push({ id: r.id, reason: 'NO_DATA: no rows to compare' });
      continue;
    }
    const reasons = notCountingReasons(r.provenance, policy);
    if (reasons.length > 0) {
      setAside.push({ id: r.id, reason: reasons.join(', ') });
      continue;
    }
    const newer = byWindow.get(windowKey(r));
    if (newer !== undefined) {
      setAside.push({ id: r.id, reason: `same window as #${newer}, which replaces it` });
      continue;
    }
    byWindow.set(windowKey(r), r.id);
    counted.push(r);
  }
  return { counted, setAside };
}

const MAX_LISTED = 6;

function setAsideText(setAside: readonly SetAside[]): string {
  if (setAside.length === 0) return '';
  const listed = setAside.slice(0, MAX_LISTED).map((s) => `#${s.id} ${s.reason}`);
  const more = setAside.length > MAX_LISTED ? `; and ${setAside.length - MAX_LISTED} more` : '';
  return `; not counting: ${listed.join('; ')}${more}`;
}

/**
 * The cutover policy, pure: the last N counting reports (over distinct windows) all PASS,
 * together covering the required span of event time, the newest window ending recently; the
 * connector and its tasks RUNNING and the replication slot caught up; the processor and sink
 * groups present with live members and caught up; the supervised workers alive; no dead-letter
 * growth; nobody else changing the state.
 */
export function evaluateGate(input: GateInput, policy: GatePolicy): GateResult {
  const checks: GateCheck[] = [];
  const evidence = input.reports.ok ? sortEvidence(input.reports.value, policy.evidence) : { counted: [], setAside: [] };
  const streak = evidence.counted.slice(0, policy.requiredReports);

  if (!input.reports.ok) {
    checks.push({ name: 'validation-streak', passed: false, detail: `reports unavailable: ${input.reports.error}` });
  } else {
    const firstFail = streak.find((r) => r.verdict === 'FAIL');
    const passed = streak.length === policy.requiredReports && !firstFail;
    const detail = firstFail
      ? `report #${firstFail.id} (window ${firstFail.windowFrom.toISOString()} .. ${firstFail.windowTo.toISOString()}) is FAIL: the streak starts again after it`
      : streak.length < policy.requiredReports
        ? `${streak.length} counting PASS report(s) over distinct windows, ${policy.requiredReports} required`
        : `last ${policy.requiredReports} counting reports PASS over distinct windows (#${streak.map((r) => r.id).join(', #')})`;
    checks.push({ name: 'validation-streak', passed, detail: detail + setAsideText(evidence.setAside) });
  }

  const passes = streak.filter((r) => r.verdict === 'PASS');
  const coveredMs = coverage(passes);
  checks.push({
    name: 'validation-coverage',
    passed: input.reports.ok && coveredMs >= policy.minCoverageMs,
    detail: `the streak covers ${formatDuration(coveredMs)} of event time, ${formatDuration(policy.minCoverageMs)} required`,
  });

  // Freshness is event time: how long before now the newest compared window ends, not when its report was written.
  const newestEnd = passes.reduce<Date | undefined>((end, r) => (!end || r.windowTo > end ? r.windowTo : end), undefined);
  const behindMs = newestEnd ? input.now.getTime() - newestEnd.getTime() : Infinity;
  checks.push({
    name: 'validation-freshness',
    passed: newestEnd !== undefined && behindMs <= policy.maxReportAgeMs,
    detail: newestEnd
      ? `the newest passing window ends at ${newestEnd.toISOString()}, ${formatDuration(Math.max(0, behindMs))} of event time ago, at most ${formatDuration(policy.maxReportAgeMs)} allowed`
      : 'no counting PASS report yet: run `stream-migrate validate`',
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

  checks.push(slotCheck(input.slot, policy.maxSlotLagBytes));
  for (const role of ['processor', 'sink'] as const) checks.push(groupCheck(role, input.groups, policy.maxConsumerLag));
  checks.push(workersCheck(input.workers));

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
    detail: input.otherChangeInProgress ? `another cutover or rollback is in progress${input.lockHolder ? `: ${input.lockHolder}` : ''}` : 'no other cutover or rollback in progress',
  });

  return { allowed: checks.every((c) => c.passed), checks, reportIds: streak.map((r) => r.id) };
}

function slotCheck(slot: Observed<SlotPosition>, maxBytes: number): GateCheck {
  const name = 'replication-slot';
  if (!slot.ok) return { name, passed: false, detail: `slot position unavailable: ${slot.error}` };
  const s = slot.value;
  if (!s.exists) return { name, passed: false, detail: `replication slot ${s.slotName} does not exist on the source: run \`stream-migrate phase run ingestion\`` };
  if (s.lagBytes === null || s.confirmedLsn === null) return { name, passed: false, detail: `replication slot ${s.slotName} has confirmed nothing yet (current WAL ${s.currentLsn})` };
  return {
    name,
    passed: s.lagBytes <= maxBytes,
    detail: `${s.slotName} confirmed ${s.confirmedLsn}, ${formatBytes(s.lagBytes)} behind the source's current WAL ${s.currentLsn} (at most ${formatBytes(maxBytes)})${s.active ? '' : '; the slot has no active reader'}`,
  };
}

function groupCheck(role: 'processor' | 'sink', groups: Observed<readonly GroupObservation[]>, maxLag: number): GateCheck {
  const name = `${role}-group`;
  if (!groups.ok) return { name, passed: false, detail: `consumer groups unavailable: ${groups.error}` };
  const g = groups.value.find((x) => x.role === role);
  if (!g || !g.exists) return { name, passed: false, detail: `consumer group ${g?.group ?? `of the ${role}`} does not exist: run \`stream-migrate phase run processing\`` };
  const state = g.state.toUpperCase();
  if (state === 'EMPTY' || state === 'DEAD' || state === 'UNKNOWN') {
    return { name, passed: false, detail: `consumer group ${g.group} has no live members (${g.state}): start the ${role} workers (\`stream-migrate phase run processing\`)` };
  }
  return { name, passed: g.lag <= maxLag, detail: `${g.group} ${g.state} with live members, lag ${g.lag} (at most ${maxLag})` };
}

function workersCheck(workers: Observed<WorkersObservation>): GateCheck {
  const name = 'local-workers';
  if (!workers.ok) return { name, passed: false, detail: `worker status unavailable: ${workers.error}` };
  const w = workers.value;
  if (w.deploy === 'external') return { name, passed: true, detail: 'processor.deploy is external: workers are not supervised here (the groups show they are alive)' };
  if (w.workers.length === 0) return { name, passed: false, detail: 'no supervised local workers: run `stream-migrate phase run processing`' };
  const dead = w.workers.filter((x) => x.pid === null);
  return {
    name,
    passed: dead.length === 0,
    detail: dead.length === 0 ? `${w.workers.map((x) => `${x.name} (pid ${x.pid})`).join(', ')} alive` : `not running: ${dead.map((x) => x.name).join(', ')} (see \`stream-migrate workers status\`)`,
  };
}

/** The gate as a checklist, one line per check (`cutover` prints it; the demo logs its dry run). */
export function renderChecklist(checks: readonly GateCheck[]): string[] {
  return checks.map((c) => `[${c.passed ? 'x' : ' '}] ${c.name.padEnd(22)} ${c.detail}`);
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
