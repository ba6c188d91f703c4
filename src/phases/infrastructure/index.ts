import { createConnectClient } from '../../clients/connect.ts';
import type { Phase } from '../phase.ts';
import { connectClusterStep } from './connect-cluster-step.ts';
import { kafkaClusterStep } from './kafka-cluster-step.ts';
import { monitoringStep } from './monitoring-step.ts';
import { topicsStep } from './topics-step.ts';

/** Topics, the Connect cluster check and the monitoring endpoints. */
export const infrastructurePhase: Phase = {
  name: 'infrastructure',
  description: 'topics, Connect cluster check, monitoring',
  async steps(ctx) {
    // Loaded on demand: the Kafka client library is slow to import and most commands never need it.
    const { createKafkaAdmin } = await import('../../clients/kafka.ts');
    const admin = createKafkaAdmin(ctx.config.kafka, 'infrastructure');
    const connect = createConnectClient(ctx.config.connect);
    return {
      steps: [
        kafkaClusterStep(ctx.config, admin),
        topicsStep(ctx.config, admin, ctx.options.prune),
        connectClusterStep(connect, ctx.config.connect.url),
        monitoringStep(ctx.config),
      ],
      close: () => admin.close(),
    };
  },
};
