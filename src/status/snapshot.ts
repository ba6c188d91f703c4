/**
 * One snapshot of everything `status` shows. The same plain, JSON-safe object feeds the TUI,
 * `status --once` and `status --json`. Each section is collected concurrently with its own
 * timeout; a section that fails or does not answer becomes `{ error }`, so a service that is down
 * never makes the snapshot throw or wait longer than the slowest timeout.
 */
import type { Config } from '../config/schema.ts';
import { systemClock, type Clock } from '../core/clock.ts';
import { messageOf } from '../core/errors.ts';
import { withTimeout } from '../core/time.ts';
import { formatMoney, parseMoney } from '../domain/money.ts';
import type { ConnectClient, ConnectorState } from '../clients/connect.ts';
import type { ClickHouse } from '../clients/clickhouse.ts';
import type { PartitionLag, TopicAdmin } from '../clients/kafka.ts';
import type { ServiceName } from '../local-stack/paths.ts';
import type { ServiceStatus } from '../local-stack/stack.ts';
import type { WorkerStatus } from '../local-stack/workers.ts';
import { PHASE_NAMES, type PhaseName } from '../phases/phase.ts';
import { streamTopics, type StreamTopics } from '../stream/topics.ts';
import {
  alertsBySeveritySql,
  businessTotalsSql,
  latestAlertsSql,
  type AlertsBySeverityRow,
  type BusinessTotalsRow,
  type LatestAlertRow,
} from './clickhouse-queries.ts';

/** What a section holds when it could not be collected; `unavailable` when this build lacks it. */
export interface SectionError {
  readonly error: string;
  readonly unavailable?: true;
}

export type Section<T> = T | SectionError;

/** True for a section that could not be collected. */
export function isSectionError(section: unknown): section is SectionError {
  return typeof section === 'object' && section !== null && typeof (section as { error?: unknown }).error === 'string';
}

export type PhaseState = 'not_started' | 'running' | 'succeeded' | 'failed';

export interface PhaseRow {
  readonly name: PhaseName;
  readonly status: PhaseState;
  readonly lastRunAt: string | null;
  readonly finishedAt: string | null;
  readonly actor: string | null;
}

export interface ServiceRow {
  readonly name: ServiceName;
  readonly state: 'UP' | 'DOWN';
  readonly endpoint: string;
  readonly pid: number | null;
  readonly detail: string;
}

export interface WorkerRow {
  readonly name: string;
  readonly state: 'RUNNING' | 'DOWN';
  readonly pid: number | null;
}

export interface ConnectorTaskRow {
  readonly id: number;
  readonly state: ConnectorState;
  readonly workerId: string;
  /** First line of the Java trace of a FAILED task. */
  readonly trace: string | null;
}

export interface ConnectorInfo {
  readonly name: string;
  /** ABSENT: Connect answers but has no connector of this name (ingestion not run yet). */
  readonly state: ConnectorState | 'ABSENT';
  readonly workerId: string | null;
  readonly trace: string | null;
  readonly tasks: readonly ConnectorTaskRow[];
}

export type TopicRole = keyof StreamTopics | 'declared';

export interface TopicRow {
  readonly name: string;
  readonly role: TopicRole;
  readonly exists: boolean;
  readonly partitions: number;
  /** Sum of the partitions' log end offsets. */
  readonly endOffset: number;
  /** Records appended per second since the previous snapshot; null on the first one. */
  readonly recordsPerSecond: number | null;
}

export interface GroupTopicLag {
  readonly topic: string;
  readonly partitions: number;
  readonly committed: number;
  readonly end: number;
  readonly lag: number;
}

export interface GroupRow {
  readonly groupId: string;
  readonly role: 'processor' | 'sink';
  /** The coordinator's state (STABLE, EMPTY, ...), or ABSENT when the group is unknown to Kafka. */
  readonly state: string;
  readonly lag: number;
  readonly committed: number;
  readonly topics: readonly GroupTopicLag[];
  /** Records committed (consumed) per second since the previous snapshot; null on the first one. */
  readonly recordsPerSecond: number | null;
}

