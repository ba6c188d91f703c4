import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouse, type ClickHouse } from '../../src/clients/clickhouse.ts';
import { connectPostgres } from '../../src/clients/postgres.ts';
import { ensureBatchOutputs } from '../../src/batch-legacy/load.ts';
import { warehouseSchemaDrift } from '../../src/batch-legacy/warehouse-schema.ts';
import { migrateClickHouse, readClickHouseMigrations } from '../../src/output/clickhouse-migrations.ts';
import { readMigrations } from '../../src/state/migrator.ts';
import { checkClickHouseSql } from '../clickhouse-conformance.ts';
import { testConfig } from './test-env.ts';

/**
 * The output tables as the migrations leave them, against their one definition
 * (src/domain/output-tables.ts): the warehouse's information_schema and ClickHouse 18.16's
 * system.columns; then the ClickHouse SQL check that src/output/clickhouse-current.test.ts runs on
 * a current release, here on 18.16.
 */
const { config } = testConfig();
const id = `${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
const SCHEMA = `it_tables_${id}`;
const DATABASE = `it_tables_${id}`;
let warehouse: pg.Client;
let ch: ClickHouse;

beforeAll(async () => {
  warehouse = await connectPostgres(config.warehouse, 'warehouse');
  ch = createClickHouse(config.clickhouse, 'default');
});

afterAll(async () => {
  await warehouse?.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`).catch(() => undefined);
  await warehouse?.end();
  await ch?.command(`DROP DATABASE IF EXISTS ${DATABASE}`).catch(() => undefined);
  await ch?.close();
});

describe('output tables: the migrations match the definition on both databases', () => {
  it('warehouse: every migration of migrations/warehouse, in a schema of its own and in public', async () => {
    await warehouse.query(`CREATE SCHEMA ${SCHEMA}`);
    for (const file of readMigrations('warehouse')) await warehouse.query(file.sql.replaceAll('public.', `${SCHEMA}.`));
    expect(await warehouseSchemaDrift(warehouse, SCHEMA)).toEqual([]);
    await ensureBatchOutputs(config.warehouse);
    expect(await warehouseSchemaDrift(warehouse, 'public')).toEqual([]);
    // The channel is one of three, and a row written without it is web.
    await warehouse.query(`INSERT INTO ${SCHEMA}.processed_orders (order_id, customer_id, customer_tier, product_id, product_category, quantity, amount, discount, tax, final_amount, status, created_at, processed_at)
      VALUES (1, 1, 'GOLD', 1, 'books', 1, 1.00, 0, 0, 1.00, 'PAID', now(), now())`);
    expect((await warehouse.query(`SELECT channel FROM ${SCHEMA}.processed_orders`)).rows).toEqual([{ channel: 'web' }]);
    await expect(warehouse.query(`UPDATE ${SCHEMA}.processed_orders SET channel = 'fax'`)).rejects.toThrow(/check constraint/);
  });

  it('ClickHouse 18.16: every migration in order, again as a no-op, and the channel migrations re-run after a lost history', async () => {
    const [version] = await ch.query<{ v: string }>('SELECT version() AS v');
    expect(version?.v).toMatch(/^18\.16\./);
    expect((await migrateClickHouse(ch, DATABASE)).applied).toEqual(readClickHouseMigrations().map((f) => f.name));
    expect((await migrateClickHouse(ch, DATABASE)).applied).toEqual([]);
    await ch.command(`ALTER TABLE ${DATABASE}.schema_migrations DELETE WHERE version >= 10`);
    for (let i = 0; i < 100; i++) {
      const [row] = await ch.query<{ n: string }>(`SELECT toString(count()) AS n FROM system.mutations WHERE database = '${DATABASE}' AND is_done = 0`);
      if (Number(row?.n) === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await migrateClickHouse(ch, DATABASE)).applied).toEqual(readClickHouseMigrations().filter((f) => f.version >= 10).map((f) => f.name));
  });

  it('ClickHouse 18.16: the sink inserts, views, validation and status SQL give the answers computed in the test', async () => {
    const db = createClickHouse(config.clickhouse, DATABASE);
    try {
      await checkClickHouseSql(db, DATABASE);
    } finally {
      await db.close();
    }
  });
});
