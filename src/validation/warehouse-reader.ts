import { withPostgres, type PostgresTarget } from '../clients/postgres.ts';
import type { Config } from '../config/schema.ts';
import { isLocalStackPostgres } from '../local-stack/local-target.ts';
import { BATCH_SCHEMA } from './provenance.ts';
import { OUTPUT_TABLES } from './tables.ts';

/** The local stack's read-only role for validation: SELECT on the batch outputs, nothing else. */
export const LOCAL_WAREHOUSE_READER = 'stream_migrate_reader';

/**
 * Where validation reads the batch outputs: warehouse.readUser when set; on the local stack the
 * read-only LOCAL_WAREHOUSE_READER (made here, SELECT on the outputs only); otherwise the
 * warehouse URL as it is. Another schema than the batch one (`--batch-schema`) is read as the URL's user.
 */
export async function warehouseReader(config: Pick<Config, 'warehouse' | 'dev'>, batchSchema: string): Promise<PostgresTarget> {
  const warehouse = config.warehouse;
  if (batchSchema !== BATCH_SCHEMA) return warehouse;
  if (warehouse.readUser) return { ...warehouse, url: withUser(warehouse.url, warehouse.readUser.username), password: warehouse.readUser.password };
  if (!isLocalStackPostgres(warehouse.url, config)) return warehouse;
  await withPostgres(warehouse, 'warehouse', async (client) => {
    // Idempotent, and cheap enough to run on every validation; roles are cluster-wide, so CREATE may race another validate.
    await client.query(`DO $$ BEGIN CREATE ROLE ${LOCAL_WAREHOUSE_READER} LOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`);
    await client.query(`GRANT USAGE ON SCHEMA ${BATCH_SCHEMA} TO ${LOCAL_WAREHOUSE_READER}`);
    const existing = await client.query<{ name: string }>(`SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = ANY($2::text[])`, [BATCH_SCHEMA, OUTPUT_TABLES]);
    for (const { name } of existing.rows) await client.query(`GRANT SELECT ON ${BATCH_SCHEMA}.${name} TO ${LOCAL_WAREHOUSE_READER}`);
  });
  return { ...warehouse, url: withUser(warehouse.url, LOCAL_WAREHOUSE_READER), password: undefined };
}

function withUser(url: string, user: string): string {
  const parsed = new URL(url);
  parsed.username = encodeURIComponent(user);
  parsed.password = '';
  return parsed.toString();
}
