import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouse, type ClickHouse } from '../../src/clients/clickhouse.ts';
import { connectPostgres } from '../../src/clients/postgres.ts';
import { migrateClickHouse, readClickHouseMigrations } from '../../src/output/clickhouse-migrations.ts';
import { readMigrations } from '../../src/state/migrator.ts';
import { openStateStore } from '../../src/state/state-store.ts';
import { ValidationReports } from '../../src/state/validation-reports.ts';
import { reconcile, type ReconcileResult, type TableResult } from '../../src/validation/reconcile.ts';
import { chRowText, type StreamRead } from '../../src/validation/fingerprint-sql.ts';
import { TABLE_SPECS } from '../../src/validation/tables.ts';
import { jsonOf, runCli } from './cli.ts';
import { freePort } from './ports.ts';
import { testConfig, writeTestConfig } from './test-env.ts';

const { config } = testConfig();
const id = `${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
/** This file's own warehouse schema and ClickHouse database: nobody else's rows, any test order. */
const SCHEMA = `it_validate_${id}`;
const DATABASE = `it_validate_${id}`;
const FROM = Date.parse('2026-11-20T00:00:00Z');
const TO = Date.parse('2026-11-20T01:00:00Z');
const WINDOW = { fromSec: FROM / 1000, toSec: TO / 1000 };
const TIERS = ['NEW', 'BRONZE', 'SILVER', 'GOLD', 'PLATINUM'];
const CATEGORIES = ['books', 'electronics', 'groceries', 'toys|odd'];

interface Order {
  order_id: string;
  customer_id: number;
  customer_tier: string;
  product_id: number;
  product_category: string;
  quantity: number;
  amount: string;
  discount: string;
  tax: string;
  final_amount: string;
  status: string;
  created_ms: number;
}

const cents = (c: number) => `${c < 0 ? '-' : ''}${Math.floor(Math.abs(c) / 100)}.${String(Math.abs(c) % 100).padStart(2, '0')}`;
const chTime = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19).replace('T', ' ');

/**
 * 240 orders inside the window (millisecond timestamps, truncated by the stream to seconds), one
 * exactly at `from`, one at 00:59:59.999 (inside), one exactly at `to` (outside on both sides), one
 * id beyond 2^53; summaries per customer and 5 minutes; an alert per order above 1 000.00.
 */
function fixture(): { orders: Order[]; summaries: Summary[]; alerts: Alert[] } {
  const orders: Order[] = [];
  const add = (n: number, createdMs: number, orderId = String(100_000 + n)) => {
    const amount = 5_000 + ((n * 7_919) % 200_000);
    const discount = Math.floor(amount / 20);
    const tax = Math.floor((amount - discount) / 10);
    orders.push({
      order_id: orderId,
      customer_id: 1 + (n % 12),
      customer_tier: TIERS[n % TIERS.length]!,
      product_id: 10 + (n % 7),
      product_category: CATEGORIES[n % CATEGORIES.length]!,
      quantity: 1 + (n % 3),
      amount: cents(amount),
      discount: cents(discount),
      tax: cents(tax),
      final_amount: cents(amount - discount + tax),
      status: n % 5 === 0 ? 'SHIPPED' : 'PAID',
      created_ms: createdMs,
    });
  };
  for (let n = 0; n < 240; n++) add(n, FROM + 1_000 + n * 14_700 + (n % 1000));
  add(240, FROM);
  add(241, TO - 1);
  add(242, TO);
  add(243, FROM + 600_123, '9007199254740993');
  const byWindow = new Map<string, Summary>();
  for (const o of orders) {
    const start = Math.floor(o.created_ms / 300_000) * 300_000;
    const key = `${o.customer_id}/${start}`;
    const s = byWindow.get(key) ?? { customer_id: o.customer_id, start_ms: start, order_count: 0, total: 0, total_final: 0 };
    s.order_count++;
    s.total += Math.round(Number(o.amount) * 100);
    s.total_final += Math.round(Number(o.final_amount) * 100);
    byWindow.set(key, s);
  }
  const alerts = orders
    .filter((o) => Number(o.final_amount) > 1_000)
    .map((o) => ({ order_id: o.order_id, customer_id: o.customer_id, final_amount: o.final_amount, severity: Number(o.final_amount) > 1_800 ? 'HIGH' : 'MEDIUM', reason: `final amount ${o.final_amount} above 1000.00`, created_ms: o.created_ms }));
  return { orders, summaries: [...byWindow.values()], alerts };
}

interface Summary {
  customer_id: number;
  start_ms: number;
  order_count: number;
  total: number;
  total_final: number;
}

interface Alert {
  order_id: string;
  customer_id: number;
  final_amount: string;
  severity: string;
  reason: string;
  created_ms: number;
}

let warehouse: pg.Client;
let ch: ClickHouse;
let version = 1;
const data = fixture();

/** The batch output tables of every migrations/warehouse file, in `schema` instead of public. */
async function warehouseTables(schema: string): Promise<void> {
  for (const file of readMigrations('warehouse')) await warehouse.query(file.sql.replaceAll('public.', `${schema}.`));
}

async function pgInsertOrder(o: Order): Promise<void> {
  await warehouse.query(
    `INSERT INTO ${SCHEMA}.processed_orders VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, to_timestamp($12::bigint / 1000.0), now())`,
    [o.order_id, o.customer_id, o.customer_tier, o.product_id, o.product_category, o.quantity, o.amount, o.discount, o.tax, o.final_amount, o.status, o.created_ms],
  );
}

function chOrder(o: Order, extra: { is_deleted?: number } = {}): Record<string, unknown> {
  return {
    order_id: o.order_id,
    customer_id: o.customer_id,
    customer_tier: o.customer_tier,
    product_id: o.product_id,
    product_category: o.product_category,
    quantity: o.quantity,
    amount: Number(o.amount),
    discount: Number(o.discount),
    tax: Number(o.tax),
    final_amount: Number(o.final_amount),
    status: o.status,
    created_at: chTime(o.created_ms),
    processed_at: chTime(o.created_ms + 2_000),
    // 18.16 gives an omitted column its type's default, not the column's DEFAULT.
    channel: 'web',
    source_ts: chTime(o.created_ms),
    ingested_at: chTime(o.created_ms + 1_000 + (Number(o.order_id) % 3) * 1_000),
    version: String(version++),
    is_deleted: extra.is_deleted ?? 0,
  };
}

function chSummary(s: Summary, overrides: Partial<Summary> = {}, isDeleted = 0): Record<string, unknown> {
  const v = { ...s, ...overrides };
  return {
    customer_id: v.customer_id,
    window_start: chTime(v.start_ms),
    window_end: chTime(v.start_ms + 300_000),
    order_count: v.order_count,
    total_amount: Number(cents(v.total)),
    total_final_amount: Number(cents(v.total_final)),
    version: String(version++),
    is_deleted: isDeleted,
  };
}

function chAlert(a: Alert): Record<string, unknown> {
  return {
    order_id: a.order_id,
    customer_id: a.customer_id,
    final_amount: Number(a.final_amount),
    severity: a.severity,
    reason: a.reason,
    created_at: chTime(a.created_ms),
    alerted_at: chTime(a.created_ms + 3_000),
    version: String(version++),
    is_deleted: 0,
  };
}

async function load(): Promise<void> {
  for (const o of data.orders) await pgInsertOrder(o);
  for (const s of data.summaries) {
    await warehouse.query(`INSERT INTO ${SCHEMA}.order_summaries VALUES ($1, to_timestamp($2::bigint / 1000), to_timestamp($2::bigint / 1000 + 300), $3, $4, $5)`, [
      s.customer_id,
      s.start_ms,
      s.order_count,
      cents(s.total),
      cents(s.total_final),
    ]);
  }
  for (const a of data.alerts) {
    await warehouse.query(`INSERT INTO ${SCHEMA}.fraud_alerts VALUES ($1, $2, $3, $4, $5, to_timestamp($6::bigint / 1000.0), now(), '', '', 'epoch', 'epoch')`, [a.order_id, a.customer_id, a.final_amount, a.severity, a.reason, a.created_ms]);
  }
  // The stream's history: an earlier version of every order with another amount, then the current one,
  // and an order the source deleted (a tombstone after it): neither may count as a difference.
  await ch.insert('processed_orders_versions', data.orders.map((o) => chOrder({ ...o, amount: '1.00' })));
  await ch.insert('processed_orders_versions', data.orders.map((o) => chOrder(o)));
  const deleted = { ...data.orders[0]!, order_id: '99999' };
  await ch.insert('processed_orders_versions', [chOrder(deleted), chOrder(deleted, { is_deleted: 1 })]);
  await ch.insert('order_summaries_versions', data.summaries.map((s) => chSummary(s)));
  await ch.insert('fraud_alerts_versions', data.alerts.map(chAlert));
}

async function run(streamRead: StreamRead = 'final', buckets?: number): Promise<ReconcileResult> {
  return reconcile(
    { tables: ['processed_orders', 'order_summaries', 'fraud_alerts'], window: WINDOW, target: { schema: SCHEMA, database: DATABASE, streamRead }, samples: 10, ...(buckets ? { buckets } : {}) },
    { warehouse: config.warehouse, clickhouse: config.clickhouse },
  );
}

const tableOf = (r: ReconcileResult, name: string): TableResult => {
  const t = r.tables.find((x) => x.name === name);
  if (!t) throw new Error(`no ${name}`);
  return t;
};
const counts = (t: TableResult) => [t.missingInStream, t.missingInBatch, t.mismatched];

beforeAll(async () => {
  warehouse = await connectPostgres(config.warehouse, 'warehouse');
  await warehouse.query(`CREATE SCHEMA ${SCHEMA}`);
  await warehouseTables(SCHEMA);
  const admin = createClickHouse(config.clickhouse, 'default');
  try {
    await migrateClickHouse(admin, DATABASE);
  } finally {
    await admin.close();
  }
  ch = createClickHouse(config.clickhouse, DATABASE);
  await load();
});

afterAll(async () => {
  await warehouse?.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`).catch(() => undefined);
  await warehouse?.end();
  await ch?.command(`DROP DATABASE IF EXISTS ${DATABASE}`).catch(() => undefined);
  await ch?.close();
});

