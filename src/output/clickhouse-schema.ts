/**
 * Whether the ClickHouse tables the migrations made are the ones src/domain/output-tables.ts
 * defines: each storage table and view, column by column (name, type, default, order), read from
 * system.columns. Used by the tests on 18.16 and on a current release (chdb).
 */
import { quote, type ClickHouse } from '../clients/clickhouse.ts';
import {
  columnDrift,
  expectedStorageColumns,
  expectedViewColumns,
  OUTPUT_TABLE_NAMES,
  OUTPUT_TABLES,
  type DescribedColumn,
} from '../domain/output-tables.ts';
import { identifier } from './clickhouse-sql.ts';

interface ColumnRow {
  readonly name: string;
  readonly type: string;
  readonly default_kind: string;
  readonly default_expression: string;
}

/** A table's columns as system.columns lists them, in position order; a DEFAULT literal without its quotes. */
export async function describeClickHouseTable(ch: Pick<ClickHouse, 'query'>, database: string, table: string): Promise<DescribedColumn[]> {
  const rows = await ch.query<ColumnRow>(
    `SELECT name, type, default_kind, default_expression FROM system.columns WHERE database = ${quote(identifier(database))} AND table = ${quote(identifier(table))}`,
  );
  // system.columns lists a table's columns in their order (no position column on 18.16).
  return rows.map((r) => ({ name: r.name, type: r.type, default: r.default_kind === 'DEFAULT' ? unquote(r.default_expression) : null }));
}

function unquote(expression: string): string {
  const m = /^'((?:[^'\\]|\\.)*)'$/.exec(expression.trim());
  return m ? (m[1] ?? '').replace(/\\(.)/g, '$1') : expression;
}

/** Every difference between the definition and `database`'s storage tables and views; empty when they match. */
export async function clickhouseSchemaDrift(ch: Pick<ClickHouse, 'query'>, database: string): Promise<string[]> {
  const drift: string[] = [];
  for (const name of OUTPUT_TABLE_NAMES) {
    const table = OUTPUT_TABLES[name];
    drift.push(...columnDrift(`${database}.${name}_versions`, expectedStorageColumns(table), await describeClickHouseTable(ch, database, `${name}_versions`)));
    drift.push(...columnDrift(`${database}.${name}`, expectedViewColumns(table), await describeClickHouseTable(ch, database, name)));
  }
  return drift;
}
