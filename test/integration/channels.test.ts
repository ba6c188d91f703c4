import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBatchOutputs } from '../../src/batch-legacy/load.ts';
import { createClickHouse, type ClickHouse } from '../../src/clients/clickhouse.ts';
import { connectPostgres } from '../../src/clients/postgres.ts';
import { migrateClickHouse } from '../../src/output/clickhouse-migrations.ts';
import { orderIdFor } from '../../src/sources/order-input.ts';
import { jsonOf, runCli } from './cli.ts';
import { ownDatabase } from './own-database.ts';
import { testConfig, testWorkdir } from './test-env.ts';

/**
 * Validation per channel on real databases: this file's own warehouse database and ClickHouse
 * database hold web, partner and store orders; a store order only the batch has (a store file the
 * stream never read) is reported as a missing store row, and the report records which channels
 * its window held, which the cutover gate requires to be all configured ones.
 */
const { config } = testConfig();
const id = `${process.pid}_${Date.now() % 1_000_000}`;
const database = ownDatabase(config.warehouse, `sm_it_channels_${id}`);
const warehouseUrl = database.url;
const chDatabase = `it_channels_${id}`;
const start = Date.parse('2020-03-04T10:00:00Z');
let cwd: string;
let warehouse: pg.Client;
let ch: ClickHouse;
let version = 1;

const chTime = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');

async function addOrder(orderId: number, channel: string, sides: { batch: boolean; stream: boolean }): Promise<void> {
  const created = start + 60_000;
  if (sides.batch) {
    await warehouse.query(`INSERT INTO public.processed_orders VALUES ($1, 7, 'SILVER', 9, 'books', 1, 10.00, 0.50, 0.00, 9.50, 'PAID', to_timestamp($2::bigint / 1000.0), now(), $3)`, [orderId, created, channel]);
  }
  if (sides.stream) {
    await ch.insert('processed_orders_versions', [
      { order_id: orderId, customer_id: 7, customer_tier: 'SILVER', product_id: 9, product_category: 'books', quantity: 1, amount: 10, discount: 0.5, tax: 0, final_amount: 9.5, status: 'PAID', created_at: chTime(created), processed_at: chTime(created), channel, source_ts: chTime(created), ingested_at: chTime(created + 1000), version: version++, is_deleted: 0 },
    ]);
  }
}

async function addAlert(orderId: number, pattern: string, sides: { batch: boolean; stream: boolean }, streamFinal = 9.5): Promise<void> {
  const created = start + 60_000;
  if (sides.batch) {
    await warehouse.query(
      `INSERT INTO public.fraud_alerts (order_id, customer_id, final_amount, severity, reason, created_at, alerted_at, pattern, matched_order_ids, window_start, window_end)
       VALUES ($1, 7, 9.50, 'MEDIUM', 'it', to_timestamp($2::bigint / 1000.0), now(), $3, '', to_timestamp(0), to_timestamp(0))`,
      [orderId, created, pattern],
    );
  }
  if (sides.stream) {
    await ch.insert('fraud_alerts_versions', [
      { order_id: orderId, customer_id: 7, final_amount: streamFinal, severity: 'MEDIUM', reason: 'it', created_at: chTime(created), alerted_at: chTime(created), pattern, matched_order_ids: '', window_start: chTime(0), window_end: chTime(0), version: version++, is_deleted: 0 },
    ]);
  }
}

interface Report {
  verdict: string;
  tables: {
    name: string;
    missingInStream: number;
    channels?: { channel: string; batchRows: number; streamRows: number; missingInStream: number; missingInBatch: number; mismatched: number }[];
    patterns?: { pattern: string; batchRows: number; streamRows: number; missingInStream: number; missingInBatch: number; mismatched: number }[];
  }[];
  provenance: { channels: string[] };
}

beforeAll(async () => {
  await database.create();
  cwd = testWorkdir('channels', { warehouse: { url: warehouseUrl }, clickhouse: { database: chDatabase }, validation: { settle: '1m' } });
  await ensureBatchOutputs({ url: warehouseUrl });
  warehouse = await connectPostgres({ url: warehouseUrl }, 'warehouse');
  const chAdmin = createClickHouse(config.clickhouse, 'default');
  try {
    await migrateClickHouse(chAdmin, chDatabase);
  } finally {
    await chAdmin.close();
  }
  ch = createClickHouse(config.clickhouse, chDatabase);
});