describe('validate: batch (PostgreSQL) against stream (ClickHouse current state)', () => {
  it('identical outputs PASS: every count equal, nothing drilled, edges and history handled', async () => {
    const r = await run();
    const inWindow = data.orders.filter((o) => o.created_ms >= FROM && o.created_ms < TO).length;
    expect(inWindow).toBe(data.orders.length - 1);
    const po = tableOf(r, 'processed_orders');
    expect([po.batchRows, po.streamRows]).toEqual([inWindow, inWindow]);
    for (const t of r.tables) {
      expect(counts(t), t.name).toEqual([0, 0, 0]);
      expect(t.buckets.differing, t.name).toBe(0);
    }
    expect(tableOf(r, 'order_summaries').batchRows).toBe(data.summaries.filter((s) => s.start_ms < TO).length);
    expect(tableOf(r, 'fraud_alerts').batchRows).toBeGreaterThan(10);
    // Every stored version counts (two per order, plus the deleted order's live one).
    expect(r.latency.rows).toBe(2 * inWindow + 1);
    expect(r.latency.p50).toBeGreaterThanOrEqual(1000);
    expect(r.latency.p99).toBeLessThanOrEqual(3000);
  });

  it('both engines put every key in the same bucket (64 buckets: identical data, no bucket differs)', async () => {
    const r = await run('final', 64);
    for (const t of r.tables) expect([t.buckets.count, t.buckets.differing], t.name).toEqual([64, 0]);
  });

  it('two rows of one bucket swapping their final amounts FAIL, both keys mismatched (sums of the column would cancel)', async () => {
    const [a, b] = [data.orders[60]!, data.orders[61]!];
    expect(a.final_amount).not.toBe(b.final_amount);
    await ch.insert('processed_orders_versions', [chOrder({ ...a, final_amount: b.final_amount }), chOrder({ ...b, final_amount: a.final_amount })]);
    try {
      const out = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-validate-'));
      const cli = await runCli(['validate', '--from', '2026-11-20T00:00:00Z', '--to', '2026-11-20T01:00:00Z', '--tables', 'processed_orders', '--batch-schema', SCHEMA, '--stream-database', DATABASE, '--out', out, '--json']);
      expect(cli.exitCode, cli.stderr).toBe(1);
      const report = jsonOf<{ verdict: string; tables: { mismatched: number; buckets: { count: number; differing: number }; samples: { key: string; columns: { name: string; batch: string; stream: string }[] }[] }[] }>(cli);
      expect(report.verdict).toBe('FAIL');
      const po = report.tables[0]!;
      expect([po.buckets.count, po.buckets.differing, po.mismatched]).toEqual([1, 1, 2]);
      expect(po.samples.map((s) => [s.key, s.columns]).sort()).toEqual(
        [
          [a.order_id, [{ name: 'final_amount', batch: a.final_amount, stream: b.final_amount }]],
          [b.order_id, [{ name: 'final_amount', batch: b.final_amount, stream: a.final_amount }]],
        ].sort(),
      );
    } finally {
      // Newer versions with the batch's values again, so the tests below start from identical outputs.
      await ch.insert('processed_orders_versions', [chOrder(a), chOrder(b)]);
    }
  });

  describe('with differences injected', () => {
    const o = (i: number) => data.orders[i]!;
    let finalResult: ReconcileResult;
    let viewResult: ReconcileResult;
    let bucketed: ReconcileResult;
    const summary = (i: number) => data.summaries[i]!;

    beforeAll(async () => {
      // One processed order missing in the stream (a tombstone), one missing in the batch.
      await ch.insert('processed_orders_versions', [chOrder(o(10), { is_deleted: 1 })]);
      await warehouse.query(`DELETE FROM ${SCHEMA}.processed_orders WHERE order_id = $1`, [o(20).order_id]);
      // An amount one cent off, a tier changed (newer stream versions).
      await ch.insert('processed_orders_versions', [chOrder({ ...o(30), amount: cents(Math.round(Number(o(30).amount) * 100) + 1) })]);
      await ch.insert('processed_orders_versions', [chOrder({ ...o(40), customer_tier: o(40).customer_tier === 'GOLD' ? 'SILVER' : 'GOLD' })]);
      // An order that moved customers: the stream's view keys by (order_id, customer_id), so it holds it twice.
      await ch.insert('processed_orders_versions', [chOrder({ ...o(50), customer_id: o(50).customer_id + 100 })]);
      // A whole 5-minute summary window missing in the stream, and another with its count off by one.
      await ch.insert('order_summaries_versions', [chSummary(summary(3), {}, 1)]);
      await ch.insert('order_summaries_versions', [chSummary(summary(5), { order_count: summary(5).order_count + 1 })]);
      // An extra alert in the stream.
      const extra = data.orders.find((x) => Number(x.final_amount) <= 1_000 && x.created_ms < TO)!;
      await ch.insert('fraud_alerts_versions', [chAlert({ order_id: extra.order_id, customer_id: extra.customer_id, final_amount: extra.final_amount, severity: 'MEDIUM', reason: 'extra', created_ms: extra.created_ms })]);
      [finalResult, viewResult, bucketed] = await Promise.all([run('final'), run('view'), run('final', 64)]);
    });

    it('finds each difference exactly, and nothing else', () => {
      const po = tableOf(finalResult, 'processed_orders');
      expect(counts(po)).toEqual([1, 1, 3]);
      expect(po.missingInStreamKeys).toEqual([o(10).order_id]);
      expect(po.missingInBatchKeys).toEqual([o(20).order_id]);
      const byKey = new Map(po.samples.map((s) => [s.key, s]));
      expect(byKey.get(o(30).order_id)?.columns).toEqual([{ name: 'amount', batch: o(30).amount, stream: cents(Math.round(Number(o(30).amount) * 100) + 1) }]);
      expect(byKey.get(o(40).order_id)?.columns).toEqual([{ name: 'customer_tier', batch: o(40).customer_tier, stream: o(40).customer_tier === 'GOLD' ? 'SILVER' : 'GOLD' }]);
      const moved = byKey.get(o(50).order_id);
      expect(moved?.reason).toMatch(/holds this key 2 times/);
      expect(moved?.columns).toEqual([{ name: 'customer_id', batch: String(o(50).customer_id), stream: `${o(50).customer_id} | ${o(50).customer_id + 100}` }]);
      expect(po.duplicateKeysInStream).toBe(1);

      const os = tableOf(finalResult, 'order_summaries');
      expect(counts(os)).toEqual([1, 0, 1]);
      expect(os.missingInStreamKeys).toEqual([`customer_id=${summary(3).customer_id} window_start=${new Date(summary(3).start_ms).toISOString().slice(0, 19)}Z`]);
      expect(os.samples[0]?.columns).toEqual([{ name: 'order_count', batch: String(summary(5).order_count), stream: String(summary(5).order_count + 1) }]);

      const fa = tableOf(finalResult, 'fraud_alerts');
      expect(counts(fa)).toEqual([0, 1, 0]);
    });

    it('reads the same through the views as through FINAL, and with many buckets drills only the differing ones', () => {
      for (const name of ['processed_orders', 'order_summaries', 'fraud_alerts']) {
        expect(counts(tableOf(viewResult, name)), name).toEqual(counts(tableOf(finalResult, name)));
        expect(counts(tableOf(bucketed, name)), name).toEqual(counts(tableOf(finalResult, name)));
      }
      const po = tableOf(bucketed, 'processed_orders');
      expect(po.buckets.differing).toBeLessThanOrEqual(5);
      expect(po.buckets.drilledBatchRows).toBeLessThan(po.batchRows / 4);
      expect(po.samples.map((s) => s.key).sort()).toEqual(tableOf(finalResult, 'processed_orders').samples.map((s) => s.key).sort());
    });

    it('the CLI prints the --json contract, exits 1, stores the report and writes JSON and Markdown', async () => {
      const out = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-validate-'));
      const cli = await runCli(['validate', '--from', '2026-11-20T00:00:00Z', '--to', '2026-11-20T01:00:00Z', '--batch-schema', SCHEMA, '--stream-database', DATABASE, '--out', out, '--json']);
      expect(cli.exitCode, cli.stderr).toBe(1);
      const report = jsonOf<{
        reportId: number;
        verdict: string;
        window: { from: string; to: string };
        tables: { name: string; batchRows: number; streamRows: number; missingInStream: number; missingInBatch: number; mismatched: number; samples: { key: string; columns: { name: string; batch: string; stream: string }[] }[] }[];
        latencyMs: { p50: number | null; p95: number | null; p99: number | null };
        elapsedMs: number;
      }>(cli);
      expect(report.verdict).toBe('FAIL');
      expect(report.window).toEqual({ from: '2026-11-20T00:00:00.000Z', to: '2026-11-20T01:00:00.000Z' });
      expect(report.tables.map((t) => [t.name, t.missingInStream, t.missingInBatch, t.mismatched])).toEqual([
        ['processed_orders', 1, 1, 3],
        ['order_summaries', 1, 0, 1],
        ['fraud_alerts', 0, 1, 0],
      ]);
      expect(report.latencyMs.p50).toBeGreaterThan(0);
      const md = fs.readFileSync(path.join(out, `validation-${report.reportId}.md`), 'utf8');
      expect(md).toContain(`| ${o(30).order_id} | amount | \`${o(30).amount}\``);
      expect(JSON.parse(fs.readFileSync(path.join(out, `validation-${report.reportId}.json`), 'utf8'))).toMatchObject({ reportId: report.reportId, verdict: 'FAIL' });
      const store = await openStateStore(config.warehouse);
      try {
        const latest = await new ValidationReports(store.pool).latest(20);
        expect(latest.find((r) => r.id === report.reportId)).toMatchObject({ verdict: 'FAIL', windowFrom: new Date(FROM), windowTo: new Date(TO) });
      } finally {
        await store.close();
      }
    });
  });
});

