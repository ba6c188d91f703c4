import type { ClickHouseSettings } from '../clients/clickhouse.ts';
import type { Config } from '../config/schema.ts';
import { isLocalStackClickHouse } from '../local-stack/local-target.ts';

/** The local stack's least-privilege ClickHouse users (src/local-stack/assets/clickhouse/users.xml.template). */
export const LOCAL_CLICKHOUSE_USERS = { sink: 'stream_sink', reader: 'stream_reader' } as const;

export type ClickHousePurpose = keyof typeof LOCAL_CLICKHOUSE_USERS;

/**
 * The ClickHouse settings for one purpose: `sink` writes the outputs, `reader` only reads them.
 * clickhouse.sinkUser / readUser when set; on the local stack its own least-privilege users;
 * otherwise clickhouse.username. Their grants cover the output database (clickhouse.database), so
 * another database (a test's, `--stream-database`) is reached as clickhouse.username.
 */
export function clickhouseAs(config: Pick<Config, 'clickhouse' | 'dev'>, purpose: ClickHousePurpose, database = config.clickhouse.database): ClickHouseSettings {
  const base = config.clickhouse;
  if (database !== base.database) return base;
  const user = purpose === 'sink' ? base.sinkUser : base.readUser;
  if (user) return { ...base, username: user.username, password: user.password };
  return isLocalStackClickHouse(base.url, config) ? { ...base, username: LOCAL_CLICKHOUSE_USERS[purpose], password: undefined } : base;
}
