/**
 * Whether the warehouse tables the migrations made are the ones src/domain/output-tables.ts
 * defines: column by column (name, type with precision, default, order), every column NOT NULL,
 * read from information_schema.columns.
 */
import type pg from 'pg';
import { columnDrift, expectedWarehouseColumns, OUTPUT_TABLE_NAMES, OUTPUT_TABLES, type DescribedColumn } from '../domain/output-tables.ts';

interface ColumnRow {
  readonly column_name: string;
  readonly data_type: string;
  readonly numeric_precision: number | null;
  readonly numeric_scale: number | null;
  readonly is_nullable: 'YES' | 'NO';
  readonly column_default: string | null;
}

/** A table's columns in ordinal order; numerics as numeric(p,s), a text default as its literal. */
export async function describeWarehouseTable(db: Pick<pg.Client, 'query'>, schema: string, table: string): Promise<(DescribedColumn & { readonly nullable: boolean })[]> {
  const { rows } = await db.query<ColumnRow>(
    `SELECT column_name, data_type, numeric_precision, numeric_scale, is_nullable, column_default
       FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`,
    [schema, table],
  );
  return rows.map((r) => ({
    name: r.column_name,
    type: r.data_type === 'numeric' && r.numeric_precision !== null ? `numeric(${r.numeric_precision},${r.numeric_scale ?? 0})` : r.data_type,
    default: r.column_default === null ? null : (/^'((?:[^']|'')*)'::\w+/.exec(r.column_default)?.[1]?.replace(/''/g, "'") ?? r.column_default),
    nullable: r.is_nullable === 'YES',
  }));
}

/** Every difference between the definition and the warehouse tables in `schema`; empty when they match. */
export async function warehouseSchemaDrift(db: Pick<pg.Client, 'query'>, schema: string): Promise<string[]> {
  const drift: string[] = [];
  for (const name of OUTPUT_TABLE_NAMES) {
    const actual = await describeWarehouseTable(db, schema, name);
    drift.push(...columnDrift(`${schema}.${name}`, expectedWarehouseColumns(OUTPUT_TABLES[name]), actual));
    for (const c of actual.filter((x) => x.nullable)) drift.push(`${schema}.${name}.${c.name} admits NULL; every output column is NOT NULL`);
  }
  return drift;
}
