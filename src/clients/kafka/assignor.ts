import type { ClusterMetadata, GroupPartitionsAssigner } from '@platformatic/kafka';
import type { TopicAssignment } from './records.ts';

/**
 * Co-partitioned assignment (pure; Kafka Streams' rule for joins): for each topic, the members
 * subscribed to it are sorted by id and partition i goes to `sorted[i % n]`. When every member
 * subscribes to the same topics, partition i of every topic lands on the same member, so state
 * keyed like the input (same key, same partitioner, same partition count) stays local.
 *
 * Topics with different partition counts are still assigned by i % n, so partition i still has
 * one owner across topics, and the larger topic's extra partitions continue the rotation. The
 * same key then lands on different partition numbers in the two topics (murmur2 % count), so
 * a join on it is not local: the caller should check the counts are equal when it relies on that.
 * Returns every member, possibly with nothing assigned (more members than partitions).
 */
export function copartitionedAssignment(
  subscriptions: ReadonlyMap<string, readonly string[]>,
  partitionCounts: ReadonlyMap<string, number>,
): Map<string, TopicAssignment[]> {
  const members = [...subscriptions.keys()].sort();
  const result = new Map<string, TopicAssignment[]>(members.map((m) => [m, []]));
  const topics = [...new Set([...subscriptions.values()].flat())].sort();
  for (const topic of topics) {
    const count = partitionCounts.get(topic);
    if (count === undefined) continue;
    const subscribers = members.filter((m) => subscriptions.get(m)?.includes(topic));
    if (subscribers.length === 0) continue;
    const byMember = new Map<string, number[]>();
    for (let partition = 0; partition < count; partition++) {
      const owner = subscribers[partition % subscribers.length]!;
      const owned = byMember.get(owner) ?? [];
      owned.push(partition);
      byMember.set(owner, owned);
    }
    for (const [owner, partitions] of byMember) result.get(owner)!.push({ topic, partitions });
  }
  return result;
}

/** The library's assigner hook over `copartitionedAssignment`; it runs on the group leader only. */
export const copartitionedAssigner: GroupPartitionsAssigner = (_current, members, topics, metadata: ClusterMetadata) => {
  // A member's subscription lists its topics; the leader's own set stands in when one does not.
  const subscriptions = new Map([...members].map(([memberId, subscription]) => [memberId, subscription.topics ?? [...topics]] as const));
  const counts = new Map<string, number>();
  for (const topic of new Set([...subscriptions.values()].flat())) {
    const described = metadata.topics.get(topic);
    if (described) counts.set(topic, described.partitionsCount);
  }
  return [...copartitionedAssignment(subscriptions, counts)].map(([memberId, assigned]) => ({
    memberId,
    assignments: new Map(assigned.map((a) => [a.topic, { topic: a.topic, partitions: [...a.partitions] }] as const)),
  }));
};

/** Narrows the library's `GroupAssignment[]` (from the join event) into sorted, frozen data. */
export function toAssignment(assignments: unknown): readonly TopicAssignment[] {
  if (!Array.isArray(assignments)) return [];
  const result: TopicAssignment[] = [];
  for (const entry of assignments as unknown[]) {
    if (typeof entry !== 'object' || entry === null) continue;
    const topic: unknown = Reflect.get(entry, 'topic');
    const partitions: unknown = Reflect.get(entry, 'partitions');
    if (typeof topic !== 'string' || !Array.isArray(partitions)) continue;
    const numbers = (partitions as unknown[]).filter((p): p is number => typeof p === 'number').sort((a, b) => a - b);
    if (numbers.length > 0) result.push(Object.freeze({ topic, partitions: Object.freeze(numbers) }));
  }
  return Object.freeze(result.sort((a, b) => a.topic.localeCompare(b.topic)));
}