export interface ReportTableRow {
  readonly name: string;
  readonly batchRows: number | null;
  readonly streamRows: number | null;
  readonly missingInStream: number | null;
  readonly missingInBatch: number | null;
  readonly mismatched: number | null;
}

export interface ReportRow {
  readonly id: number;
  readonly windowFrom: string;
  readonly windowTo: string;
  readonly verdict: 'PASS' | 'FAIL';
  readonly elapsedMs: number;
  readonly actor: string;
  readonly createdAt: string;
  readonly tables: readonly ReportTableRow[];
}

export type CutoverState = 'dual-run' | 'cut-over' | 'rolled-back';

export interface CutoverCheck {
  readonly name: string;
  readonly passed: boolean;
  readonly detail: string;
}

export interface CutoverInfo {
  readonly state: CutoverState;
  readonly allowed: boolean;
  readonly checks: readonly CutoverCheck[];
}

export interface BusinessFigures {
  readonly windowFrom: string;
  readonly windowTo: string;
  readonly orders: number;
  /** Sum of final amounts, a decimal string with two places. */
  readonly revenue: string;
  /** revenue / orders rounded half-even to cents; null without orders. */
  readonly averageOrderValue: string | null;
  readonly fraudAlerts: number;
  /** alerts / orders as a fraction; null without orders. */
  readonly fraudRate: number | null;
  readonly alertsBySeverity: Readonly<Record<string, number>>;
}

export interface AlertRow {
  readonly orderId: number;
  readonly customerId: number;
  readonly finalAmount: string;
  readonly severity: string;
  readonly reason: string;
  readonly createdAt: string;
  readonly alertedAt: string;
}

export interface StatusSnapshot {
  readonly takenAt: string;
  /** How long collecting took. */
  readonly elapsedMs: number;
  readonly phases: Section<{ readonly phases: readonly PhaseRow[] }>;
  readonly services: Section<{ readonly services: readonly ServiceRow[]; readonly workers: readonly WorkerRow[] }>;
  readonly connector: Section<ConnectorInfo>;
  readonly topics: Section<{ readonly topics: readonly TopicRow[] }>;
  /** The processor's and the sink's groups; `otherGroups` counts the cluster's other groups. */
  readonly groups: Section<{ readonly groups: readonly GroupRow[]; readonly otherGroups: number }>;
  readonly validation: Section<{ readonly reports: readonly ReportRow[] }>;
  readonly cutover: Section<CutoverInfo>;
  readonly business: Section<BusinessFigures>;
  readonly alerts: Section<{ readonly alerts: readonly AlertRow[] }>;
}

export const SECTION_NAMES = ['phases', 'services', 'connector', 'topics', 'groups', 'validation', 'cutover', 'business', 'alerts'] as const;

/** A raw row of the latest validation reports query. */
export interface ValidationReportDbRow {
  readonly id: string | number;
  readonly window_from: Date;
  readonly window_to: Date;
  readonly verdict: string;
  readonly elapsed_ms: number;
  readonly actor: string;
  readonly created_at: Date;
  readonly tables: unknown;
}

export interface PhaseRunDbRow {
  readonly phase: string;
  readonly status: string;
  readonly started_at: Date;
  readonly finished_at: Date | null;
  readonly actor: string;
}

/** The small interfaces the snapshot reads; `openStatusSources` gives the real ones. */
export interface StatusSources {
  readonly serviceNames: readonly ServiceName[];
  /** Probes one service for real; never throws for a service that is down (it says so). */
  probeService(name: ServiceName): Promise<ServiceStatus>;
  workers(): readonly WorkerStatus[];
  readonly kafka: Pick<TopicAdmin, 'listTopics' | 'endOffsets' | 'groupLag' | 'listGroups'>;
  readonly connect: Pick<ConnectClient, 'status'>;
  readonly clickhouse: Pick<ClickHouse, 'query'>;
  latestPhaseRuns(): Promise<readonly PhaseRunDbRow[]>;
  latestValidationReports(limit: number): Promise<readonly ValidationReportDbRow[]>;
  /** The cutover gate; undefined when this build has no gate module. */
  gate(): Promise<unknown>;
  close(): Promise<void>;
}

