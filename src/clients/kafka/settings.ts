import fs from 'node:fs';
import type { ConnectionOptions } from '@platformatic/kafka';
import type { Config } from '../../config/schema.ts';
import { durationMs } from '../../core/duration.ts';

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
  const requestTimeout = kafka.timeout === undefined ? 30_000 : durationMs(kafka.timeout);
  return { connectTimeout: Math.min(5_000, requestTimeout), requestTimeout, ...sasl, ...tls };
}
