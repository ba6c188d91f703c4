import type { TopicAdmin } from '../clients/kafka.ts';
import type { Config } from '../config/schema.ts';
import { UsageError } from '../core/errors.ts';
import { sleep } from '../core/time.ts';
import type { Channel } from '../domain/output-tables.ts';

/** One configured order source, whichever its kind. */
export type SourceSpec =
  | { readonly kind: 'http'; readonly channel: Channel; readonly name: string; readonly topic: string; readonly config: Config['sources']['http'][number] }
  | { readonly kind: 'files'; readonly channel: Channel; readonly name: string; readonly topic: string; readonly config: Config['sources']['files'][number] };

/** Where each source's position is kept: compacted, keyed by source name, written in the source's transactions. */
export function sourceOffsetsTopic(config: Config): string {
  return `${config.processor.topicPrefix}stream-migrate.sources.offsets`;
}

export function sourceSpecs(config: Config): readonly SourceSpec[] {
  const topic = (name: string, explicit: string | undefined) => explicit ?? `${config.processor.topicPrefix}stream-migrate.sources.${name}`;
  return [
    ...config.sources.http.map((c) => ({ kind: 'http' as const, channel: 'partner' as const, name: c.name, topic: topic(c.name, c.topic), config: c })),
    ...config.sources.files.map((c) => ({ kind: 'files' as const, channel: 'store' as const, name: c.name, topic: topic(c.name, c.topic), config: c })),
  ];
}

export function sourceSpec(config: Config, name: string): SourceSpec {
  const found = sourceSpecs(config).find((s) => s.name === name);
  if (!found) {
    const names = sourceSpecs(config).map((s) => s.name);
    throw new UsageError(`no source named ${name} in sources.http or sources.files${names.length > 0 ? ` (configured: ${names.join(', ')})` : ''}`);
  }
  return found;
}

/**
 * Creates the sources' topics that do not exist: each order topic with the orders topic's
 * partition count (stage 1 reads partition p of both as task p) and the offsets topic. Returns
 * what it created.
 */
export async function ensureSourceTopics(admin: Pick<TopicAdmin, 'createTopics' | 'describeTopics'>, config: Config, ordersTopic: string, specs = sourceSpecs(config)): Promise<readonly string[]> {
  const [orders] = await admin.describeTopics([ordersTopic]);
  if (!orders) throw new UsageError(`topic ${ordersTopic} does not exist; run \`stream-migrate phase run infrastructure\` first`);
  const replicationFactor = config.topics[ordersTopic]?.replicationFactor ?? 1;
  const created = await admin.createTopics([
    ...specs.map((s) => ({ name: s.topic, partitions: orders.partitions, replicationFactor, configs: { 'cleanup.policy': 'compact' } })),
    { name: sourceOffsetsTopic(config), partitions: 1, replicationFactor, configs: { 'cleanup.policy': 'compact' } },
  ]);
  // A topic created a moment ago reaches the metadata a little later: the step's verify (and a
  // worker about to produce) must see every one (the demo's verify once missed two of three).
  for (let attempt = 0; created.length > 0 && attempt < 40; attempt++) {
    const visible = new Set((await admin.describeTopics(created)).filter((d) => d.partitions > 0).map((d) => d.name));
    if (created.every((t) => visible.has(t))) break;
    await sleep(250);
  }
  return created;
}
