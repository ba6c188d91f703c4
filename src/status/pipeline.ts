/**
 * The pipeline's health as the services tell it: the local services and workers, the Debezium
 * connector, the topics with their rates, and the processor's and sink's consumer groups with
 * their lag. Shared by `status` and `dashboard`; every function reads through `StatusSources`.
 */
import type { Config } from '../config/schema.ts';
import { messageOf } from '../core/errors.ts';
import { withTimeout } from '../core/time.ts';
import type { ConnectorState } from '../clients/connect.ts';
import type { PartitionLag } from '../clients/kafka.ts';
import type { ServiceName } from '../local-stack/paths.ts';
import { streamTopics, type StreamTopics } from '../stream/topics.ts';
import { isSectionError, once, oneLine } from './section.ts';
import type { StatusSnapshot, StatusSources } from './snapshot.ts';

export interface ServiceRow {
  readonly name: ServiceName;
  readonly state: 'UP' | 'DOWN';
  readonly endpoint: string;
  readonly pid: number | null;
  readonly detail: string;
}

export interface WorkerRow {
  readonly name: string;
  readonly state: 'RUNNING' | 'DOWN' | 'FAILED';
  readonly pid: number | null;
}

/** Processor workers scaling on lag: the bounds, the count now and the last decision. */
export interface ScalingRow {
  readonly processors: number;
  readonly minWorkers: number;
  readonly maxWorkers: number;
  readonly lastDecision?: { readonly at: string; readonly from: number; readonly to: number; readonly reason: string; readonly lag: number };
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

/** Each service separately, so one that hangs shows DOWN while the others report. */
export async function servicesSection(sources: StatusSources, ms: number, redact: (text: string) => string) {
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
  const workers = sources.workers().map((w): WorkerRow => ({ name: w.name, state: w.failed ? 'FAILED' : w.pid === null ? 'DOWN' : 'RUNNING', pid: w.pid }));
  const scaling = sources.scaling?.();
  return { services, workers, ...(scaling ? { scaling } : {}) };
}

export async function connectorSection(sources: StatusSources, name: string): Promise<ConnectorInfo> {
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
  const order: readonly Exclude<keyof StreamTopics, 'sourceOrders'>[] = ['orders', 'customers', 'products', 'ordersByCustomer', 'ordersByProduct', 'changelog', 'processedOrders', 'orderSummaries', 'fraudAlerts', 'deadLetter'];
  const listed = order.map((role) => ({ name: topics[role], role: role as TopicRole }));
  const known = new Set(listed.map((t) => t.name));
  const declared = Object.keys(config.topics)
    .filter((name) => !known.has(name))
    .map((name) => ({ name, role: 'declared' as const }));
  return [...listed, ...declared];
}

export async function topicsSection(sources: StatusSources, config: Config, at: Date, previous: Pick<StatusSnapshot, 'takenAt' | 'topics'> | undefined) {
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

export async function groupsSection(sources: StatusSources, config: Config, at: Date, previous: Pick<StatusSnapshot, 'takenAt' | 'groups'> | undefined) {
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