export interface SnapshotContext {
  readonly config: Config;
  readonly sources: StatusSources;
  readonly clock?: Clock;
  /** Per section; default 3 s. The cutover gate gets twice as long (it asks several services). */
  readonly sectionTimeoutMs?: number;
  /** Applied to every error message (secrets registered with the command's redactor). */
  readonly redact?: (text: string) => string;
}

export const DEFAULT_SECTION_TIMEOUT_MS = 3_000;
export const BUSINESS_WINDOW_MS = 60 * 60 * 1000;
const LATEST_REPORTS = 5;
const LATEST_ALERTS = 10;

/**
 * Collects every section concurrently. `previous` (the last snapshot) turns offsets into
 * records/s. Never throws: a failing or slow section is reported in place.
 */
export async function collectSnapshot(ctx: SnapshotContext, previous?: StatusSnapshot): Promise<StatusSnapshot> {
  const clock = ctx.clock ?? systemClock;
  const started = clock.now();
  const timeoutMs = ctx.sectionTimeoutMs ?? DEFAULT_SECTION_TIMEOUT_MS;
  const redact = ctx.redact ?? ((text: string) => text);
  const { sources, config } = ctx;
  const run = <T>(name: string, fn: () => Promise<T>, ms = timeoutMs): Promise<Section<T>> => section(sources, name, fn, ms, redact);

  const [phases, services, connector, topics, groups, validation, cutover, business, alerts] = await Promise.all([
    run('phases', async () => ({ phases: phaseRows(await sources.latestPhaseRuns()) })),
    // Each service has its own timeout inside; the section's is only a backstop.
    run('services', () => servicesSection(sources, timeoutMs, redact), timeoutMs + 1_000),
    run('connector', () => connectorSection(sources, config.connector.name)),
    run('topics', () => topicsSection(sources, config, started, previous)),
    run('groups', () => groupsSection(sources, config, started, previous)),
    run('validation', async () => ({ reports: (await sources.latestValidationReports(LATEST_REPORTS)).map(reportRow) })),
    cutoverSection(sources, timeoutMs * 2, redact),
    run('business', () => businessSection(sources, config.clickhouse.database, started)),
    run('alerts', async () => ({ alerts: (await sources.clickhouse.query<LatestAlertRow>(latestAlertsSql(config.clickhouse.database, LATEST_ALERTS))).map(alertRow) })),
  ]);
  return { takenAt: started.toISOString(), elapsedMs: clock.now().getTime() - started.getTime(), phases, services, connector, topics, groups, validation, cutover, business, alerts };
}

/**
 * A call still running from an earlier refresh is awaited again rather than started twice, so
 * a service that hangs holds one request at most, however often the screen refreshes.
 */
const inflight = new WeakMap<StatusSources, Map<string, Promise<unknown>>>();

function once<T>(sources: StatusSources, key: string, fn: () => Promise<T>): Promise<T> {
  let pending = inflight.get(sources);
  if (!pending) inflight.set(sources, (pending = new Map()));
  const existing = pending.get(key);
  if (existing) return existing as Promise<T>;
  const promise = (async () => fn())().finally(() => pending.delete(key));
  pending.set(key, promise);
  return promise;
}

async function section<T>(sources: StatusSources, name: string, fn: () => Promise<T>, ms: number, redact: (text: string) => string): Promise<Section<T>> {
  try {
    return await withTimeout(once(sources, name, fn), ms);
  } catch (error) {
    return { error: redact(oneLine(messageOf(error))) };
  }
}

/** Rejects after `ms` without cancelling `promise` (its late result is dropped or reused by `once`). */

function oneLine(text: string): string {
  const first = text.split('\n')[0] ?? '';
  return first.length > 300 ? `${first.slice(0, 297)}...` : first;
}

