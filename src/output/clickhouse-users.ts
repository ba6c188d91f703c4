import type { ClickHouseSettings } from '../clients/clickhouse.ts';
import type { Config } from '../config/schema.ts';
import { DEFAULT_CONFIG } from '../config/defaults.ts';
import { isLocalStackClickHouse } from '../local-stack/local-target.ts';

/** The local stack's least-privilege ClickHouse users (src/local-stack/assets/clickhouse/users.xml.template). */
export const LOCAL_CLICKHOUSE_USERS = { sink: 'stream_sink', reader: 'stream_reader' } as const;

export type ClickHousePurpose = keyof typeof LOCAL_CLICKHOUSE_USERS;

/**
 * The ClickHouse settings for one purpose: `sink` writes the outputs, `reader` only reads them.
 * clickhouse.sinkUser / readUser when set; on the local stack its own least-privilege users;
 * otherwise clickhouse.username. Their grants cover the output database (clickhouse.database), so
 * another database (a test's, `--stream-database`) is reached as clickhouse.username. The local
 * users are granted the stack's database, `stream` unless `dev up` ran with another one; a working
 * directory that points at another database on the local stack (an isolated test run) reaches it
 * as clickhouse.username too, since the users cannot know it.
 */
export function clickhouseAs(config: Pick<Config, 'clickhouse' | 'dev'>, purpose: ClickHousePurpose, database = config.clickhouse.database): ClickHouseSettings {
  const base = config.clickhouse;
  if (database !== base.database) return base;
  const user = purpose === 'sink' ? base.sinkUser : base.readUser;
  if (user) return { ...base, username: user.username, password: user.password };
  const localUsersCover = isLocalStackClickHouse(base.url, config) && database === LOCAL_STACK_DATABASE;
  return localUsersCover ? { ...base, username: LOCAL_CLICKHOUSE_USERS[purpose], password: undefined } : base;
}

/** The output database `dev up` grants the local users by default. */
const LOCAL_STACK_DATABASE = DEFAULT_CONFIG.clickhouse.database;
