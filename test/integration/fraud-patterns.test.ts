import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectPostgres } from '../../src/clients/postgres.ts';
import { ConnectorFixture, runId, waitFor } from './connector-fixture.ts';
import { ownDatabase } from './own-database.ts';
import { testConfig } from './test-env.ts';

/**
 * Fraud patterns on the real pipeline: a source database of its own, Debezium, the processor, and
 * the legacy batch over the same rows. Velocity (default rules.patterns: 3 orders of a customer in
 * one aligned 10-minute window above 5000.00 in all) must fire on a late order, be retracted by a
 * cancellation, by a delete and by a move (and fire under the customer the order moved to), and
 * once caught up the stream's alerts must equal what `batch run` writes to the warehouse; and a
 * demo-sized `load` (300 orders/s for 40 s over 1000 customers) gives the same alerts on both sides.
 * The source and the warehouse are databases of this file's own.
 */
const id = `fp${runId()}`;
const base = testConfig().config;
const sourceDatabase = ownDatabase(base.source, `it_${id}`);
const warehouseDatabase = ownDatabase(base.warehouse, `it_${id}_wh`);
const DAY = new Date(Date.UTC(2003, 0, 1) + (Number.parseInt(id.slice(2, 8), 36) % 360) * 86_400_000).toISOString().slice(0, 10);
const T0 = Date.parse(`${DAY}T10:00:00Z`);
const MIN = 60_000;
let fixture: ConnectorFixture;
let warehouse: pg.Client;

beforeAll(async () => {
  await sourceDatabase.create();
  await warehouseDatabase.create();
  fixture = new ConnectorFixture(id, { source: { url: sourceDatabase.url }, warehouse: { url: warehouseDatabase.url }, connector: { snapshotMode: 'initial' } });
  await fixture.ensureSourceSchema();
  // Seeds the demo's 1000 customers and its products (the last test's load uses them).
  const seeded = await fixture.cli(['load', '--rate', '1', '--duration', '1s', '--customers', '1000', '--json']);
  expect(seeded.exitCode, seeded.stderr).toBe(0);
  // This file's customers 1-6 (ids 100001-100006), NEW, and an untaxed book: final amount = amount. Created after
  // the seeding load; the last test's load may give them orders and tier changes, after the tests that count on them.
  await fixture.source(async (sql) => {
    for (let c = 1; c <= 6; c++) await sql(`INSERT INTO public.customers (id, name, tier) VALUES ($1, $2, 'NEW')`, [100_000 + c, `c${c}`]);
    await sql(`INSERT INTO public.products (id, name, category, price) VALUES (100000, 'p1', 'books', 10)`);
  });
  await fixture.createTopics();
  const ingestion = await fixture.cli(['phase', 'run', 'ingestion', '--json'], 300_000);
  expect(ingestion.exitCode, ingestion.stderr + ingestion.stdout).toBe(0);
  warehouse = await connectPostgres({ ...base.warehouse, url: warehouseDatabase.url }, 'warehouse');
  fixture.startProcessor('w1');
}, 600_000);

afterAll(async () => {
  await warehouse?.end();
  await fixture?.cleanup();
  await sourceDatabase.drop().catch(() => undefined);
  await warehouseDatabase.drop().catch(() => undefined);
}, 120_000);

async function insert(customer: number, minute: number, amount = '1800.00'): Promise<number> {
  return fixture.source(async (sql) => {
    const [row] = await sql(`INSERT INTO public.orders (customer_id, product_id, quantity, amount, status, created_at) VALUES ($1, 100000, 1, $2, 'PAID', $3) RETURNING id`, [100_000 + customer, amount, new Date(T0 + minute * MIN)]);
    return Number(row!.id);
  });
}

const exec = (text: string, values: unknown[]) => fixture.source((sql) => sql(text, values));

/** The stream's live velocity alerts: "customer window_start ids final anchor", of the customers given (default: this file's own 1-6). */
async function streamAlerts(customers: (id: number) => boolean = (c) => c > 100_000): Promise<string[]> {
  const live = new Map<string, Record<string, string | number>>();
  for (const r of await fixture.all(fixture.topics.fraudAlerts)) {
    const key = r.key?.toString('utf8') ?? '';
    if (r.value === null) live.delete(key);
    else live.set(key, JSON.parse(r.value.toString('utf8')) as Record<string, string | number>);
  }
  return [...live.values()].filter((v) => v.pattern === 'velocity' && customers(Number(v.customer_id))).map((v) => `${v.customer_id} ${v.window_start} ${v.matched_order_ids} ${v.final_amount} ${v.order_id}`).sort();
}

const line = (customer: number, windowMinute: number, ids: readonly number[], final: string) =>
  `${100_000 + customer} ${new Date(T0 + windowMinute * MIN).toISOString()} ${[...ids].sort((a, b) => a - b).join(',')} ${final} ${Math.min(...ids)}`;

async function converge(expected: readonly string[]): Promise<string[]> {
  let last: string[] = [];
  await waitFor('the velocity alerts', async () => ((last = await streamAlerts()).join('\n') === [...expected].sort().join('\n') ? true : undefined), 90_000).catch(() => undefined);
  return last;
}

