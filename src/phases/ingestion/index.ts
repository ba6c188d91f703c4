import { createConnectClient } from '../../clients/connect.ts';
import { createSchemaRegistryClient } from '../../clients/schema-registry.ts';
import type { Phase } from '../phase.ts';
import { connectorRunningStep } from './connector-running.ts';
import { connectorStep } from './connector-step.ts';
import { sourcePreflightStep } from './preflight.ts';
import { publicationStep } from './publication.ts';
import { replicationRoleStep } from './replication-role.ts';
import { replicationSlotStep } from './replication-slot.ts';
import { signalTableStep } from './signal-table.ts';
import { sourceSchemaStep } from './source-schema-step.ts';
import { sourcesStep } from './sources-step.ts';
import { lazySqlClient } from './sql.ts';

/** Source database prepared, Debezium connector created, snapshot followed, replication slot watched. */
export const ingestionPhase: Phase = {
  name: 'ingestion',
  description: 'source preflight, source schema drift, replication role, signal table and publication, Debezium connector, snapshot, replication slot, order sources (partner API, store files)',
  async steps(ctx) {
    const sql = lazySqlClient(ctx.config.source, 'source');
    const connect = createConnectClient(ctx.config.connect, { logger: ctx.logger });
    // Loaded on demand: the Kafka client library is slow to import and most commands never need it.
    const { createKafkaAdmin } = await import('../../clients/kafka.ts');
    const kafka = createKafkaAdmin(ctx.config.kafka, 'ingestion', { retries: 2 });
    return {
      steps: [
        sourcePreflightStep(ctx.config, sql),
        // Before anything else changes: a breaking source change is refused while the stream still runs.
        sourceSchemaStep(ctx, sql, createSchemaRegistryClient(ctx.config.schemaRegistry)),
        replicationRoleStep(ctx.config, sql, ctx.logger),
        signalTableStep(ctx.config, sql),
        publicationStep(ctx.config, sql),
        connectorStep(ctx.config, connect),
        connectorRunningStep(ctx, connect, sql, kafka),
        replicationSlotStep(ctx.config, sql, ctx.logger),
        // Only with sources configured, so a CDC-only migration's plan is unchanged.
        ...(ctx.config.sources.http.length + ctx.config.sources.files.length > 0 ? [sourcesStep(ctx.config, kafka)] : []),
      ],
      async close() {
        await Promise.allSettled([sql.close(), kafka.close()]);
      },
    };
  },
};