describe('validate: evidence rules', () => {
  it('a window in which neither side has rows is NO_DATA (exit 1), never PASS; the narrowed window and provenance are in the report', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-validate-'));
    const cli = await runCli(['validate', '--from', '2020-01-01T00:02:30Z', '--to', '2020-01-04T00:00:00Z', '--batch-schema', SCHEMA, '--stream-database', DATABASE, '--out', out, '--json']);
    expect(cli.exitCode, cli.stderr).toBe(1);
    const report = jsonOf<{
      reportId: number;
      verdict: string;
      window: { from: string; to: string };
      requestedWindow: { from: string; to: string };
      comparedWindow: { from: string; to: string };
      tables: { name: string; batchRows: number; streamRows: number }[];
      noData: string[];
      provenance: { tables: string[]; settle: string; batchSchema: string; streamDatabase: string; tolerances: Record<string, number>; minRows: number; sourcePosition: { slotName: string } };
    }>(cli);
    expect(report.verdict).toBe('NO_DATA');
    expect(report.tables.map((t) => [t.name, t.batchRows, t.streamRows])).toEqual([
      ['processed_orders', 0, 0],
      ['order_summaries', 0, 0],
      ['fraud_alerts', 0, 0],
    ]);
    expect(report.noData[0]).toBe('processed_orders: 0 batch and 0 stream rows in the window, at least 1 needed (validation.minRows)');
    expect(report.requestedWindow).toEqual({ from: '2020-01-01T00:02:30.000Z', to: '2020-01-04T00:00:00.000Z' });
    expect(report.comparedWindow).toEqual({ from: '2020-01-01T00:05:00.000Z', to: '2020-01-04T00:00:00.000Z' });
    expect(report.window).toEqual(report.comparedWindow);
    expect(report.provenance).toMatchObject({
      tables: ['processed_orders', 'order_summaries', 'fraud_alerts'],
      settle: config.validation.settle,
      batchSchema: SCHEMA,
      streamDatabase: DATABASE,
      tolerances: config.validation.tolerances,
      minRows: config.validation.minRows,
      sourcePosition: { slotName: config.connector.slotName },
    });
    const text = await runCli(['validate', '--from', '2020-01-01T00:02:30Z', '--to', '2020-01-04T00:00:00Z', '--batch-schema', SCHEMA, '--stream-database', DATABASE, '--out', out]);
    expect(text.exitCode).toBe(1);
    expect(text.stdout).toContain('NO_DATA   window requested 2020-01-01T00:02:30.000Z .. 2020-01-04T00:00:00.000Z, compared 2020-01-01T00:05:00.000Z .. 2020-01-04T00:00:00.000Z');
    const store = await openStateStore(config.warehouse);
    try {
      const stored = (await new ValidationReports(store.pool).latest(50)).find((r) => r.id === report.reportId);
      expect(stored).toMatchObject({ verdict: 'NO_DATA', windowFrom: new Date('2020-01-01T00:05:00Z'), provenance: { batchSchema: SCHEMA } });
    } finally {
      await store.close();
    }
  });
});