function phaseRows(runs: readonly PhaseRunDbRow[]): PhaseRow[] {
  const latest = new Map(runs.map((r) => [r.phase, r]));
  return PHASE_NAMES.map((name) => {
    const run = latest.get(name);
    const status: PhaseState = run && (run.status === 'running' || run.status === 'succeeded' || run.status === 'failed') ? run.status : 'not_started';
    return { name, status, lastRunAt: run ? iso(run.started_at) : null, finishedAt: run?.finished_at ? iso(run.finished_at) : null, actor: run?.actor ?? null };
  });
}

/** Each service separately, so one that hangs shows DOWN while the others report. */
async function servicesSection(sources: StatusSources, ms: number, redact: (text: string) => string) {
  const services = await Promise.all(
    sources.serviceNames.map(async (name): Promise<ServiceRow> => {
      try {
        const s = await withTimeout(once(sources, `service:${name}`, () => sources.probeService(name)), ms);
        return { name, state: s.healthy ? 'UP' : 'DOWN', endpoint: s.endpoint, pid: s.pid, detail: redact(oneLine(s.detail)) };
      } catch (error) {
        return { name, state: 'DOWN', endpoint: '', pid: null, detail: redact(oneLine(messageOf(error))) };
      }
    }),
  );
  const workers = sources.workers().map((w): WorkerRow => ({ name: w.name, state: w.pid === null ? 'DOWN' : 'RUNNING', pid: w.pid }));
  return { services, workers };
}

async function connectorSection(sources: StatusSources, name: string): Promise<ConnectorInfo> {
  const status = await sources.connect.status(name);
  if (!status) return { name, state: 'ABSENT', workerId: null, trace: null, tasks: [] };
  return {
    name,
    state: status.connector.state,
    workerId: status.connector.workerId,
    trace: firstLine(status.connector.trace),
    tasks: status.tasks.map((t) => ({ id: t.id, state: t.state, workerId: t.workerId, trace: firstLine(t.trace) })),
  };
}

function firstLine(text: string | undefined): string | null {
  return text ? oneLine(text) : null;
}

/** The pipeline's topics in flow order, then any other declared in `topics:`. */
export function pipelineTopics(config: Config): readonly { readonly name: string; readonly role: TopicRole }[] {
  const topics = streamTopics(config);
  const order: readonly (keyof StreamTopics)[] = ['orders', 'customers', 'products', 'ordersByCustomer', 'changelog', 'processedOrders', 'orderSummaries', 'fraudAlerts', 'deadLetter'];
  const listed = order.map((role) => ({ name: topics[role], role: role as TopicRole }));
  const known = new Set(listed.map((t) => t.name));
  const declared = Object.keys(config.topics)
    .filter((name) => !known.has(name))
    .map((name) => ({ name, role: 'declared' as const }));
  return [...listed, ...declared];
}

async function topicsSection(sources: StatusSources, config: Config, at: Date, previous: StatusSnapshot | undefined) {
  const existing = new Set(await sources.kafka.listTopics());
  const before = previous && !isSectionError(previous.topics) ? new Map(previous.topics.topics.map((t) => [t.name, t])) : undefined;
  const topics = await Promise.all(
    pipelineTopics(config).map(async ({ name, role }): Promise<TopicRow> => {
      if (!existing.has(name)) return { name, role, exists: false, partitions: 0, endOffset: 0, recordsPerSecond: null };
      const ends = await sources.kafka.endOffsets(name);
      const endOffset = ends.reduce((sum, p) => sum + Number(p.offset), 0);
      const prior = before?.get(name);
      return { name, role, exists: true, partitions: ends.length, endOffset, recordsPerSecond: prior?.exists ? ratePerSecond(prior.endOffset, endOffset, previous?.takenAt, at) : null };
    }),
  );
  return { topics };
}

