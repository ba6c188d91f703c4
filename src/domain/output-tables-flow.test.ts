import { describe, expect, it } from 'vitest';
import { BATCH_CELLS, tableInsert } from '../batch-legacy/load.ts';
import { sinkShape } from '../output/sink-rows.ts';
import { chRowText, pgRowText } from '../validation/fingerprint-sql.ts';
import { tableSpec } from '../validation/tables.ts';
import { clickhouseViewSql, expectedStorageColumns, expectedWarehouseColumns, newColumnMigrationSql, OUTPUT_TABLES, outputRecordFields, type OutputTable } from './output-tables.ts';

/**
 * One edit of the definition reaches every consumer: a test-only copy of processed_orders with a
 * column `region` (as `channel` was added for real) shows up in the migrations printed for both
 * databases, the DDL the tests expect, the ClickHouse view, the sink's rows, the batch's INSERT
 * (which refuses to load until the batch says where the value comes from) and validation's
 * compared columns and canonical row text on both engines.
 */
const base = OUTPUT_TABLES.processed_orders;
const withRegion: OutputTable = { ...base, columns: [...base.columns, { name: 'region', type: 'text', role: 'value', default: 'eu' }] };

describe('a column added to the definition flows everywhere', () => {
  it('into the migrations of both sides and the DDL the tests hold them to', () => {
    const sql = newColumnMigrationSql(withRegion, 'region');
    expect(sql.warehouse).toBe("ALTER TABLE public.processed_orders ADD COLUMN region text NOT NULL DEFAULT 'eu'");
    expect(sql.clickhouse[0]).toBe("ALTER TABLE {{database}}.processed_orders_versions ADD COLUMN region String DEFAULT 'eu' AFTER channel");
    expect(sql.clickhouse[1]).toBe('DROP TABLE IF EXISTS {{database}}.processed_orders');
    expect(sql.clickhouse[2]).toBe(clickhouseViewSql(withRegion));
    expect(clickhouseViewSql(withRegion)).toContain('argMax(region, version) AS region');
    expect(expectedWarehouseColumns(withRegion).at(-1)).toEqual({ name: 'region', type: 'text', default: 'eu' });
    expect(expectedStorageColumns(withRegion).map((c) => c.name).slice(-5)).toEqual(['region', 'source_ts', 'ingested_at', 'version', 'is_deleted']);
  });

  it('into the sink, the output record and the batch', () => {
    const value = sinkShape(withRegion).value.at(-1);
    expect(value).toMatchObject({ name: 'region', kind: 'string', absent: '"eu"' });
    expect(outputRecordFields(withRegion).properties.region).toEqual({ type: 'string' });
    expect(() => tableInsert(withRegion, BATCH_CELLS.processed_orders)).toThrow(/lacks a source for region/);
    const insert = tableInsert(withRegion, { ...BATCH_CELLS.processed_orders, region: () => 'eu' });
    expect(insert.sql).toMatch(/^INSERT INTO public\.processed_orders \(order_id, .*, processed_at, channel, region\)/);
    expect(insert.sql).toContain('region = EXCLUDED.region');
  });

  it('into what validation compares and hashes, on both engines', () => {
    const spec = tableSpec(withRegion);
    expect(spec.columns.at(-1)).toEqual({ name: 'region', kind: 'text' });
    expect(pgRowText(spec)).toMatch(/octet_length\(region\)::text \|\| ':' \|\| region$/);
    expect(chRowText(spec)).toMatch(/concat\(toString\(length\(region\)\), ':', region\)\)$/);
  });
});
