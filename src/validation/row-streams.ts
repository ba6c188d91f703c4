/**
 * Row streams for the drill-down: both sides return rows in key order and are merged as they
 * arrive, so memory stays bounded by a fetch batch whatever the number of rows drilled into.
 * PostgreSQL through a server-side cursor, ClickHouse through the HTTP client's streaming result.
 */
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import type pg from 'pg';
import type { ClickHouseSettings } from '../clients/clickhouse.ts';
import { unreachable, type PostgresTarget } from '../clients/postgres.ts';
import { DependencyError, messageOf, StreamMigrateError } from '../core/errors.ts';
import { maskUrlPasswords } from '../core/redactor.ts';

const FETCH_ROWS = 5_000;
const UNREACHABLE = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|socket hang up|fetch failed|Timeout|Connection terminated/i;

const prepared = new WeakSet<pg.PoolClient>();

/**
 * A pooled connection with the session settings validation relies on: literals as written
 * (standard_conforming_strings) and room for the first pass's hash aggregate and the drill's sort.
 */
export async function checkout(pool: pg.Pool, target: PostgresTarget): Promise<pg.PoolClient> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw unreachable(target, 'warehouse', error);
  }
  if (!prepared.has(client)) {
    try {
      await client.query("SET standard_conforming_strings = on; SET work_mem = '128MB'");
    } catch (error) {
      client.release(true);
      throw postgresError(target, error);
    }
    prepared.add(client);
  }
  return client;
}

/** Rows of `sql` through a cursor in its own transaction; the cursor is closed when the consumer stops early. */
export async function* postgresRows<T extends pg.QueryResultRow>(pool: pg.Pool, target: PostgresTarget, sql: string): AsyncGenerator<T> {
  const client = await checkout(pool, target);
  let open = false;
  let failed = false;
  try {
    await client.query('BEGIN READ ONLY');
    open = true;
    await client.query(`DECLARE drill NO SCROLL CURSOR FOR ${sql}`);
    for (;;) {
      const { rows } = await client.query<T>(`FETCH FORWARD ${FETCH_ROWS} FROM drill`);
      if (rows.length === 0) break;
      yield* rows;
    }
  } catch (error) {
    failed = true;
    throw postgresError(target, error);
  } finally {
    if (open) await client.query('ROLLBACK').catch(() => undefined);
    client.release(failed ? true : undefined);
  }
}

/** Maps a dropped connection to exit 3; other errors (SQL) pass through as they are. */
export function postgresError(target: PostgresTarget, error: unknown): unknown {
  if (error instanceof StreamMigrateError) return error;
  return UNREACHABLE.test(messageOf(error)) ? unreachable(target, 'warehouse', error) : error;
}

/** A ClickHouse client of its own: streamed results, long timeouts (the shared adapter returns whole arrays within 60 s). */
export interface ClickHouseStreamer {
  rows<T>(sql: string): AsyncGenerator<T>;
  /** All rows of a small result (first pass, plan, details). */
  all<T>(sql: string): Promise<T[]>;
  close(): Promise<void>;
}

export function createClickHouseStreamer(settings: ClickHouseSettings): ClickHouseStreamer {
  const client: ClickHouseClient = createClient({
    url: settings.url,
    username: settings.username,
    password: settings.password ?? '',
    // A drill over a large window sorts before its first byte; errors are reported by the caller, not logged.
    request_timeout: 600_000,
    log: { level: ClickHouseLogLevel.OFF },
  });
  return {
    async *rows<T>(sql: string): AsyncGenerator<T> {
      try {
        const result = await client.query({ query: sql, format: 'JSONEachRow' });
        for await (const batch of result.stream<T>()) {
          for (const row of batch) yield row.json();
        }
      } catch (error) {
        throw clickhouseStreamError(settings, error);
      }
    },
    async all<T>(sql: string): Promise<T[]> {
      try {
        return await (await client.query({ query: sql, format: 'JSONEachRow' })).json<T>();
      } catch (error) {
        throw clickhouseStreamError(settings, error);
      }
    },
    close: () => client.close(),
  };
}

function clickhouseStreamError(settings: ClickHouseSettings, error: unknown): Error {
  const message = messageOf(error);
  if (UNREACHABLE.test(message)) {
    return new DependencyError(`ClickHouse at ${maskUrlPasswords(settings.url)} is unreachable: ${maskUrlPasswords(message)}; is it running? for the local stack run \`stream-migrate dev up\``, {
      details: { service: 'clickhouse' },
      cause: error,
    });
  }
  const code = /Code: (\d+)/.exec(message)?.[1];
  return new Error(`ClickHouse query failed${code ? ` (code ${code})` : ''}: ${message.split('\n')[0]}`, { cause: error });
}
