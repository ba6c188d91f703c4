import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { StreamMigrateError } from '../core/errors.ts';

export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

export interface MigrationFile {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
  readonly checksum: string;
}

export interface MigrationResult {
  readonly applied: readonly string[];
  readonly alreadyApplied: number;
}

/** An applied migration's file changed, or the history is ahead of this build. */
export class MigrationIntegrityError extends StreamMigrateError {
  readonly code = 'MIGRATION_INTEGRITY';
  readonly exitCode = 1 as const;
  readonly retriable = false;
}

/** The `NNNN_name.sql` files of one migration set (state, warehouse, source), in version order. */
export function readMigrations(set: string, dir = path.join(MIGRATIONS_DIR, set)): readonly MigrationFile[] {
  return fs
    .readdirSync(dir)
    .filter((file) => /^\d{4}_[\w-]+\.sql$/.test(file))
    .sort()
    .map((file) => {
      const sql = fs.readFileSync(path.join(dir, file), 'utf8');
      return { version: Number(file.slice(0, 4)), name: file, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}

/**
 * Applies pending migrations of `set` in order, each in its own transaction, under a
 * PostgreSQL advisory lock so two commands starting at once apply each migration once.
 * The history lives in `<historySchema>.schema_migrations`.
 */
export async function migrate(client: pg.Client, set: string, historySchema: string, files = readMigrations(set)): Promise<MigrationResult> {
  const lockKey = `stream-migrate:migrate:${historySchema}`;
  await client.query('SELECT pg_advisory_lock(hashtext($1))', [lockKey]);
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${historySchema}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${historySchema}.schema_migrations (
      set         text        NOT NULL,
      version     integer     NOT NULL,
      name        text        NOT NULL,
      checksum    text        NOT NULL,
      applied_at  timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (set, version)
    )`);
    const { rows } = await client.query<{ version: number; name: string; checksum: string }>(
      `SELECT version, name, checksum FROM ${historySchema}.schema_migrations WHERE set = $1 ORDER BY version`,
      [set],
    );
    const known = new Map(files.map((f) => [f.version, f]));
    for (const row of rows) {
      const file = known.get(row.version);
      if (!file) {
        throw new MigrationIntegrityError(
          `${historySchema}: migration ${row.name} was applied but this build does not have it; upgrade stream-migrate before running it here`,
        );
      }
      if (file.checksum !== row.checksum) {
        throw new MigrationIntegrityError(`migrations/${set}/${file.name} changed after it was applied; migrations are append-only, add a new file instead`);
      }
    }
    const applied: string[] = [];
    const done = new Set(rows.map((r) => r.version));
    for (const file of files) {
      if (done.has(file.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(file.sql);
        await client.query(`INSERT INTO ${historySchema}.schema_migrations (set, version, name, checksum) VALUES ($1, $2, $3, $4)`, [
          set,
          file.version,
          file.name,
          file.checksum,
        ]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw new MigrationIntegrityError(`migrations/${set}/${file.name} failed: ${(error as Error).message}`, { cause: error });
      }
      applied.push(file.name);
    }
    return { applied, alreadyApplied: rows.length };
  } finally {
    await client.query('SELECT pg_advisory_unlock(hashtext($1))', [lockKey]);
  }
}
