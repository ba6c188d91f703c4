/**
 * The ClickHouse adapter. Works against 18.16 (Debian's package) and current releases over HTTP:
 * no query parameters (values are inlined through `quote`), JSONEachRow in and out, UInt64 read
 * as strings, Decimal sent as JSON numbers.
 */
import { ClickHouseLogLevel, createClient, type ClickHouseClient, type ClickHouseClientConfigOptions } from '@clickhouse/client';
import type { Config } from '../config/schema.ts';
import { durationMs } from '../core/duration.ts';
import { DependencyError, messageOf } from '../core/errors.ts';
import { maskUrlPasswords } from '../core/redactor.ts';

export type ClickHouseSettings = Config['clickhouse'];

export interface ClickHouse {
  /** A statement without a result (DDL, INSERT ... SELECT). */
  command(sql: string): Promise<void>;
  /** A SELECT whose rows come back as objects. */
  query<T>(sql: string): Promise<T[]>;
  insert(table: string, rows: readonly Record<string, unknown>[]): Promise<void>;
  close(): Promise<void>;
}

/** A connection other than HTTP for the client to use (tests: an in-process ClickHouse, chdb). */
export type ClickHouseConnection = NonNullable<ClickHouseClientConfigOptions['connection']>;

export function createClickHouse(settings: ClickHouseSettings, database = settings.database, connection?: ClickHouseConnection): ClickHouse {
  const client: ClickHouseClient = createClient({
    ...(connection ? { connection } : {}),
    url: settings.url,
    username: settings.username,
    password: settings.password ?? '',
    database,
    request_timeout: settings.timeout === undefined ? 60_000 : durationMs(settings.timeout),
    // Callers turn failures into one-line errors; the client's own multi-line ERROR logs would
    // duplicate them (and scribble over the status TUI).
    log: { level: ClickHouseLogLevel.OFF },
    // Lets ISO-8601 timestamps with a zone in; 18.16 rejects most newer settings, this one it knows.
    clickhouse_settings: { date_time_input_format: 'best_effort' },
  });
  const wrap = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      throw clickhouseError(settings, what, error);
    }
  };
  return {
    command: (sql) => wrap('command', async () => void (await client.command({ query: sql }))),
    query: <T>(sql: string) => wrap('query', async () => (await client.query({ query: sql, format: 'JSONEachRow' })).json<T>()),
    insert: (table, rows) => wrap('insert', async () => void (await client.insert({ table, values: [...rows], format: 'JSONEachRow' }))),
    close: () => client.close(),
  };
}

/** Pings ClickHouse's `/ping` endpoint; the real probe of a healthy server. */
export async function pingClickHouse(url: string): Promise<void> {
  const response = await fetch(new URL('/ping', url), { signal: AbortSignal.timeout(5_000) });
  const body = await response.text();
  if (!response.ok || body.trim() !== 'Ok.') throw new Error(`/ping answered ${response.status} ${body.trim().slice(0, 80)}`);
}

/** SQL string literal, escaped for ClickHouse (both 18.16 and current). */
export function quote(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function clickhouseError(settings: ClickHouseSettings, what: string, error: unknown): Error {
  // Messages end up in phase runs and the audit log, which no redactor sees: never a URL's password.
  const message = maskUrlPasswords(messageOf(error));
  const url = maskUrlPasswords(settings.url);
  if (/ECONNREFUSED|ECONNRESET|ETIMEDOUT|socket hang up|fetch failed|Timeout/i.test(message)) {
    return new DependencyError(`ClickHouse at ${url} is unreachable: ${message}; is it running? for the local stack run \`stream-migrate dev up\``, {
      details: { service: 'clickhouse' },
      cause: error,
    });
  }
  // 192 unknown user, 193 wrong password, 516 authentication failed (newer releases): fix the configuration, retrying cannot help.
  const login = /Code: (192|193|516)\b/.exec(message);
  if (login) {
    return new DependencyError(`ClickHouse at ${url} refused user ${settings.username} (code ${login[1]}); check clickhouse.username and clickhouse.password (or clickhouse.sinkUser / readUser)`, {
      retriable: false,
      details: { service: 'clickhouse', user: settings.username },
      cause: error,
    });
  }
  const missing = /Table (\S+) doesn't exist|Database (\S+) doesn't exist/.exec(message);
  if (missing) {
    return new Error(`ClickHouse has no ${missing[1] ? `table ${missing[1]}` : `database ${missing[2]}`}: run \`stream-migrate phase run output\``, { cause: error });
  }
  // 18.16's error text does not match the client's parser, so the code and text are read from the message.
  const code = /Code: (\d+)/.exec(message)?.[1];
  const firstLine = message.split('\n')[0] ?? '';
  const text = /e\.displayText\(\) = (?:DB::Exception: )?(.*?)(?:, e\.what\(\) = .*)?$/.exec(firstLine)?.[1] ?? firstLine;
  return new Error(`ClickHouse ${what} failed${code ? ` (code ${code})` : ''}: ${text}`, { cause: error });
}
