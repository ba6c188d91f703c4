import { createConnectClient } from '../../clients/connect.ts';
import { createSchemaRegistryClient } from '../../clients/schema-registry.ts';
import { lazySqlClient } from '../ingestion/sql.ts';
import type { Phase } from '../phase.ts';
import { connectClusterStep } from './connect-cluster-step.ts';
import { kafkaClusterStep } from './kafka-cluster-step.ts';
import { monitoringStep } from './monitoring-step.ts';
import { schemaRegistryStep } from './schema-registry-step.ts';
import { topicsStep } from './topics-step.ts';

/** Topics, the Connect cluster check, the schema registry's subjects and the monitoring endpoints. */
export const infrastructurePhase: Phase = {
  name: 'infrastructure',
  description: 'topics, Connect cluster check, schema registry, monitoring',
  async steps(ctx) {
    // Loaded on demand: the Kafka client library is slow to import and most commands never need it.
    const { createKafkaAdmin } = await import('../../clients/kafka.ts');
    const admin = createKafkaAdmin(ctx.config.kafka, 'infrastructure');
    const connect = createConnectClient(ctx.config.connect, { logger: ctx.logger });
    // The CDC topics' first schemas come from the source catalog.
    const source = lazySqlClient(ctx.config.source, 'source');
    return {
      steps: [
        kafkaClusterStep(ctx.config, admin),
        topicsStep(ctx.config, admin, ctx.options.prune),
        connectClusterStep(connect, ctx.config.connect.url),
        schemaRegistryStep(ctx.config, createSchemaRegistryClient(ctx.config.schemaRegistry), source),
        monitoringStep(ctx.config),
      ],
      async close() {
        await Promise.allSettled([admin.close(), source.close()]);
      },
    };
  },
};
