import { withPostgres, type PostgresTarget } from '../clients/postgres.ts';
import { migrate, type MigrationResult } from '../state/migrator.ts';

/**
 * Creates the demo source tables (migrations/source) in the source database when missing.
 * Their history sits in the source's own `stream_migrate` schema; safe under concurrency.
 */
export async function ensureDemoSchema(source: PostgresTarget): Promise<MigrationResult> {
  return withPostgres(source, 'source', (client) => migrate(client, 'source', 'stream_migrate'));
}
