import { assertNever } from '../../core/assert-never.ts';
import { CheckFailedError } from '../../core/errors.ts';
import type { PlannedChange } from '../phase.ts';

export interface TopicState {
  readonly partitions: number;
  readonly replicationFactor: number;
  /** Only the configs that matter for comparison; extra keys on the broker are ignored. */
  readonly configs: Readonly<Record<string, string>>;
}

export type TopicChange =
  | { readonly kind: 'create'; readonly name: string; readonly spec: TopicState }
  | { readonly kind: 'update'; readonly name: string; readonly configs: Readonly<Record<string, string>>; readonly partitions?: number }
  | { readonly kind: 'delete'; readonly name: string };

/**
 * Compares declared topics with the broker's. Partitions only grow, and never for topics whose
 * keys are placed by partition count (`fixedPartitions` says why); replication factor is never
 * changed here (that is a reassignment). Undeclared topics are deleted only with `prune`, and only
 * when `isManaged` says stream-migrate owns them.
 */
export function diffTopics(
  desired: Readonly<Record<string, TopicState>>,
  actual: ReadonlyMap<string, TopicState>,
  options: { readonly prune: boolean; readonly isManaged: (name: string) => boolean; readonly fixedPartitions?: (name: string) => string | undefined },
): TopicChange[] {
  const changes: TopicChange[] = [];
  for (const [name, spec] of Object.entries(desired)) {
    const current = actual.get(name);
    if (!current) {
      changes.push({ kind: 'create', name, spec });
      continue;
    }
    if (spec.partitions < current.partitions) {
      throw new CheckFailedError(
        `topic ${name}: partitions cannot decrease from ${current.partitions} to ${spec.partitions} (Kafka cannot remove partitions, and keys would move to other partitions); declare ${current.partitions} or more, or recreate the topic by hand`,
        { details: { topic: name, current: current.partitions, declared: spec.partitions } },
      );
    }
    const fixed = spec.partitions !== current.partitions ? options.fixedPartitions?.(name) : undefined;
    if (fixed !== undefined) {
      throw new CheckFailedError(
        `topic ${name}: partitions cannot change from ${current.partitions} to ${spec.partitions} in place: ${fixed}. ${REPARTITION_PROCEDURE}; or declare ${current.partitions} again`,
        { details: { topic: name, current: current.partitions, declared: spec.partitions } },
      );
    }
    if (spec.replicationFactor !== current.replicationFactor) {
      throw new CheckFailedError(
        `topic ${name}: replication factor is ${current.replicationFactor} but ${spec.replicationFactor} is declared; changing it is a partition reassignment (kafka-reassign-partitions), not something stream-migrate does`,
        { details: { topic: name, current: current.replicationFactor, declared: spec.replicationFactor } },
      );
    }
    const configs = Object.fromEntries(Object.entries(spec.configs).filter(([key, value]) => current.configs[key] !== value));
    const partitions = spec.partitions > current.partitions ? spec.partitions : undefined;
    if (Object.keys(configs).length > 0 || partitions !== undefined) {
      changes.push({ kind: 'update', name, configs, ...(partitions !== undefined ? { partitions } : {}) });
    }
  }
  if (options.prune) {
    for (const name of actual.keys()) {
      if (!(name in desired) && options.isManaged(name)) changes.push({ kind: 'delete', name });
    }
  }
  return changes.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * What a new partition count for the stream's keyed topics takes: the state keyed by partition is
 * rebuilt from the source, not moved.
 */
export const REPARTITION_PROCEDURE =
  'Safe procedure: stop the workers (`stream-migrate dev down` or stop `processor run`/`sink run`), delete the processor topics and the output topics, ' +
  'delete the processor and sink consumer groups and the Debezium connector with its replication slot, truncate the ClickHouse *_versions tables, ' +
  'then set the new count for every co-partitioned topic at once and run the phases infrastructure, ingestion (a new snapshot), processing and output again';

/** The same changes in the plan's shape, with a readable diff. */
export function describeTopicChange(change: TopicChange, actual: ReadonlyMap<string, TopicState>): PlannedChange {
  const resource = `topic/${change.name}`;
  switch (change.kind) {
    case 'create': {
      const configs = Object.entries(change.spec.configs).map(([k, v]) => `${k}=${v}`);
      return { resource, action: 'create', diff: `partitions ${change.spec.partitions}, replication factor ${change.spec.replicationFactor}${configs.length ? `, ${configs.join(', ')}` : ''}` };
    }
    case 'update': {
      const current = actual.get(change.name);
      const lines = Object.entries(change.configs).map(([k, v]) => `${k}: ${current?.configs[k] ?? '(default)'} → ${v}`);
      if (change.partitions !== undefined) lines.unshift(`partitions: ${current?.partitions} → ${change.partitions}`);
      return { resource, action: 'update', diff: lines.join('\n') };
    }
    case 'delete':
      return { resource, action: 'delete', diff: 'not declared in the configuration (--prune)' };
    default:
      return assertNever(change);
  }
}
