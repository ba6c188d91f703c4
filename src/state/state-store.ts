import type pg from 'pg';
import { connectPostgres, createPostgresPool, unreachable, type PostgresTarget } from '../clients/postgres.ts';
import { AuditLog } from './audit-log.ts';
import { migrate, type MigrationResult } from './migrator.ts';

export const STATE_SCHEMA = 'stream_migrate';

/** The control-plane state in the warehouse database, migrated to this build's schema on open. */
export interface StateStore {
  readonly pool: pg.Pool;
  readonly audit: AuditLog;
  readonly migrations: MigrationResult;
  close(): Promise<void>;
}

/** Connects to the warehouse, applies pending state migrations (safely under concurrency), returns the store. */
export async function openStateStore(warehouse: PostgresTarget): Promise<StateStore> {
  const client = await connectPostgres(warehouse, 'warehouse', 'stream-migrate-migrate');
  let migrations: MigrationResult;
  try {
    migrations = await migrate(client, 'state', STATE_SCHEMA);
  } finally {
    await client.end().catch(() => undefined);
  }
  const pool = createPostgresPool(warehouse, 4, 'stream-migrate');
  try {
    await pool.query('SELECT 1');
  } catch (error) {
    await pool.end();
    throw unreachable(warehouse, 'warehouse', error);
  }
  return { pool, audit: new AuditLog(pool), migrations, close: () => pool.end() };
}
