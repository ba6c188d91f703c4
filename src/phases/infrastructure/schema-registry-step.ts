import type { SchemaRegistryClient } from '../../clients/schema-registry.ts';
import { valueSubject } from '../../clients/schema-registry.ts';
import type { Config } from '../../config/schema.ts';
import { CheckFailedError } from '../../core/errors.ts';
import { readCatalog } from '../../schemas/catalog.ts';
import { cdcValueSchema, outputValueSchema } from '../../schemas/json-schema.ts';
import { streamTopics } from '../../stream/topics.ts';
import type { OutputTableName } from '../../validation/tables.ts';
import type { SqlClient } from '../ingestion/sql.ts';
import { cdcTopic } from '../ingestion/connector-config.ts';
import type { PhaseStep, PlannedChange } from '../phase.ts';

interface DesiredSubject {
  readonly subject: string;
  /** A CDC subject gets only its first version here; later ones are the ingestion phase's drift check. */
  readonly schema: string;
  readonly owner: 'cdc' | 'output';
}

interface SubjectPlan extends DesiredSubject {
  readonly action: 'create' | 'update' | 'none';
  readonly compatibilityOk: boolean;
}

/**
 * Every topic the product reads or writes has a registered, versioned JSON Schema with the
 * configured compatibility: the CDC topics (version 1 from the source catalog; later versions are
 * the ingestion phase's drift check) and the output topics (from the output-table definitions).
 * Registering the same schema again adds no version.
 */
export function schemaRegistryStep(config: Config, registry: SchemaRegistryClient, sql: SqlClient): PhaseStep {
  const level = config.schemaRegistry.compatibility;
  const topics = streamTopics(config);
  const outputs: readonly [string, OutputTableName][] = [
    [topics.processedOrders, 'processed_orders'],
    [topics.orderSummaries, 'order_summaries'],
    [topics.fraudAlerts, 'fraud_alerts'],
  ];

  const desired = async (): Promise<{ subjects: DesiredSubject[]; missingTables: string[] }> => {
    const catalog = await readCatalog(sql, config.connector.tables);
    const subjects: DesiredSubject[] = [];
    const missingTables: string[] = [];
    for (const table of config.connector.tables) {
      const columns = catalog.get(table);
      if (!columns) missingTables.push(table);
      else subjects.push({ subject: valueSubject(cdcTopic(config.connector, table)), schema: cdcValueSchema(table, columns), owner: 'cdc' });
    }
    for (const [topic, table] of outputs) subjects.push({ subject: valueSubject(topic), schema: outputValueSchema(table), owner: 'output' });
    return { subjects, missingTables };
  };

  const plan = async (): Promise<{ plans: SubjectPlan[]; missingTables: string[] }> => {
    const { subjects, missingTables } = await desired();
    const plans = await Promise.all(
      subjects.map(async (d): Promise<SubjectPlan> => {
        const latest = await registry.latest(d.subject);
        const compatibilityOk = (await registry.compatibility(d.subject)) === level;
        // A CDC subject that exists evolves through the drift check, which knows what each change breaks.
        const action = latest === undefined ? 'create' : d.owner === 'output' && latest.schema !== d.schema ? 'update' : 'none';
        return { ...d, action, compatibilityOk };
      }),
    );
    return { plans, missingTables };
  };

  return {
    name: 'schema-registry',
    async plan(): Promise<readonly PlannedChange[]> {
      const { plans } = await plan();
      return plans
        .filter((p) => p.action !== 'none' || !p.compatibilityOk)
        .map((p) => ({
          resource: `schema ${p.subject}`,
          action: p.action === 'none' ? 'update' : p.action,
          diff: p.action === 'none' ? `~ compatibility → ${level}` : `${p.action === 'create' ? '+' : '~'} JSON Schema (${p.owner === 'cdc' ? 'from the source catalog' : 'from the output-table definition'}), compatibility ${level}`,
        }));
    },
    async apply() {
      const { plans } = await plan();
      let registered = 0;
      for (const p of plans) {
        if (!p.compatibilityOk) await registry.setCompatibility(p.subject, level);
        if (p.action === 'none') continue;
        await registry.register(p.subject, p.schema, 'JSON');
        registered++;
      }
      return `schemas: ${registered} registered`;
    },
    async verify() {
      const { plans, missingTables } = await plan();
      const off = plans.filter((p) => p.action !== 'none' || !p.compatibilityOk);
      if (off.length > 0) throw new CheckFailedError(`schema registry ${registry.url}: ${off.map((p) => p.subject).join(', ')} not registered as configured; run \`stream-migrate phase run infrastructure\``);
      const note = missingTables.length > 0 ? `; ${missingTables.join(', ')} not in the source yet (registered by \`phase run ingestion\`)` : '';
      return `${plans.length} subjects registered in ${registry.url} (${level})${note}`;
    },
  };
}
