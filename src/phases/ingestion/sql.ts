/**
 * The slice of a PostgreSQL connection the ingestion steps use, and guards for the rows that come
 * back (pg returns int8 and numeric as strings, so numbers are read from either).
 */
import pg from 'pg';
import { connectPostgres, type PostgresTarget } from '../../clients/postgres.ts';

export interface SqlClient {
  query(text: string, values?: readonly unknown[]): Promise<{ readonly rows: readonly unknown[] }>;
}

/** One source connection opened on first use and closed by `close`. */
export function lazySqlClient(target: PostgresTarget, role: string): SqlClient & { close(): Promise<void> } {
  let client: Promise<pg.Client> | undefined;
  return {
    async query(text, values) {
      client ??= connectPostgres(target, role, 'stream-migrate-ingestion');
      // A failed connect is not cached, so the next step tries again and reports it.
      const connected = await client.catch((error: unknown) => {
        client = undefined;
        throw error;
      });
      return connected.query(text, values === undefined ? undefined : [...values]);
    },
    async close() {
      const pending = client;
      client = undefined;
      if (pending) await (await pending.catch(() => undefined))?.end().catch(() => undefined);
    },
  };
}

export type Row = Readonly<Record<string, unknown>>;

export function rowsOf(result: { readonly rows: readonly unknown[] }): readonly Row[] {
  return result.rows.map((row) => {
    if (typeof row !== 'object' || row === null || Array.isArray(row)) throw new TypeError(`expected a row object from PostgreSQL, got ${typeof row}`);
    return row as Row;
  });
}

export function firstRow(result: { readonly rows: readonly unknown[] }): Row | undefined {
  return rowsOf(result)[0];
}

export function text(row: Row, column: string): string {
  const value = row[column];
  if (typeof value !== 'string') throw new TypeError(`column ${column}: expected text, got ${value === null ? 'null' : typeof value}`);
  return value;
}

export function optionalText(row: Row, column: string): string | undefined {
  const value = row[column];
  if (value === null || value === undefined) return undefined;
  return text(row, column);
}

export function num(row: Row, column: string): number {
  const value = row[column];
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
  if (!Number.isFinite(n)) throw new TypeError(`column ${column}: expected a number, got ${value === null ? 'null' : typeof value}`);
  return n;
}

export function optionalNum(row: Row, column: string): number | undefined {
  const value = row[column];
  return value === null || value === undefined ? undefined : num(row, column);
}

export function bool(row: Row, column: string): boolean {
  const value = row[column];
  if (typeof value !== 'boolean') throw new TypeError(`column ${column}: expected a boolean, got ${value === null ? 'null' : typeof value}`);
  return value;
}

export function stringArray(row: Row, column: string): readonly string[] {
  const value = row[column];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new TypeError(`column ${column}: expected text[]`);
  return value as string[];
}

/** `"schema"."table"` from `schema.table`, each part quoted as an identifier. */
export function quoteTable(table: string): string {
  return table.split('.').map(quoteIdent).join('.');
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A string literal (pg's own escaping, which also handles backslashes). */
export function quoteLiteral(value: string): string {
  return pg.escapeLiteral(value);
}

