import type { ConnectClient } from '../../clients/connect.ts';
import type { Config } from '../../config/schema.ts';
import { CheckFailedError } from '../../core/errors.ts';
import type { PhaseStep, PlannedChange } from '../phase.ts';
import { buildConnectorConfig, diffConnectorConfig, POSTGRES_CONNECTOR_CLASS } from './connector-config.ts';

export type ConnectorConfigApi = Pick<ConnectClient, 'validate' | 'getConfig' | 'putConfig'>;

/**
 * The Debezium connector's config converges on the desired one through Connect's REST API:
 * validated first (Debezium checks it against the database), then `PUT /connectors/{name}/config`.
 */
export function connectorStep(config: Config, connect: ConnectorConfigApi): PhaseStep {
  const name = config.connector.name;

  const diff = async () => {
    const desired = buildConnectorConfig(config);
    return { desired, diff: diffConnectorConfig(await connect.getConfig(name), desired) };
  };

  return {
    name: 'connector',
    async plan(): Promise<readonly PlannedChange[]> {
      const { diff: d } = await diff();
      return d.action === 'none' ? [] : [{ resource: `connector ${name}`, action: d.action, diff: d.lines.join('\n') }];
    },
    async apply() {
      const { desired, diff: d } = await diff();
      if (d.action === 'none') return `connector ${name} config unchanged`;
      const validation = await connect.validate(POSTGRES_CONNECTOR_CLASS, { ...desired, name });
      if (validation.errors.length > 0) {
        const fields = validation.errors.map((e) => `${e.field}: ${e.messages.join('; ')}`);
        throw new CheckFailedError(`connector ${name}: Kafka Connect rejected the config: ${fields.join(' | ')}`, {
          details: { connector: name, errors: validation.errors },
        });
      }
      const { created } = await connect.putConfig(name, desired);
      const changed = d.lines.map((line) => line.replace(/^[+~-] /, '').split(/ = |:/)[0]);
      return created ? `connector ${name} created (${Object.keys(desired).length} settings)` : `connector ${name} updated: ${changed.join(', ')}`;
    },
    async verify() {
      const current = await connect.getConfig(name);
      if (current === undefined) throw new CheckFailedError(`connector ${name} does not exist in Kafka Connect; run \`stream-migrate phase run ingestion\``);
      const d = diffConnectorConfig(current, buildConnectorConfig(config));
      if (d.action !== 'none') {
        throw new CheckFailedError(`connector ${name} config differs from the configuration: ${d.lines.join(' | ')}; run \`stream-migrate phase run ingestion\``, {
          details: { connector: name, diff: d.lines },
        });
      }
      return `connector ${name} config matches (${Object.keys(current).filter((k) => k !== 'name').length} settings)`;
    },
  };
}
