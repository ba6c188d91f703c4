import { describe, expect, it } from 'vitest';
import { readClickHouseMigrations } from '../output/clickhouse-migrations.ts';
import { readMigrations } from '../state/migrator.ts';
import {
  clickhouseViewSql,
  columnDrift,
  comparedColumns,
  expectedStorageColumns,
  expectedWarehouseColumns,
  newColumnMigrationSql,
  OUTPUT_TABLE_NAMES,
  OUTPUT_TABLES,
  outputRecordFields,
} from './output-tables.ts';

const squash = (sql: string) => sql.replace(/--[^\n]*/g, '').replace(/\s+/g, ' ').trim();

describe('the output-table definition', () => {
  it('names key, stream key and event time among its columns, and leaves run times out of the comparison', () => {
    for (const name of OUTPUT_TABLE_NAMES) {
      const t = OUTPUT_TABLES[name];
      const names = t.columns.map((c) => c.name);
      expect(t.name).toBe(name);
      expect(new Set(names).size).toBe(names.length);
      for (const k of [...t.key, ...t.streamKey, t.eventTime]) expect(names, `${name}.${k}`).toContain(k);
    }
    expect(comparedColumns(OUTPUT_TABLES.processed_orders).map((c) => c.name)).toEqual([
      'customer_id', 'customer_tier', 'product_id', 'product_category', 'quantity', 'amount', 'discount', 'tax', 'final_amount', 'status', 'created_at', 'channel',
    ]);
    expect(comparedColumns(OUTPUT_TABLES.fraud_alerts).map((c) => c.name)).not.toContain('alerted_at');
  });

  it('is what the newest view migration of each table creates', () => {
    const files = readClickHouseMigrations();
    for (const name of OUTPUT_TABLE_NAMES) {
      const views = files.filter((f) => squash(f.sql).startsWith(`CREATE VIEW IF NOT EXISTS {{database}}.${name} AS`));
      expect(squash(views.at(-1)?.sql ?? ''), name).toBe(squash(clickhouseViewSql(OUTPUT_TABLES[name])));
    }
  });

  it('prints the migrations of a new column, for both sides, as the channel migrations were written', () => {
    const sql = newColumnMigrationSql(OUTPUT_TABLES.processed_orders, 'channel');
    expect(sql.warehouse).toBe("ALTER TABLE public.processed_orders ADD COLUMN channel text NOT NULL DEFAULT 'web'");
    const warehouse = readMigrations('warehouse').find((f) => f.name === '0002_processed_orders_channel.sql');
    // The file adds a CHECK of the allowed channels, which the definition does not describe.
    expect(squash(warehouse?.sql ?? '')).toContain(squash(sql.warehouse));
    const ch = readClickHouseMigrations().filter((f) => f.version >= 10 && f.version <= 12).map((f) => squash(f.sql));
    expect(ch).toEqual(sql.clickhouse.map(squash));
  });

  it('says which record fields are required: a defaulted column may be absent from older records', () => {
    const fields = outputRecordFields(OUTPUT_TABLES.processed_orders);
    expect(Object.keys(fields.properties)).toEqual([...OUTPUT_TABLES.processed_orders.columns.map((c) => c.name), 'source_ts_ms', 'tier_changed_at_ms']);
    expect(fields.required).not.toContain('channel');
    expect(fields.required).not.toContain('processed_at');
    expect(fields.required).toContain('final_amount');
    expect(fields.properties.quantity).toEqual({ type: 'integer' });
  });

  it('reports drift column by column, order and defaults included', () => {
    const expected = expectedWarehouseColumns(OUTPUT_TABLES.processed_orders);
    expect(columnDrift('w', expected, expected)).toEqual([]);
    const withoutChannel = expected.slice(0, -1);
    expect(columnDrift('public.processed_orders', expected, withoutChannel)).toEqual([
      "public.processed_orders column 14: expected channel text DEFAULT web, found (none)",
    ]);
    const storage = expectedStorageColumns(OUTPUT_TABLES.order_summaries);
    expect(storage.map((c) => `${c.name} ${c.type}`)).toEqual([
      'customer_id Int64', 'window_start DateTime', "window_end DateTime('UTC')", 'order_count Int64',
      'total_amount Decimal(18, 2)', 'total_final_amount Decimal(18, 2)', 'version UInt64', 'is_deleted UInt8',
    ]);
  });
});
