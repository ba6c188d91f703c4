import type { KafkaAdmin, PartitionLag } from './kafka.ts';

/**
 * Records a group still has to read. A transactional partition ends with a commit marker that a
 * consumer never receives, so its committed offset stays one short of the end: a lag of 1 on a
 * partition counts as caught up.
 */
export function lagToRead(lags: readonly PartitionLag[]): bigint {
  return lags.reduce((n, l) => n + (l.lag > 1n ? l.lag : 0n), 0n);
}

/** Sets a gauge to each input topic's lag for a group; best effort (the next tick tries again). */
export async function reportLagByTopic(admin: KafkaAdmin, groupId: string, gauge: (value: number, labels?: Readonly<Record<string, string>>) => void): Promise<void> {
  try {
    const byTopic = new Map<string, PartitionLag[]>();
    for (const l of await admin.groupLag(groupId)) byTopic.set(l.topic, [...(byTopic.get(l.topic) ?? []), l]);
    for (const [topic, lags] of byTopic) gauge(Number(lagToRead(lags)), { topic });
  } catch {
    // Lag is best effort: the next tick tries again.
  }
}
