import type { Config } from '../../config/schema.ts';
import type { KafkaAdmin } from '../../clients/kafka.ts';
import { CheckFailedError } from '../../core/errors.ts';
import type { PhaseStep } from '../phase.ts';

/** The brokers answer and there are enough of them for the declared replication factors. */
export function kafkaClusterStep(config: Config, admin: KafkaAdmin): PhaseStep {
  return {
    name: 'kafka-cluster',
    plan: async () => [],
    apply: async () => 'nothing to change',
    async verify() {
      const cluster = await admin.cluster();
      const needed = Math.max(1, ...Object.values(config.topics).map((t) => t.replicationFactor));
      if (cluster.brokers < needed) {
        throw new CheckFailedError(`Kafka has ${cluster.brokers} broker(s) but a topic declares replication factor ${needed}; lower it in topics or add brokers`);
      }
      return `cluster ${cluster.clusterId}, ${cluster.brokers} broker(s)`;
    },
  };
}
