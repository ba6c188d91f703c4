import pg from 'pg';
import { durationMs } from '../core/duration.ts';
import { DependencyError, messageOf } from '../core/errors.ts';

export interface PostgresTarget {
  readonly url: string;
  readonly password?: string | undefined;
  /** How long to wait for a connection (a duration such as 10s); 10 s when absent. */
  readonly timeout?: string | undefined;
}

/** The part of a PostgreSQL URL that is safe to show: host, port and database. */
export function describeTarget(target: PostgresTarget): string {
  try {
    const url = new URL(target.url);
    return `${url.hostname}:${url.port || '5432'}${url.pathname}`;
  } catch {
    return 'PostgreSQL';
  }
}

function clientConfig(target: PostgresTarget, applicationName: string): pg.ClientConfig {
  return {
    connectionString: target.url,
    ...(target.password !== undefined ? { password: target.password } : {}),
    application_name: applicationName,
    connectionTimeoutMillis: connectTimeoutMs(target),
  };
}

function connectTimeoutMs(target: PostgresTarget): number {
  return target.timeout === undefined ? 10_000 : durationMs(target.timeout);
}

/** Opens one connection, turning "cannot connect" into a DependencyError that says where and what to do. */
export async function connectPostgres(target: PostgresTarget, role: string, applicationName = 'stream-migrate'): Promise<pg.Client> {
  const client = new pg.Client(clientConfig(target, applicationName));
  // An idle connection dropped by the server must not crash the process; the next query fails instead.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw unreachable(target, role, error);
  }
  return client;
}

/** A pool for workloads with concurrent queries (load generator, batch, validation). */
export function createPostgresPool(target: PostgresTarget, max: number, applicationName = 'stream-migrate'): pg.Pool {
  const pool = new pg.Pool({ ...clientConfig(target, applicationName), max });
  pool.on('error', () => undefined);
  return pool;
}

/** Runs `fn` with a connection that is always closed afterwards. */
export async function withPostgres<T>(target: PostgresTarget, role: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = await connectPostgres(target, role);
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function unreachable(target: PostgresTarget, role: string, error: unknown): DependencyError {
  const where = describeTarget(target);
  // pg says only "timeout expired": name the limit and the key that sets it.
  const reason = /^(Connection terminated due to connection )?timeout expired$/i.test(messageOf(error)) ? `no answer within ${connectTimeoutMs(target)} ms (${role}.timeout)` : messageOf(error);
  const hint = /ECONNREFUSED/.test(reason)
    ? 'is it running? for the local stack run `stream-migrate dev up`'
    : /does not exist/.test(reason)
      ? 'create it, or fix the database in the URL'
      : /password|authentication/i.test(reason)
        ? 'check the user and password in the configuration'
        : `check ${role}.url in the configuration`;
  return new DependencyError(`${role} PostgreSQL at ${where} is unreachable: ${reason}; ${hint}`, {
    details: { service: 'postgres', role, endpoint: where },
    cause: error,
  });
}
