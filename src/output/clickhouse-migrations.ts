import path from 'node:path';
import type { ClickHouse } from '../clients/clickhouse.ts';
import { messageOf, StreamMigrateError } from '../core/errors.ts';
import { MIGRATIONS_DIR, MigrationIntegrityError, readMigrations, type MigrationFile, type MigrationResult } from '../state/migrator.ts';
import {
  appliedMigrationsSql,
  createDatabaseSql,
  createHistorySql,
  DATABASE_TOKEN,
  recordMigrationSql,
  renderMigration,
  type AppliedMigrationRow,
} from './clickhouse-sql.ts';

export const CLICKHOUSE_MIGRATIONS_DIR = path.join(MIGRATIONS_DIR, 'clickhouse');

/** The `NNNN_name.sql` files of migrations/clickhouse/, in order, each checked to be one idempotent statement. */
export function readClickHouseMigrations(dir = CLICKHOUSE_MIGRATIONS_DIR): readonly MigrationFile[] {
  const files = readMigrations('clickhouse', dir);
  for (const file of files) assertIdempotent(file);
  return files;
}

const IDEMPOTENT_CREATE = /^CREATE\s+(?:TABLE|VIEW|MATERIALIZED\s+VIEW|DATABASE)\s+IF\s+NOT\s+EXISTS\s/i;
/** ALTER TABLE x MODIFY COLUMN a T[, MODIFY COLUMN b U ...]: setting a column to the type it has is a no-op, so re-running is safe. */
const IDEMPOTENT_MODIFY = /^ALTER\s+TABLE\s+\S+\s+MODIFY\s+COLUMN\s+\w+\s+[^,]+(?:,\s*MODIFY\s+COLUMN\s+\w+\s+[^,]+)*$/i;

/**
 * ClickHouse has neither transactions nor locks, so a migration must be safe to run twice and to
 * run concurrently with itself: exactly one statement, a `CREATE ... IF NOT EXISTS` or an
 * `ALTER TABLE ... MODIFY COLUMN` (only), on a name qualified with the database token.
 */
export function assertIdempotent(file: MigrationFile): void {
  const body = stripComments(file.sql).trim().replace(/;\s*$/, '');
  if (body.includes(';')) throw new MigrationIntegrityError(`migrations/clickhouse/${file.name} holds more than one statement; ClickHouse takes one per request, use one file each`);
  if (!IDEMPOTENT_CREATE.test(body) && !IDEMPOTENT_MODIFY.test(body)) {
    throw new MigrationIntegrityError(
      `migrations/clickhouse/${file.name} is not a CREATE ... IF NOT EXISTS or an ALTER TABLE ... MODIFY COLUMN; ClickHouse migrations must be idempotent (no transactions to roll back a half-applied one)`,
    );
  }
  if (!body.includes(`${DATABASE_TOKEN}.`)) throw new MigrationIntegrityError(`migrations/clickhouse/${file.name} must name its objects as ${DATABASE_TOKEN}.name`);
}

function stripComments(sql: string): string {
  return sql.replace(/--[^\n]*/g, '');
}

/**
 * Creates `database` if needed and applies the pending migrations in order, recording each in
 * `<database>.schema_migrations` (version, name, checksum, applied_at). `ch` may point at any
 * existing database (the target may not exist yet). Safe to run concurrently: every statement is
 * `IF NOT EXISTS`, so a second applier's statements are no-ops and its duplicate history rows are
 * grouped away. An applied file that changed, or a history ahead of this build, is refused.
 */
export async function migrateClickHouse(ch: ClickHouse, database: string, options: { readonly files?: readonly MigrationFile[]; readonly now?: () => Date } = {}): Promise<MigrationResult> {
  const files = options.files ?? readClickHouseMigrations();
  const now = options.now ?? (() => new Date());
  await ch.command(createDatabaseSql(database));
  await ch.command(createHistorySql(database));
  const rows = (await ch.query<AppliedMigrationRow>(appliedMigrationsSql(database))).map((r) => ({ ...r, version: Number(r.version) }));
  const known = new Map(files.map((f) => [f.version, f]));
  for (const row of rows) {
    const file = known.get(row.version);
    if (!file) {
      throw new MigrationIntegrityError(`ClickHouse ${database}: migration ${row.name} was applied but this build does not have it; upgrade stream-migrate before running it here`);
    }
    if (file.checksum !== row.checksum) {
      throw new MigrationIntegrityError(`migrations/clickhouse/${file.name} changed after it was applied to ${database}; migrations are append-only, add a new file instead`);
    }
  }
  const done = new Set(rows.map((r) => r.version));
  const applied: string[] = [];
  for (const file of files) {
    if (done.has(file.version)) continue;
    try {
      await ch.command(renderMigration(file.sql, database));
    } catch (error) {
      // Unreachable stays a DependencyError (exit 3, retriable); a refused statement is the file's fault.
      if (error instanceof StreamMigrateError) throw error;
      throw new MigrationIntegrityError(`migrations/clickhouse/${file.name} failed on ${database}: ${messageOf(error)}`, { cause: error });
    }
    await ch.command(recordMigrationSql(database, file, now()));
    applied.push(file.name);
  }
  return { applied, alreadyApplied: rows.length };
}
