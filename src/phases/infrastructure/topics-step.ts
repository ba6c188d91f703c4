import type { Config } from '../../config/schema.ts';
import type { TopicAdmin } from '../../clients/kafka.ts';
import { CheckFailedError } from '../../core/errors.ts';
import type { PhaseStep, PlannedChange } from '../phase.ts';
import { copartitionedTopics, streamTopics } from '../../stream/topics.ts';
import { describeTopicChange, diffTopics, type TopicChange, type TopicState } from './topic-diff.ts';

/**
 * Topics declared in `topics` converge on the broker: created when missing, config drift
 * corrected, partitions grown. With --prune, managed topics no longer declared are deleted.
 */
export function topicsStep(config: Config, admin: TopicAdmin, prune: boolean): PhaseStep {
  const desired: Record<string, TopicState> = Object.fromEntries(
    Object.entries(config.topics).map(([name, spec]) => [name, { partitions: spec.partitions, replicationFactor: spec.replicationFactor, configs: spec.configs }]),
  );
  // stream-migrate owns the CDC topics of its connector and its own `stream-migrate.` topics.
  const isManaged = (name: string) => name.startsWith(`${config.connector.topicPrefix}.`) || name.startsWith('stream-migrate.');
  const fixedPartitions = fixedPartitionReasons(config);

  const current = async (): Promise<Map<string, TopicState>> => {
    const existing = await admin.listTopics();
    const names = existing.filter((n) => n in desired || (prune && isManaged(n)));
    const described = await admin.describeTopics(names);
    return new Map(described.map((t) => [t.name, { partitions: t.partitions, replicationFactor: t.replicationFactor, configs: t.configs }]));
  };

  let planned: { changes: TopicChange[]; actual: Map<string, TopicState> } | undefined;
  const plan = async () => {
    const actual = await current();
    planned = { changes: diffTopics(desired, actual, { prune, isManaged, fixedPartitions: (name) => fixedPartitions.get(name) }), actual };
    return planned;
  };

  return {
    name: 'topics',
    async plan(): Promise<readonly PlannedChange[]> {
      const { changes, actual } = await plan();
      return changes.map((c) => describeTopicChange(c, actual));
    },
    async apply() {
      const { changes } = planned ?? (await plan());
      const counts = { created: 0, updated: 0, deleted: 0 };
      const creates = changes.filter((c): c is Extract<TopicChange, { kind: 'create' }> => c.kind === 'create');
      if (creates.length > 0) {
        await admin.createTopics(creates.map((c) => ({ name: c.name, ...c.spec })));
        counts.created = creates.length;
      }
      for (const change of changes) {
        if (change.kind === 'update') {
          if (change.partitions !== undefined) await admin.createPartitions(change.name, change.partitions);
          if (Object.keys(change.configs).length > 0) await admin.alterTopicConfigs(change.name, change.configs);
          counts.updated++;
        }
      }
      const deletes = changes.filter((c) => c.kind === 'delete').map((c) => c.name);
      if (deletes.length > 0) {
        await admin.deleteTopics(deletes);
        counts.deleted = deletes.length;
      }
      planned = undefined;
      return `topics: ${counts.created} created, ${counts.updated} updated, ${counts.deleted} deleted`;
    },
    async verify() {
      // Metadata of topics created a moment ago reaches every broker listener shortly after.
      let { changes } = await plan();
      for (let attempt = 0; changes.length > 0 && attempt < 20; attempt++) {
        await new Promise((r) => setTimeout(r, 500));
        ({ changes } = await plan());
      }
      planned = undefined;
      if (changes.length > 0) {
        throw new CheckFailedError(`topics still differ from the configuration: ${changes.map((c) => `${c.kind} ${c.name}`).join(', ')}`);
      }
      return `${Object.keys(desired).length} topics match the configuration`;
    },
  };
}

/**
 * Topics whose partition count the stream depends on, and why: a key's partition is its hash
 * modulo the count, so a new count sends a key's next versions to another partition than its
 * earlier ones (a changelog read out of order), strands state restored by partition, and breaks
 * the sink's use of offsets as versions.
 */
function fixedPartitionReasons(config: Config): Map<string, string> {
  const topics = streamTopics(config);
  const reasons = new Map<string, string>();
  for (const name of copartitionedTopics(topics)) reasons.set(name, 'it is co-partitioned with the stream state (partition p of every such topic is task p) and keyed by partition');
  for (const name of [topics.customers, topics.products]) reasons.set(name, 'it is a keyed CDC changelog: a key moved to another partition would be read out of order');
  return reasons;
}
