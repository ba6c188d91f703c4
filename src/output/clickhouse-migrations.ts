import path from 'node:path';
import { quote, type ClickHouse } from '../clients/clickhouse.ts';
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
  files.forEach((file, i) => assertIdempotent(file, files.slice(0, i)));
  return files;
}

/**
 * The statements a ClickHouse migration may hold, each with what makes running it twice, or
 * concurrently with itself, safe. Parsed once by `statementKind`, for both the check of the files
 * and the guards `applyMigration` runs before the statement.
 */
type Statement =
  /** CREATE ... IF NOT EXISTS: a no-op when the object exists. A view's name is kept: only a view may be dropped later. */
  | { readonly kind: 'create' }
  | { readonly kind: 'create-view'; readonly view: string }
  /** ALTER TABLE x MODIFY COLUMN a T[, MODIFY COLUMN b U ...]: setting a column to the type it has is a no-op. */
  | { readonly kind: 'modify' }
  /**
   * One ADD COLUMN: 18.16 has no IF NOT EXISTS here, so the migrator skips it when the column
   * exists. It may extend the sorting key with that column in the same statement (the only way 18.16 allows).
   */
  | { readonly kind: 'add-column'; readonly table: string; readonly column: string }
  /** DROP TABLE IF EXISTS of a view, to recreate it with other columns (18.16 has no CREATE OR REPLACE VIEW, nor DROP VIEW). */
  | { readonly kind: 'drop-view'; readonly view: string };

const IDEMPOTENT_CREATE = /^CREATE\s+(?:TABLE|VIEW|MATERIALIZED\s+VIEW|DATABASE)\s+IF\s+NOT\s+EXISTS\s/i;
const CREATE_VIEW = /^CREATE\s+VIEW\s+IF\s+NOT\s+EXISTS\s+\{\{database\}\}\.(\w+)\s/i;
const IDEMPOTENT_MODIFY = /^ALTER\s+TABLE\s+\S+\s+MODIFY\s+COLUMN\s+\w+\s+[^,]+(?:,\s*MODIFY\s+COLUMN\s+\w+\s+[^,]+)*$/i;
const ADD_COLUMN = /^ALTER\s+TABLE\s+\{\{database\}\}\.(\w+)\s+ADD\s+COLUMN\s+(\w+)\s+[^,]+(?:,\s*MODIFY\s+ORDER\s+BY\s+\([\w\s,]+\))?$/i;
const DROP_TABLE = /^DROP\s+TABLE\s+IF\s+EXISTS\s+\{\{database\}\}\.(\w+)$/i;

/** What one migration's statement is, or undefined when it is none of the idempotent kinds. */
function statementKind(body: string): Statement | undefined {
  const view = CREATE_VIEW.exec(body);
  if (view) return { kind: 'create-view', view: view[1] ?? '' };
  if (IDEMPOTENT_CREATE.test(body)) return { kind: 'create' };
  if (IDEMPOTENT_MODIFY.test(body)) return { kind: 'modify' };
  const add = ADD_COLUMN.exec(body);
  if (add) return { kind: 'add-column', table: add[1] ?? '', column: add[2] ?? '' };
  const drop = DROP_TABLE.exec(body);
  if (drop) return { kind: 'drop-view', view: drop[1] ?? '' };
  return undefined;
}

/**
 * ClickHouse has neither transactions nor locks, so a migration must be safe to run twice and to
 * run concurrently with itself: exactly one statement of a `Statement` kind (a `DROP TABLE IF
 * EXISTS` only of a view an `earlier` file created), on a name qualified with the database token.
 */
export function assertIdempotent(file: MigrationFile, earlier: readonly MigrationFile[] = []): void {
  const body = statementOf(file);
  if (body.includes(';')) throw new MigrationIntegrityError(`migrations/clickhouse/${file.name} holds more than one statement; ClickHouse takes one per request, use one file each`);
  const statement = statementKind(body);
  if (statement?.kind === 'drop-view' && !earlier.some((e) => createsView(e, statement.view))) {
    throw new MigrationIntegrityError(`migrations/clickhouse/${file.name} drops ${statement.view}, which no earlier migration created as a view; only views are dropped (to be recreated)`);
  }
  if (!statement) {
    throw new MigrationIntegrityError(
      `migrations/clickhouse/${file.name} is not a CREATE ... IF NOT EXISTS, an ALTER TABLE ... MODIFY COLUMN or ADD COLUMN, or a DROP TABLE IF EXISTS of a view; ClickHouse migrations must be idempotent (no transactions to roll back a half-applied one)`,
    );
  }
  if (!body.includes(`${DATABASE_TOKEN}.`)) throw new MigrationIntegrityError(`migrations/clickhouse/${file.name} must name its objects as ${DATABASE_TOKEN}.name`);
}

function createsView(file: MigrationFile, view: string): boolean {
  const statement = statementKind(statementOf(file));
  return statement?.kind === 'create-view' && statement.view === view;
}

function statementOf(file: MigrationFile): string {
  return stripComments(file.sql).trim().replace(/;\s*$/, '');
}

function stripComments(sql: string): string {
  return sql.replace(/--[^\n]*/g, '');
}

/** Runs one migration's statement behind its kind's guard: an existing column skips ADD COLUMN, a table that is not a view stops a DROP. */
async function applyMigration(ch: ClickHouse, database: string, file: MigrationFile): Promise<void> {
  const statement = statementKind(statementOf(file));
  const add = statement?.kind === 'add-column' ? statement : undefined;
  if (add && (await hasColumn(ch, database, add.table, add.column))) return;
  if (statement?.kind === 'drop-view') {
    const engine = await engineOf(ch, database, statement.view);
    if (engine !== undefined && engine !== 'View') {
      throw new MigrationIntegrityError(`migrations/clickhouse/${file.name} would drop ${database}.${statement.view}, which is a ${engine} table, not the view it recreates; rename that table first`);
    }
  }
  try {
    await ch.command(renderMigration(file.sql, database));
  } catch (error) {
    // A concurrent applier added the column between the check and the ALTER.
    if (add && !(error instanceof StreamMigrateError) && (await hasColumn(ch, database, add.table, add.column))) return;
    throw error;
  }
}

async function hasColumn(ch: ClickHouse, database: string, table: string, column: string): Promise<boolean> {
  const rows = await ch.query<{ n: string | number }>(
    `SELECT toString(count()) AS n FROM system.columns WHERE database = ${quote(database)} AND table = ${quote(table)} AND name = ${quote(column)}`,
  );
  return Number(rows[0]?.n ?? 0) > 0;
}

async function engineOf(ch: ClickHouse, database: string, table: string): Promise<string | undefined> {
  const rows = await ch.query<{ engine: string }>(`SELECT engine FROM system.tables WHERE database = ${quote(database)} AND name = ${quote(table)}`);
  return rows[0]?.engine;
}

/**
 * Creates `database` if needed and applies the pending migrations in order, recording each in
 * `<database>.schema_migrations` (version, name, checksum, applied_at). `ch` may point at any
 * existing database (the target may not exist yet). Safe to run concurrently: every statement is
 * a no-op the second time (`Statement`), so a second applier's statements change nothing and its
 * duplicate history rows are grouped away. An applied file that changed, or a history ahead of this build, is refused.
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
      await applyMigration(ch, database, file);
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