async function groupsSection(sources: StatusSources, config: Config, at: Date, previous: StatusSnapshot | undefined) {
  const listed = await sources.kafka.listGroups();
  const states = new Map(listed.map((g) => [g.groupId, g.state]));
  const wanted = [
    { groupId: config.processor.groupId, role: 'processor' as const },
    { groupId: config.sink.groupId, role: 'sink' as const },
  ];
  const before = previous && !isSectionError(previous.groups) ? new Map(previous.groups.groups.map((g) => [g.groupId, g])) : undefined;
  const groups = await Promise.all(
    wanted.map(async ({ groupId, role }): Promise<GroupRow> => {
      const lags = states.has(groupId) ? await sources.kafka.groupLag(groupId) : [];
      const topics = lagByTopic(lags);
      const committed = topics.reduce((sum, t) => sum + t.committed, 0);
      const prior = before?.get(groupId);
      return {
        groupId,
        role,
        state: states.get(groupId) ?? 'ABSENT',
        lag: topics.reduce((sum, t) => sum + t.lag, 0),
        committed,
        topics,
        recordsPerSecond: prior && prior.state !== 'ABSENT' ? ratePerSecond(prior.committed, committed, previous?.takenAt, at) : null,
      };
    }),
  );
  const mine = new Set(wanted.map((w) => w.groupId));
  return { groups, otherGroups: listed.filter((g) => !mine.has(g.groupId)).length };
}

function lagByTopic(lags: readonly PartitionLag[]): GroupTopicLag[] {
  const byTopic = new Map<string, { partitions: number; committed: number; end: number; lag: number }>();
  for (const p of lags) {
    const t = byTopic.get(p.topic) ?? { partitions: 0, committed: 0, end: 0, lag: 0 };
    t.partitions += 1;
    t.committed += p.committed === null ? 0 : Number(p.committed);
    t.end += Number(p.end);
    t.lag += Number(p.lag);
    byTopic.set(p.topic, t);
  }
  return [...byTopic].map(([topic, t]) => ({ topic, ...t }));
}

/**
 * Records per second between two readings of a monotone counter; null when there is no earlier
 * reading, no time passed, or the counter went back (a topic recreated, offsets reset).
 */
export function ratePerSecond(before: number, after: number, beforeAt: string | undefined, at: Date): number | null {
  if (beforeAt === undefined) return null;
  const seconds = (at.getTime() - Date.parse(beforeAt)) / 1000;
  if (!(seconds > 0) || after < before) return null;
  return Math.round(((after - before) / seconds) * 10) / 10;
}

function reportRow(row: ValidationReportDbRow): ReportRow {
  const tables = Array.isArray(row.tables) ? row.tables.filter(isRecord) : [];
  return {
    id: Number(row.id),
    windowFrom: iso(row.window_from),
    windowTo: iso(row.window_to),
    verdict: row.verdict === 'PASS' ? 'PASS' : 'FAIL',
    elapsedMs: Number(row.elapsed_ms),
    actor: row.actor,
    createdAt: iso(row.created_at),
    tables: tables.map((t) => ({
      name: typeof t.name === 'string' ? t.name : '?',
      batchRows: count(t.batchRows),
      streamRows: count(t.streamRows),
      missingInStream: count(t.missingInStream),
      missingInBatch: count(t.missingInBatch),
      mismatched: count(t.mismatched),
    })),
  };
}

/** Report counts may be numbers, numeric strings, or arrays of samples (their length). */
function count(value: unknown): number | null {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  if (Array.isArray(value)) return value.length;
  return null;
}

async function cutoverSection(sources: StatusSources, ms: number, redact: (text: string) => string): Promise<Section<CutoverInfo>> {
  let gate: unknown;
  try {
    gate = await withTimeout(once(sources, 'cutover', () => sources.gate()), ms);
  } catch (error) {
    return { error: redact(oneLine(messageOf(error))) };
  }
  if (gate === undefined) return { error: 'cutover gate not available in this build (src/cutover/gate.ts)', unavailable: true };
  const parsed = parseGate(gate);
  return parsed ?? { error: 'cutover gate answered in an unexpected shape' };
}