describe('ClickHouse instants are UTC whatever the server zone (18.16: no session_timezone)', () => {
  const db = `${DATABASE}_tz`;
  let admin: ClickHouse;
  beforeAll(() => {
    admin = createClickHouse(config.clickhouse, 'default');
  });
  afterAll(async () => {
    await admin.command(`DROP DATABASE IF EXISTS ${db}`).catch(() => undefined);
    await admin.close();
  });

  it('an existing install is migrated to DateTime(\'UTC\') in place: rows keep their instants, the views answer the new type', async () => {
    // An install made before 0007: the first six migrations, and a row written then.
    await migrateClickHouse(admin, db, { files: readClickHouseMigrations().filter((f) => f.version <= 6) });
    const o = data.orders[5]!;
    await admin.command(`INSERT INTO ${db}.processed_orders_versions (order_id, customer_id, created_at, version) VALUES (${o.order_id}, ${o.customer_id}, '${chTime(o.created_ms)}', 1)`);
    const applied = await migrateClickHouse(admin, db);
    expect(applied.applied).toEqual(readClickHouseMigrations().filter((f) => f.version >= 7).map((f) => f.name));
    // Written before the channel existed: the view answers the column's default.
    const [old] = await admin.query<{ channel: string }>(`SELECT channel FROM ${db}.processed_orders WHERE order_id = ${o.order_id}`);
    expect(old?.channel).toBe('web');
    // Safe to re-run: setting a column to its own type is a no-op.
    await admin.command(`ALTER TABLE ${db}.processed_orders_versions MODIFY COLUMN created_at DateTime('UTC')`);
    const types = await admin.query<{ table: string; name: string; type: string }>(
      `SELECT table, name, type FROM system.columns WHERE database = '${db}' AND table LIKE '%_versions' AND type LIKE 'DateTime%' ORDER BY table, name`,
    );
    expect(types.map((t) => `${t.table}.${t.name} ${t.type}`)).toEqual([
      "fraud_alerts_versions.alerted_at DateTime('UTC')",
      "fraud_alerts_versions.created_at DateTime('UTC')",
      "fraud_alerts_versions.window_end DateTime('UTC')",
      "fraud_alerts_versions.window_start DateTime('UTC')",
      "order_summaries_versions.window_end DateTime('UTC')",
      // A key column: 18.16 refuses to ALTER it (code 44); validation never formats it in the server's zone.
      'order_summaries_versions.window_start DateTime',
      "processed_orders_versions.created_at DateTime('UTC')",
      "processed_orders_versions.ingested_at DateTime('UTC')",
      "processed_orders_versions.processed_at DateTime('UTC')",
      "processed_orders_versions.source_ts DateTime('UTC')",
    ]);
    const [row] = await admin.query<{ t: string; s: string; ty: string }>(`SELECT toString(toUnixTimestamp(created_at)) AS t, toString(created_at) AS s, toTypeName(created_at) AS ty FROM ${db}.processed_orders WHERE order_id = ${o.order_id}`);
    expect(row).toEqual({ t: String(Math.floor(o.created_ms / 1000)), s: chTime(o.created_ms), ty: "DateTime('UTC')" });
  });

  it('the declared zone, not the server\'s, decides how the sink\'s UTC text is read; validation\'s canonical text is UTC for any column zone', async () => {
    // A plain DateTime on a server in Tokyo behaves as DateTime('Asia/Tokyo') does here: the same text is another instant.
    await admin.command(`CREATE TABLE ${db}.zones (utc DateTime('UTC'), tokyo DateTime('Asia/Tokyo')) ENGINE = Memory`);
    await admin.command(`INSERT INTO ${db}.zones FORMAT JSONEachRow {"utc":"2026-11-20 00:00:01","tokyo":"2026-11-20 00:00:01"}`);
    const [z] = await admin.query<{ u: string; k: string }>(`SELECT toString(toUnixTimestamp(utc)) AS u, toString(toUnixTimestamp(tokyo)) AS k FROM ${db}.zones`);
    expect(Number(z!.u)).toBe(Date.parse('2026-11-20T00:00:01Z') / 1000);
    expect(Number(z!.u) - Number(z!.k)).toBe(9 * 3600);
    // The canonical row text validation hashes, computed over a Tokyo-zoned copy of a summary: still UTC.
    await admin.command(
      `CREATE TABLE ${db}.summary_tokyo (customer_id Int64, window_start DateTime('Asia/Tokyo'), window_end DateTime('Asia/Tokyo'), order_count Int64, total_amount Decimal(18, 2), total_final_amount Decimal(18, 2)) ENGINE = Memory`,
    );
    const start = Date.parse('2026-11-20T00:05:00Z') / 1000;
    await admin.command(`INSERT INTO ${db}.summary_tokyo VALUES (7, ${start}, ${start + 300}, 2, 10.50, 11.00)`);
    const [r] = await admin.query<{ text: string }>(`SELECT ${chRowText(TABLE_SPECS.order_summaries)} AS text FROM ${db}.summary_tokyo`);
    expect(r!.text).toBe('7|2026-11-20T00:05:00Z|2026-11-20T00:10:00Z|2|10.50|11.00');
  });
});