describe('fraud patterns on the real pipeline: velocity', () => {
  const ids: Record<string, number> = {};
  let expected: string[] = [];

  it('fires on a late order that completes its window, and not before', async () => {
    ids.a1 = await insert(1, 1);
    ids.a2 = await insert(1, 2);
    ids.later = await insert(1, 25); // a later window of the same customer is read first
    expect(await converge([])).toEqual([]);
    ids.a3 = await insert(1, 3); // late: its window (10:00-10:10) was already behind the customer's newest order
    expected = [line(1, 0, [ids.a1, ids.a2, ids.a3], '5400.00')];
    expect(await converge(expected)).toEqual(expected);
  }, 180_000);

  it('a cancellation and a delete retract the alert they made; an update brings one back', async () => {
    const b = [await insert(2, 31), await insert(2, 32), await insert(2, 33)];
    const c = [await insert(3, 41), await insert(3, 42), await insert(3, 43)];
    expect(await converge([...expected, line(2, 30, b, '5400.00'), line(3, 40, c, '5400.00')])).toHaveLength(3);
    await exec(`UPDATE public.orders SET status = 'CANCELLED' WHERE id = $1`, [b[0]]);
    await exec(`DELETE FROM public.orders WHERE id = $1`, [c[2]]);
    await exec(`UPDATE public.orders SET amount = 2000.00 WHERE id = $1`, [b[1]]); // two orders, still below minOrders
    expect(await converge(expected)).toEqual(expected);
    await exec(`UPDATE public.orders SET status = 'PAID' WHERE id = $1`, [b[0]]);
    expected = [...expected, line(2, 30, b, '5600.00')];
    expect(await converge(expected)).toEqual(expected);
  }, 180_000);

  it('a moved order retracts from the customer it left and matches under the one it joined', async () => {
    const d = [await insert(4, 51), await insert(4, 52), await insert(4, 53)];
    const e = [await insert(5, 54), await insert(5, 55)];
    expect(await converge([...expected, line(4, 50, d, '5400.00')])).toHaveLength(expected.length + 1);
    await exec(`UPDATE public.orders SET customer_id = 100005 WHERE id = $1`, [d[0]]);
    expected = [...expected, line(5, 50, [...e, d[0]!], '5400.00')];
    expect(await converge(expected)).toEqual(expected);
  }, 180_000);

  it('once caught up, the batch computes exactly the stream alerts for its window', async () => {
    const run = await fixture.cli(['batch', 'run', '--date', DAY, '--json'], 180_000);
    expect(run.exitCode, run.stderr).toBe(0);
    const { rows } = await warehouse.query<{ line: string }>(
      `SELECT customer_id || ' ' || to_char(window_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.000"Z"') || ' ' || matched_order_ids || ' ' || final_amount::text || ' ' || order_id AS line
         FROM public.fraud_alerts WHERE pattern = 'velocity' AND created_at >= $1::date AND created_at < $1::date + 1 AND customer_id > 100000`,
      [DAY],
    );
    const batch = rows.map((r) => r.line).sort();
    console.log(`fraud patterns: velocity alerts stream ${expected.length}, batch ${batch.length}`);
    expect(batch).toEqual([...expected].sort());
    expect(await streamAlerts()).toEqual(batch);
  }, 240_000);

  it('a demo-sized load: the stream and the batch raise the same velocity alerts', async () => {
    const load = await fixture.cli(['load', '--rate', '300', '--duration', '40s', '--json'], 180_000);
    expect(load.exitCode, load.stderr).toBe(0);
    const report = JSON.parse(load.stdout) as { window: { from: string; to: string }; orders: { inserted: number } };
    const run = await fixture.cli(['batch', 'run', '--from', report.window.from, '--to', report.window.to, '--json'], 180_000);
    expect(run.exitCode, run.stderr).toBe(0);
    const { window } = JSON.parse(run.stdout) as { window: { from: string; to: string } };
    const { rows } = await warehouse.query<{ line: string }>(
      `SELECT customer_id || ' ' || to_char(window_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.000"Z"') || ' ' || matched_order_ids || ' ' || final_amount::text || ' ' || order_id AS line
         FROM public.fraud_alerts WHERE pattern = 'velocity' AND created_at >= $1 AND created_at < $2 AND customer_id <= 100000`,
      [window.from, window.to],
    );
    const batch = rows.map((r) => r.line).sort();
    const inWindow = (l: string) => {
      const start = Date.parse(l.split(' ')[1] ?? '');
      return start >= Date.parse(window.from) && start < Date.parse(window.to);
    };
    let stream: string[] = [];
    await waitFor('the stream to catch up with the batch', async () => ((stream = (await streamAlerts((c) => c <= 100_000)).filter(inWindow)).join('\n') === batch.join('\n') ? true : undefined), 180_000).catch(() => undefined);
    const [threshold] = (await warehouse.query<{ n: string }>(`SELECT count(*) AS n FROM public.fraud_alerts WHERE pattern = '' AND created_at >= $1 AND created_at < $2`, [window.from, window.to])).rows;
    console.log(`fraud patterns, demo-sized load (${report.orders.inserted} orders, 1000 customers): velocity alerts stream ${stream.length}, batch ${batch.length}; threshold alerts batch ${threshold?.n}`);
    expect(batch.length).toBeGreaterThan(0);
    expect(stream).toEqual(batch);
  }, 420_000);
});