/** Type guard for what `gatherGate` returns. */
export function parseGate(value: unknown): CutoverInfo | undefined {
  if (!isRecord(value) || typeof value.allowed !== 'boolean' || !Array.isArray(value.checks)) return undefined;
  const state = value.state;
  if (state !== 'dual-run' && state !== 'cut-over' && state !== 'rolled-back') return undefined;
  const checks: CutoverCheck[] = [];
  for (const c of value.checks) {
    if (!isRecord(c) || typeof c.name !== 'string' || typeof c.passed !== 'boolean') return undefined;
    checks.push({ name: c.name, passed: c.passed, detail: typeof c.detail === 'string' ? c.detail : '' });
  }
  return { state, allowed: value.allowed, checks };
}

async function businessSection(sources: StatusSources, database: string, at: Date): Promise<BusinessFigures> {
  const from = new Date(at.getTime() - BUSINESS_WINDOW_MS);
  const fromSeconds = Math.floor(from.getTime() / 1000);
  const [totals, severities] = await Promise.all([
    sources.clickhouse.query<BusinessTotalsRow>(businessTotalsSql(database, fromSeconds)),
    sources.clickhouse.query<AlertsBySeverityRow>(alertsBySeveritySql(database, fromSeconds)),
  ]);
  return businessFigures(totals[0], severities, new Date(fromSeconds * 1000), at);
}

/** The dashboard's figures from the raw query rows; money stays in integer cents throughout. */
export function businessFigures(totals: BusinessTotalsRow | undefined, severities: readonly AlertsBySeverityRow[], from: Date, to: Date): BusinessFigures {
  const orders = Number(totals?.orders ?? 0);
  const revenueCents = parseMoney(normaliseMoney(totals?.revenue_text ?? '0'));
  const alertsBySeverity: Record<string, number> = { HIGH: 0, MEDIUM: 0 };
  for (const row of severities) alertsBySeverity[row.severity] = (alertsBySeverity[row.severity] ?? 0) + Number(row.alert_count);
  const fraudAlerts = Object.values(alertsBySeverity).reduce((a, b) => a + b, 0);
  return {
    windowFrom: from.toISOString(),
    windowTo: to.toISOString(),
    orders,
    revenue: formatMoney(revenueCents),
    averageOrderValue: orders > 0 ? formatMoney(divideHalfEven(revenueCents, orders)) : null,
    fraudAlerts,
    fraudRate: orders > 0 ? fraudAlerts / orders : null,
    alertsBySeverity,
  };
}

/** ClickHouse prints a Decimal sum with its scale ("12.50") but an empty sum may come as "0". */
function normaliseMoney(text: string): string {
  const [whole = '0', fraction = ''] = text.trim().split('.');
  return `${whole}.${fraction.padEnd(2, '0')}`;
}

/** Integer division rounded half to even (banker's rounding), as money is rounded everywhere else. */
export function divideHalfEven(numerator: number, denominator: number): number {
  if (denominator === 0) throw new RangeError('division by zero');
  const sign = Math.sign(numerator) * Math.sign(denominator) < 0 ? -1 : 1;
  const n = Math.abs(numerator);
  const d = Math.abs(denominator);
  const quotient = Math.floor(n / d);
  const twice = 2 * (n - quotient * d);
  const rounded = twice > d || (twice === d && quotient % 2 === 1) ? quotient + 1 : quotient;
  return sign * rounded || 0;
}

function alertRow(row: LatestAlertRow): AlertRow {
  return {
    orderId: Number(row.order_id),
    customerId: Number(row.customer_id),
    finalAmount: row.final_amount_text,
    severity: row.severity,
    reason: row.reason,
    createdAt: new Date(Number(row.created_ts) * 1000).toISOString(),
    alertedAt: new Date(Number(row.alerted_ts) * 1000).toISOString(),
  };
}

function iso(value: Date | string): string {
  return (value instanceof Date ? value : new Date(value)).toISOString();
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
