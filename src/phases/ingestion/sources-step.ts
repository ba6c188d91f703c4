import type { TopicAdmin } from '../../clients/kafka.ts';
import type { Config } from '../../config/schema.ts';
import { CheckFailedError } from '../../core/errors.ts';
import { ensureSourceTopics, sourceOffsetsTopic, sourceSpecs } from '../../sources/source-topics.ts';
import { streamTopics } from '../../stream/topics.ts';
import type { PhaseStep, PlannedChange } from '../phase.ts';

/**
 * The order sources besides CDC (sources.http, sources.files): each one's topic, co-partitioned
 * with the orders topic, and the offsets topic their workers commit positions to. The workers
 * themselves are started with the processors by `phase run processing`. The phase adds this step
 * only when sources are configured.
 */
export function sourcesStep(config: Config, kafka: Pick<TopicAdmin, 'createTopics' | 'describeTopics'>): PhaseStep {
  const specs = sourceSpecs(config);
  const ordersTopic = streamTopics(config).orders;
  const wanted = [...specs.map((s) => s.topic), sourceOffsetsTopic(config)];
  const missing = async () => {
    const existing = new Set((await kafka.describeTopics(wanted)).map((d) => d.name));
    return wanted.filter((t) => !existing.has(t));
  };
  return {
    name: 'order-sources',
    async plan(): Promise<readonly PlannedChange[]> {
      const absent = await missing();
      if (absent.length === 0) return [{ resource: 'sources', action: 'none', diff: '' }];
      return absent.map((t) => ({ resource: `topic/${t}`, action: 'create' as const, diff: `create topic ${t}` }));
    },
    async apply() {
      const created = await ensureSourceTopics(kafka, config, ordersTopic, specs);
      return `source topics: ${created.length} created`;
    },
    async verify() {
      const described = new Map((await kafka.describeTopics([ordersTopic, ...wanted])).map((d) => [d.name, d.partitions]));
      const absent = wanted.filter((t) => !described.has(t));
      if (absent.length > 0) throw new CheckFailedError(`source topics missing: ${absent.join(', ')}; run \`stream-migrate phase run ingestion\``);
      const partitions = described.get(ordersTopic);
      const mismatched = specs.filter((s) => described.get(s.topic) !== partitions);
      if (mismatched.length > 0) throw new CheckFailedError(`source topics ${mismatched.map((s) => s.topic).join(', ')} must have as many partitions as ${ordersTopic} (${partitions})`);
      return `${specs.length} source(s): ${specs.map((s) => `${s.name} (${s.channel}) → ${s.topic}`).join(', ')}`;
    },
  };
}
