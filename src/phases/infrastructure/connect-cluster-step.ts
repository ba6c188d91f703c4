import { CheckFailedError } from '../../core/errors.ts';
import type { PhaseStep } from '../phase.ts';

export const DEBEZIUM_POSTGRES_CONNECTOR = 'io.debezium.connector.postgresql.PostgresConnector';

/** The part of the Connect REST client this step needs. */
export interface ConnectClusterInfo {
  info(): Promise<{ readonly version: string }>;
  plugins(): Promise<readonly { readonly className: string; readonly version?: string | undefined }[]>;
}

/** Kafka Connect answers and has the Debezium PostgreSQL connector installed. */
export function connectClusterStep(connect: ConnectClusterInfo, url: string): PhaseStep {
  return {
    name: 'connect-cluster',
    plan: async () => [],
    apply: async () => 'nothing to change',
    async verify() {
      const info = await connect.info();
      const plugin = (await connect.plugins()).find((p) => p.className === DEBEZIUM_POSTGRES_CONNECTOR);
      if (!plugin) {
        throw new CheckFailedError(`Kafka Connect ${info.version} at ${url} does not have ${DEBEZIUM_POSTGRES_CONNECTOR}; install the Debezium PostgreSQL connector on its plugin.path`);
      }
      return `Kafka Connect ${info.version}, Debezium PostgreSQL connector ${plugin.version ?? '(version unknown)'}`;
    },
  };
}