afterAll(async () => {
  await warehouse?.end();
  await ch?.command(`DROP DATABASE IF EXISTS ${chDatabase}`).catch(() => undefined);
  await ch?.close();
  await database.drop();
});

describe('validate per channel', () => {
  it('reports rows per channel on each side, and a store order the stream lacks as a missing store row', async () => {
    await addOrder(101, 'web', { batch: true, stream: true });
    await addOrder(102, 'web', { batch: true, stream: true });
    await addOrder(orderIdFor('partner', 5), 'partner', { batch: true, stream: true });
    await addOrder(orderIdFor('store', 5), 'store', { batch: true, stream: true });
    await addOrder(orderIdFor('store', 6), 'store', { batch: true, stream: false });
    const run = await runCli(['validate', '--from', new Date(start).toISOString(), '--to', new Date(start + 300_000).toISOString(), '--out', path.join(cwd, 'reports'), '--json'], { cwd });
    const report = jsonOf<Report>(run);
    expect(run.exitCode, run.stderr).toBe(1);
    const processed = report.tables.find((t) => t.name === 'processed_orders')!;
    expect(processed.missingInStream).toBe(1);
    expect(processed.channels).toEqual([
      { channel: 'web', batchRows: 2, streamRows: 2, missingInStream: 0, missingInBatch: 0, mismatched: 0 },
      { channel: 'partner', batchRows: 1, streamRows: 1, missingInStream: 0, missingInBatch: 0, mismatched: 0 },
      { channel: 'store', batchRows: 2, streamRows: 1, missingInStream: 1, missingInBatch: 0, mismatched: 0 },
    ]);
    expect(report.provenance.channels).toEqual(['web', 'partner', 'store']);
    expect(report.tables.find((t) => t.name === 'order_summaries')?.channels).toBeUndefined();
    const text = await runCli(['validate', '--from', new Date(start).toISOString(), '--to', new Date(start + 300_000).toISOString(), '--out', path.join(cwd, 'reports')], { cwd });
    expect(text.stdout).toMatch(/· store\s+2\s+1\s+1\s+0\s+0\s+differs/);
  });

  it('reports fraud alerts per pattern on each side: a threshold alert, an equal velocity alert, a differing fan-in alert, one only the stream has', async () => {
    await addAlert(101, '', { batch: true, stream: true });
    await addAlert(101, 'velocity', { batch: true, stream: true });
    await addAlert(102, 'fan-in', { batch: true, stream: true }, 12.25);
    await addAlert(103, 'escalation', { batch: false, stream: true });
    const run = await runCli(['validate', '--from', new Date(start).toISOString(), '--to', new Date(start + 300_000).toISOString(), '--out', path.join(cwd, 'reports'), '--json'], { cwd });
    const alerts = jsonOf<Report>(run).tables.find((t) => t.name === 'fraud_alerts')!;
    expect(alerts.patterns).toEqual([
      { pattern: '', batchRows: 1, streamRows: 1, missingInStream: 0, missingInBatch: 0, mismatched: 0 },
      { pattern: 'escalation', batchRows: 0, streamRows: 1, missingInStream: 0, missingInBatch: 1, mismatched: 0 },
      { pattern: 'fan-in', batchRows: 1, streamRows: 1, missingInStream: 0, missingInBatch: 0, mismatched: 1 },
      { pattern: 'velocity', batchRows: 1, streamRows: 1, missingInStream: 0, missingInBatch: 0, mismatched: 0 },
    ]);
    expect(jsonOf<Report>(run).tables.find((t) => t.name === 'processed_orders')?.patterns).toBeUndefined();
    const text = await runCli(['validate', '--from', new Date(start).toISOString(), '--to', new Date(start + 300_000).toISOString(), '--out', path.join(cwd, 'reports')], { cwd });
    expect(text.stdout).toMatch(/· pattern fan-in\s+1\s+1\s+0\s+0\s+1\s+differs/);
    expect(text.stdout).toMatch(/· thresholds\s+1\s+1\s+0\s+0\s+0\s/);
  });
});
