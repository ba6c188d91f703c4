/**
 * Every ClickHouse statement the sink and its schema migrations issue (the DDL of the output
 * tables lives in migrations/clickhouse/). Written in the subset that both 18.16 and current
 * releases accept: no query parameters (values inlined through `quote`), one statement per
 * request, `IF NOT EXISTS` only on CREATE, DateTime as "YYYY-MM-DD hh:mm:ss", and no aggregate
 * aliased with the name of a column another aggregate reads.
 */
import { quote } from '../clients/clickhouse.ts';
import { UsageError } from '../core/errors.ts';
import { OUTPUT_TABLES, type OutputTableName } from '../domain/output-tables.ts';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Database and table names are inlined, so they must be plain identifiers. */
export function identifier(name: string): string {
  if (!IDENTIFIER.test(name)) throw new UsageError(`ClickHouse name ${JSON.stringify(name)} is not a plain identifier (letters, digits, _)`);
  return name;
}

/** The token in migration files that stands for the target database. */
export const DATABASE_TOKEN = '{{database}}';

export function renderMigration(sql: string, database: string): string {
  return sql.split(DATABASE_TOKEN).join(identifier(database));
}

export function createDatabaseSql(database: string): string {
  return `CREATE DATABASE IF NOT EXISTS ${identifier(database)}`;
}

/**
 * The migration history. Concurrent appliers may both record a version: ReplacingMergeTree folds
 * the duplicates away eventually and `appliedMigrationsSql` groups them meanwhile.
 */
export function createHistorySql(database: string): string {
  return `CREATE TABLE IF NOT EXISTS ${identifier(database)}.schema_migrations (
  version     UInt32,
  name        String,
  checksum    String,
  applied_at  DateTime
) ENGINE = ReplacingMergeTree(applied_at)
ORDER BY version`;
}

export interface AppliedMigrationRow {
  readonly version: number;
  readonly name: string;
  readonly checksum: string;
}

export function appliedMigrationsSql(database: string): string {
  return `SELECT version, any(name) AS name, any(checksum) AS checksum FROM ${identifier(database)}.schema_migrations GROUP BY version ORDER BY version`;
}

export function recordMigrationSql(database: string, migration: { readonly version: number; readonly name: string; readonly checksum: string }, at: Date): string {
  const appliedAt = at.toISOString().slice(0, 19).replace('T', ' ');
  return `INSERT INTO ${identifier(database)}.schema_migrations (version, name, checksum, applied_at) VALUES (${migration.version}, ${quote(migration.name)}, ${quote(migration.checksum)}, ${quote(appliedAt)})`;
}

/**
 * An insert whose data follows the statement in the same request body. The rows are JSON text
 * built by sink-rows.ts, so Decimal values arrive exactly as written (the client's own insert
 * would pass them through JSON.stringify of JS numbers).
 */
export function insertRowsSql(database: string, storageTable: string, lines: readonly string[]): string {
  return `INSERT INTO ${identifier(database)}.${identifier(storageTable)} FORMAT JSONEachRow\n${lines.join('\n')}`;
}

/** Keys a view answers more than once; always empty when the storage and view are right. */
export function duplicateKeysSql(database: string, table: OutputTableName): string {
  const keys = OUTPUT_TABLES[table].streamKey.join(', ');
  return `SELECT ${keys}, count() AS copies FROM ${identifier(database)}.${table} GROUP BY ${keys} HAVING count() > 1`;
}

/** Rows and live keys of one table: versions kept in storage vs what its view answers. */
export function tableCountsSql(database: string, table: OutputTableName): string {
  const db = identifier(database);
  return `SELECT (SELECT count() FROM ${db}.${table}_versions) AS versions, (SELECT count() FROM ${db}.${table}) AS live`;
}
