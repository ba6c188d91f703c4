/**
 * The captured tables' columns as the source catalog has them now: information_schema.columns for
 * names, nullability, defaults and positions, format_type for the exact type (`numeric(12,2)`).
 */
import type { SqlClient } from '../phases/ingestion/sql.ts';
import { rowsOf } from '../phases/ingestion/sql.ts';
import type { SourceColumn } from './columns.ts';

const COLUMNS_SQL = `
SELECT c.table_schema || '.' || c.table_name AS table_name, c.column_name, c.is_nullable = 'YES' AS nullable,
       c.column_default IS NOT NULL AS has_default, c.ordinal_position::int AS position,
       format_type(a.atttypid, a.atttypmod) AS type
  FROM information_schema.columns c
  JOIN pg_catalog.pg_attribute a
    ON a.attrelid = (quote_ident(c.table_schema) || '.' || quote_ident(c.table_name))::regclass
   AND a.attnum = c.ordinal_position
 WHERE (c.table_schema || '.' || c.table_name) = ANY($1::text[])
 ORDER BY 1, c.ordinal_position`;

/** Each table's columns in attribute order; a table that does not exist is absent from the map. */
export async function readCatalog(sql: SqlClient, tables: readonly string[]): Promise<ReadonlyMap<string, readonly SourceColumn[]>> {
  const out = new Map<string, SourceColumn[]>();
  for (const row of rowsOf(await sql.query(COLUMNS_SQL, [[...tables]]))) {
    const table = String(row.table_name);
    const column: SourceColumn = {
      name: String(row.column_name),
      type: String(row.type),
      nullable: row.nullable === true,
      hasDefault: row.has_default === true,
      position: Number(row.position),
    };
    const list = out.get(table) ?? [];
    list.push(column);
    out.set(table, list);
  }
  return out;
}
