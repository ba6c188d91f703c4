/**
 * One snapshot of everything `status` shows. The same plain, JSON-safe object feeds the TUI,
 * `status --once`, `status --json` and the pipeline and migration panels of `dashboard`. Each
 * section is collected concurrently with its own timeout; a section that fails or does not answer
 * becomes `{ error }`, so a service that is down never makes the snapshot throw or wait longer
 * than the slowest timeout. The queries live beside it (business, pipeline, migration).
 */
import type { Config } from '../config/schema.ts';
import { systemClock, type Clock } from '../core/clock.ts';
import { messageOf } from '../core/errors.ts';
import { withTimeout } from '../core/time.ts';
import type { ConnectClient } from '../clients/connect.ts';
import type { ClickHouse } from '../clients/clickhouse.ts';
import type { TopicAdmin } from '../clients/kafka.ts';
import type { ServiceName } from '../local-stack/paths.ts';
import type { ServiceStatus } from '../local-stack/stack.ts';
import type { WorkerStatus } from '../local-stack/workers.ts';
import { businessWindowStart, readBusinessFigures, readLatestAlerts, type AlertRow, type BusinessFigures } from './business.ts';
import { parseGate, phaseRows, reportRow, type CutoverInfo, type PhaseRow, type PhaseRunDbRow, type ReportRow, type ValidationReportDbRow } from './migration.ts';
import { connectorSection, groupsSection, servicesSection, topicsSection, type ConnectorInfo, type GroupRow, type ScalingRow, type ServiceRow, type TopicRow, type WorkerRow } from './pipeline.ts';
import { once, oneLine, sectionRunner, type Section } from './section.ts';

export { isSectionError, type Section, type SectionError } from './section.ts';

export interface StatusSnapshot {
  readonly takenAt: string;
  /** How long collecting took. */
  readonly elapsedMs: number;
  readonly phases: Section<{ readonly phases: readonly PhaseRow[] }>;
  readonly services: Section<{ readonly services: readonly ServiceRow[]; readonly workers: readonly WorkerRow[]; readonly scaling?: ScalingRow }>;
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

/** The small interfaces the snapshot reads; `openStatusSources` gives the real ones. */
export interface StatusSources {
  readonly serviceNames: readonly ServiceName[];
  /** Probes one service for real; never throws for a service that is down (it says so). */
  probeService(name: ServiceName): Promise<ServiceStatus>;
  workers(): readonly WorkerStatus[];
  /** The supervisor's scaling on lag, when it is on. */
  scaling?(): ScalingRow | undefined;
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
  const database = config.clickhouse.database;
  const run = sectionRunner(sources, timeoutMs, redact);

  const [phases, services, connector, topics, groups, validation, cutover, business, alerts] = await Promise.all([
    run('phases', async () => ({ phases: phaseRows(await sources.latestPhaseRuns()) })),
    // Each service has its own timeout inside; the section's is only a backstop.
    run('services', () => servicesSection(sources, timeoutMs, redact), timeoutMs + 1_000),
    run('connector', () => connectorSection(sources, config.connector.name)),
    run('topics', () => topicsSection(sources, config, started, previous)),
    run('groups', () => groupsSection(sources, config, started, previous)),
    run('validation', async () => ({ reports: (await sources.latestValidationReports(LATEST_REPORTS)).map(reportRow) })),
    cutoverSection(sources, timeoutMs * 2, redact),
    run('business', () => readBusinessFigures(sources.clickhouse, database, businessWindowStart(started), started)),
    run('alerts', async () => ({ alerts: await readLatestAlerts(sources.clickhouse, database, LATEST_ALERTS) })),
  ]);
  return { takenAt: started.toISOString(), elapsedMs: clock.now().getTime() - started.getTime(), phases, services, connector, topics, groups, validation, cutover, business, alerts };
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