describe('validate: the settle margin and unreachable databases', () => {
  it('leaves rows newer than now − settle out (an in-flight row only the batch has yet)', async () => {
    const schema = `${SCHEMA}_settle`;
    const database = `${DATABASE}_settle`;
    await warehouse.query(`CREATE SCHEMA ${schema}`);
    await warehouseTables(schema);
    const admin = createClickHouse(config.clickhouse, 'default');
    await migrateClickHouse(admin, database);
    const chs = createClickHouse(config.clickhouse, database);
    try {
      const now = Date.now();
      const settled = { ...data.orders[0]!, order_id: '1', created_ms: now - 40 * 60_000 };
      const inFlight = { ...data.orders[1]!, order_id: '2', created_ms: now - 60_000 };
      for (const row of [settled, inFlight]) {
        await warehouse.query(
          `INSERT INTO ${schema}.processed_orders VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, to_timestamp($12::bigint / 1000.0), now())`,
          [row.order_id, row.customer_id, row.customer_tier, row.product_id, row.product_category, row.quantity, row.amount, row.discount, row.tax, row.final_amount, row.status, row.created_ms],
        );
      }
      await chs.insert('processed_orders_versions', [chOrder(settled)]);
      const out = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-validate-'));
      const cli = await runCli(['validate', '--window', '2h', '--settle', '5m', '--tables', 'processed_orders', '--batch-schema', schema, '--stream-database', database, '--out', out, '--json']);
      expect(cli.exitCode, cli.stderr).toBe(0);
      const report = jsonOf<{ verdict: string; tables: { batchRows: number; streamRows: number }[] }>(cli);
      expect(report.verdict).toBe('PASS');
      expect(report.tables[0]).toMatchObject({ batchRows: 1, streamRows: 1 });
    } finally {
      await warehouse.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.command(`DROP DATABASE IF EXISTS ${database}`);
      await Promise.all([admin.close(), chs.close()]);
    }
  });

  it('exits 3, not 1, when ClickHouse is unreachable', async () => {
    const port = await freePort();
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-validate-'));
    writeTestConfig(cwd, { clickhouse: { url: `http://127.0.0.1:${port}` } });
    const cli = await runCli(['validate', '--from', '2026-11-20T00:00:00Z', '--to', '2026-11-20T01:00:00Z', '--json'], { cwd });
    expect(cli.exitCode, cli.stderr).toBe(3);
    expect(cli.stderr).toMatch(/ClickHouse at http:\/\/127\.0\.0\.1:\d+ is unreachable/);
    expect(jsonOf<{ error: { code: string } }>(cli).error.code).toBe('DEPENDENCY_UNREACHABLE');
  });
});
