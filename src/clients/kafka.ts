/**
 * The Kafka adapter: the only module that imports the Kafka client library, so the rest of the
 * code depends on the small interfaces here. (Which library, and why, is in
 * docs/decisions/kafka-client.md.)
 */
import fs from 'node:fs';
import { Admin, type ConnectionOptions } from '@platformatic/kafka';
import type { Config } from '../config/schema.ts';
import { DependencyError, messageOf } from '../core/errors.ts';

export interface ClusterSummary {
  readonly clusterId: string;
  readonly brokers: number;
  readonly controllerId: number;
  readonly topics: number;
}

export interface KafkaAdmin {
  /** A metadata request: proves a broker answers the Kafka protocol, not only TCP. */
  cluster(): Promise<ClusterSummary>;
  close(): Promise<void>;
}

export type KafkaSettings = Pick<Config, 'kafka'>['kafka'];

/** Connection options shared by every client: SASL and TLS from the configuration. */
export function connectionOptions(kafka: KafkaSettings): ConnectionOptions {
  const sasl = kafka.sasl
    ? {
        sasl: {
          mechanism: ({ plain: 'PLAIN', 'scram-sha-256': 'SCRAM-SHA-256', 'scram-sha-512': 'SCRAM-SHA-512' } as const)[kafka.sasl.mechanism],
          username: kafka.sasl.username,
          password: kafka.sasl.password,
        },
      }
    : {};
  const ssl = kafka.ssl;
  const tls =
    ssl === true
      ? { tls: {} }
      : ssl && typeof ssl === 'object'
        ? {
            tls: {
              ...(ssl.ca ? { ca: fs.readFileSync(ssl.ca) } : {}),
              ...(ssl.cert ? { cert: fs.readFileSync(ssl.cert) } : {}),
              ...(ssl.key ? { key: fs.readFileSync(ssl.key) } : {}),
              ...(ssl.rejectUnauthorized !== undefined ? { rejectUnauthorized: ssl.rejectUnauthorized } : {}),
            },
          }
        : {};
  return { connectTimeout: 5_000, requestTimeout: 30_000, ...sasl, ...tls };
}

export function createKafkaAdmin(kafka: KafkaSettings, clientSuffix = 'admin'): KafkaAdmin {
  const admin = new Admin({
    clientId: `${kafka.clientId}-${clientSuffix}`,
    bootstrapBrokers: [...kafka.brokers],
    retries: 0,
    ...connectionOptions(kafka),
  });
  return {
    async cluster() {
      try {
        const metadata = await admin.metadata({ topics: [], forceUpdate: true });
        return { clusterId: metadata.id, brokers: metadata.brokers.size, controllerId: metadata.controllerId, topics: metadata.topics.size };
      } catch (error) {
        throw kafkaUnreachable(kafka, error);
      }
    },
    close: () => admin.close(),
  };
}

export function kafkaUnreachable(kafka: KafkaSettings, error: unknown): DependencyError {
  return new DependencyError(
    `Kafka at ${kafka.brokers.join(',')} is unreachable: ${messageOf(error)}; is it running? for the local stack run \`stream-migrate dev up\`, else check kafka.brokers`,
    { details: { service: 'kafka', brokers: kafka.brokers }, cause: error },
  );
}
