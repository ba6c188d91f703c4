import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectPostgres } from '../../src/clients/postgres.ts';
import { DEFAULT_PATTERNS } from '../../src/domain/patterns.ts';
import { ConnectorFixture, runId, waitFor } from './connector-fixture.ts';
import { ownDatabase } from './own-database.ts';
import { testConfig } from './test-env.ts';

/**
 * Fraud patterns on the real pipeline: a source database of its own, Debezium, the processor, and
 * the legacy batch over the same rows. Velocity (default rules.patterns: 3 orders of a customer in
 * one aligned 10-minute window above 5000.00 in all) must fire on a late order, be retracted by a
 * cancellation, by a delete and by a move (and fire under the customer the order moved to), and
 * once caught up the stream's alerts must equal what `batch run` writes to the warehouse.
 * Escalation (default: an order above 2000.00 within 30 minutes after the customer's last tier
 * change, customers.tier_changed_at) must fire on a tier change and on a late order, be retracted
 * by a cancellation and a move, follow a later tier change, and equal on both sides what SQL on
 * the source computes. A demo-sized `load` (300 orders/s for 40 s over 1000 customers) gives the
 * same alerts of both patterns on both sides, escalation's also equal to the source's SQL.
 * Fan-in (the default, 25 NEW customers buying one product in an aligned 10-minute window, and
 * `fan-in-3`, this file's own with 3 customers, for hand-made cases on a product of its own) must
 * fire on a late order, count a customer twice once, be retracted by a cancellation and by a tier
 * change away from NEW, move its anchor when the anchor is cancelled (while the processor is
 * down: stage 3 restores from its topic), and equal on both sides
 * what SQL on the source computes, for the hand-made cases and for the demo-sized load.
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
  fixture = new ConnectorFixture(id, {
    source: { url: sourceDatabase.url },
    warehouse: { url: warehouseDatabase.url },
    connector: { snapshotMode: 'initial' },
    rules: { patterns: [...DEFAULT_PATTERNS, { name: 'fan-in-3', kind: 'fan-in', severity: 'HIGH', minCustomers: 3, windowMinutes: 10 }] },
  });
  await fixture.ensureSourceSchema();
  // Seeds the demo's 1000 customers and its products (the last test's load uses them).
  const seeded = await fixture.cli(['load', '--rate', '1', '--duration', '1s', '--customers', '1000', '--json']);
  expect(seeded.exitCode, seeded.stderr).toBe(0);
  // This file's customers 1-9 (ids 100001-100009), NEW, and an untaxed book: final amount = amount. Created after
  // the seeding load; the last test's load may give them orders and tier changes, after the tests that count on them.
  await fixture.source(async (sql) => {
    for (let c = 1; c <= 9; c++) await sql(`INSERT INTO public.customers (id, name, tier) VALUES ($1, $2, 'NEW')`, [100_000 + c, `c${c}`]);
    await sql(`INSERT INTO public.products (id, name, category, price) VALUES (100000, 'p1', 'books', 10)`);
    // Fan-in's own product: no other test of this file buys it on DAY.
    await sql(`INSERT INTO public.products (id, name, category, price) VALUES (100001, 'p2', 'books', 10)`);
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

async function insert(customer: number, minute: number, amount = '1800.00', product = 100_000): Promise<number> {
  return fixture.source(async (sql) => {
    const [row] = await sql(`INSERT INTO public.orders (customer_id, product_id, quantity, amount, status, created_at) VALUES ($1, $4, 1, $2, 'PAID', $3) RETURNING id`, [100_000 + customer, amount, new Date(T0 + minute * MIN), product]);
    return Number(row!.id);
  });
}

const exec = (text: string, values: unknown[]) => fixture.source((sql) => sql(text, values));

/** The stream's live alerts of one pattern, by key, of the customers given (default: this file's own 1-9). */
async function liveAlerts(pattern: string, customers: (id: number) => boolean = (c) => c > 100_000): Promise<Record<string, string | number>[]> {
  const live = new Map<string, Record<string, string | number>>();
  for (const r of await fixture.all(fixture.topics.fraudAlerts)) {
    const key = r.key?.toString('utf8') ?? '';
    if (r.value === null) live.delete(key);
    else live.set(key, JSON.parse(r.value.toString('utf8')) as Record<string, string | number>);
  }
  return [...live.values()].filter((v) => v.pattern === pattern && customers(Number(v.customer_id)));
}

/** The stream's live velocity alerts: "customer window_start ids final anchor". */
async function streamAlerts(customers?: (id: number) => boolean): Promise<string[]> {
  return (await liveAlerts('velocity', customers)).map((v) => `${v.customer_id} ${v.window_start} ${v.matched_order_ids} ${v.final_amount} ${v.order_id}`).sort();
}

/** The stream's live escalation alerts: "customer order final tier_changed_at", the order's created_at as well for a window filter. */
async function streamEscalations(customers?: (id: number) => boolean): Promise<{ line: string; createdAt: number }[]> {
  return (await liveAlerts('escalation', customers))
    .map((v) => ({ line: `${v.customer_id} ${v.order_id} ${v.final_amount} ${v.window_start}`, createdAt: Date.parse(String(v.created_at)) }))
    .sort((a, b) => a.line.localeCompare(b.line));
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
});

/** A tier change of one of this file's customers at a time on DAY: the trigger stamps now(), which is then moved to DAY (an update that leaves the tier alone keeps the stamp). */
async function changeTier(customer: number, tier: string, minute: number): Promise<void> {
  await exec(`UPDATE public.customers SET tier = $2 WHERE id = $1`, [100_000 + customer, tier]);
  await exec(`UPDATE public.customers SET tier_changed_at = $2 WHERE id = $1`, [100_000 + customer, new Date(T0 + minute * MIN)]);
}

/**
 * Escalation alerts as SQL on the source computes them, independently of the product's code:
 * live orders created in [tier_changed_at, + 30 min) of their customer (both to the millisecond,
 * as the pipeline reads them), whose final (DESIGN's default rates, half-even to the cent at each
 * step) is above 2000.00. Lines as streamEscalations writes them.
 */
async function sourceEscalations(from: Date | string, to: Date | string, customers: 'own' | 'demo'): Promise<string[]> {
  return fixture.source(async (sql) => {
    await sql(
      `CREATE FUNCTION pg_temp.half_even(x numeric) RETURNS numeric LANGUAGE sql AS
         $$ SELECT CASE WHEN x * 100 - floor(x * 100) = 0.5 THEN (floor(x * 100) + mod(floor(x * 100), 2)) / 100 ELSE round(x, 2) END $$`,
      [],
    );
    const rows = await sql(
      `WITH discount(tier, rate) AS (VALUES ('NEW', 0::numeric), ('BRONZE', 0.02), ('SILVER', 0.05), ('GOLD', 0.10), ('PLATINUM', 0.15)),
            tax(category, rate) AS (VALUES ('electronics', 0.10::numeric), ('groceries', 0.05), ('books', 0)),
            taxable AS (
              SELECT o.id, o.customer_id, o.created_at, c.tier_changed_at, o.amount - pg_temp.half_even(o.amount * d.rate) AS taxable, coalesce(t.rate, 0.08) AS tax_rate
                FROM public.orders o
                JOIN public.customers c ON c.id = o.customer_id
                JOIN public.products p ON p.id = o.product_id
                JOIN discount d ON d.tier = c.tier
                LEFT JOIN tax t ON t.category = lower(trim(p.category))
               WHERE o.status <> 'CANCELLED' AND o.created_at >= $1 AND o.created_at < $2 AND c.tier_changed_at IS NOT NULL
                 AND (c.id > 100000) = $3),
            priced AS (SELECT *, (taxable + pg_temp.half_even(taxable * tax_rate))::numeric(14,2) AS final FROM taxable)
       SELECT customer_id || ' ' || id || ' ' || final::text || ' ' || to_char(date_trunc('milliseconds', tier_changed_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS line
         FROM priced
        WHERE final > 2000.00
          AND date_trunc('milliseconds', created_at) >= date_trunc('milliseconds', tier_changed_at)
          AND date_trunc('milliseconds', created_at) < date_trunc('milliseconds', tier_changed_at) + interval '30 minutes'`,
      [from, to, customers === 'own'],
    );
    return rows.map((r) => String(r.line)).sort();
  });
}

/** The batch's escalation alerts in the warehouse whose created_at lies in [from, to), as the same lines. */
async function batchEscalations(from: Date | string, to: Date | string, customers: 'own' | 'demo'): Promise<string[]> {
  const { rows } = await warehouse.query<{ line: string }>(
    `SELECT customer_id || ' ' || order_id || ' ' || final_amount::text || ' ' || to_char(window_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS line
       FROM public.fraud_alerts WHERE pattern = 'escalation' AND created_at >= $1 AND created_at < $2 AND (customer_id > 100000) = $3`,
    [from, to, customers === 'own'],
  );
  return rows.map((r) => r.line).sort();
}

describe('fraud patterns on the real pipeline: escalation', () => {
  const ids: Record<string, number> = {};
  let expected: string[] = [];
  const esc = (customer: number, order: number, final: string, changedMinute: number) => `${100_000 + customer} ${order} ${final} ${new Date(T0 + changedMinute * MIN).toISOString()}`;
  async function convergeEscalations(want: readonly string[]): Promise<string[]> {
    let last: string[] = [];
    const target = [...want].sort().join('\n');
    await waitFor('the escalation alerts', async () => ((last = (await streamEscalations()).map((e) => e.line)).join('\n') === target ? true : undefined), 90_000).catch(() => undefined);
    return last;
  }

  it('the source stamps tier_changed_at when, and only when, the tier changes', async () => {
    const stamp = async () => (await exec(`SELECT tier_changed_at FROM public.customers WHERE id = 100009`, []))[0]?.tier_changed_at as Date | null;
    expect(await stamp()).toBeNull();
    const before = Date.now();
    await exec(`UPDATE public.customers SET tier = 'BRONZE' WHERE id = 100009`, []);
    const stamped = await stamp();
    expect(stamped?.getTime()).toBeGreaterThanOrEqual(before - 5_000);
    expect(stamped?.getTime()).toBeLessThanOrEqual(Date.now() + 5_000);
    await exec(`UPDATE public.customers SET tier = 'BRONZE', name = 'renamed' WHERE id = 100009`, []);
    expect((await stamp())?.getTime()).toBe(stamped?.getTime());
  });

  it('a tier change raises the alert for the large orders after it; a late order fires when it arrives', async () => {
    // Customer 7 (NEW, untaxed books): 6000.00 stays 6000.00; BRONZE takes 2 %: 5880.00.
    const e1 = await insert(7, 60, '6000.00'); // 11:00, before the change
    const e2 = await insert(7, 80, '6000.00'); // 11:20
    await insert(7, 85, '1500.00'); // 11:25, too small (1470.00 once BRONZE)
    expect(await convergeEscalations([])).toEqual([]);
    await changeTier(7, 'BRONZE', 70); // 11:10: window [11:10, 11:40)
    expected = [esc(7, e2, '5880.00', 70)];
    expect(await convergeEscalations(expected)).toEqual(expected);
    const e3 = await insert(7, 75, '6000.00'); // late: 11:15 arrives after 11:20 and 11:25
    expected = [...expected, esc(7, e3, '5880.00', 70)];
    expect(await convergeEscalations(expected)).toEqual(expected);
    expect(e1).toBeLessThan(e2);
    ids.e2 = e2;
    ids.e3 = e3;
  }, 240_000);

  it('a cancellation and a move retract the alert; a later tier change moves the window', async () => {
    await exec(`UPDATE public.orders SET status = 'CANCELLED' WHERE id = $1`, [ids.e3]);
    await exec(`UPDATE public.orders SET customer_id = 100008 WHERE id = $1`, [ids.e2]); // customer 8's tier never changed
    expect(await convergeEscalations([])).toEqual([]);
    const e5 = await insert(7, 90, '6000.00'); // 11:30: in [11:10, 11:40)
    const e4 = await insert(7, 110, '6000.00'); // 11:50: not yet
    expect(await convergeEscalations([esc(7, e5, '5880.00', 70)])).toHaveLength(1);
    await changeTier(7, 'SILVER', 105); // 11:45: only this change counts now; SILVER takes 5 %: 5700.00
    // Customer 9 (BRONZE since the first test) moves to GOLD at 12:00: 10 % off, 5400.00; 12:40 is past its window.
    await changeTier(9, 'GOLD', 120);
    const f1 = await insert(9, 125, '6000.00');
    await insert(9, 160, '6000.00');
    expected = [esc(7, e4, '5700.00', 105), esc(9, f1, '5400.00', 120)];
    expect(await convergeEscalations(expected)).toEqual([...expected].sort());
  }, 240_000);

  it('once caught up, stream, batch and SQL on the source agree for the day', async () => {
    const run = await fixture.cli(['batch', 'run', '--date', DAY, '--json'], 180_000);
    expect(run.exitCode, run.stderr).toBe(0);
    const dayEnd = new Date(Date.parse(`${DAY}T00:00:00Z`) + 86_400_000);
    const source = await sourceEscalations(`${DAY}T00:00:00Z`, dayEnd, 'own');
    const batch = await batchEscalations(`${DAY}T00:00:00Z`, dayEnd, 'own');
    const stream = (await streamEscalations()).map((e) => e.line);
    console.log(`fraud patterns: escalation alerts stream ${stream.length}, batch ${batch.length}, source SQL ${source.length}`);
    expect(source).toEqual([...expected].sort());
    expect(batch).toEqual(source);
    expect(stream).toEqual(source);
  }, 240_000);
});

/** The stream's live alerts of a fan-in pattern whose window starts in [from, to): "window_start ids final anchor_order anchor_customer". */
async function streamFanIns(pattern: string, from: Date | string, to: Date | string): Promise<string[]> {
  const [lo, hi] = [new Date(from).getTime(), new Date(to).getTime()];
  return (await liveAlerts(pattern, () => true))
    .filter((v) => Date.parse(String(v.window_start)) >= lo && Date.parse(String(v.window_start)) < hi)
    .map((v) => `${v.window_start} ${v.matched_order_ids} ${v.final_amount} ${v.order_id} ${v.customer_id}`)
    .sort();
}

/** The batch's fan-in alerts of a pattern in the warehouse whose window starts in [from, to), as the same lines. */
async function batchFanIns(pattern: string, from: Date | string, to: Date | string): Promise<string[]> {
  const { rows } = await warehouse.query<{ line: string }>(
    `SELECT to_char(window_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.000"Z"') || ' ' || matched_order_ids || ' ' || final_amount::text || ' ' || order_id || ' ' || customer_id AS line
       FROM public.fraud_alerts WHERE pattern = $3 AND created_at >= $1 AND created_at < $2`,
    [from, to, pattern],
  );
  return rows.map((r) => r.line).sort();
}

/**
 * Fan-in alerts as SQL on the source computes them, independently of the product's code: live
 * orders of customers whose tier is NEW now, grouped by product and aligned window of
 * `windowMinutes`, with at least `minCustomers` distinct customers; anchored at the lowest order
 * id, final the sum of the finals (NEW has no discount; DESIGN's default category taxes,
 * half-even to the cent). Same lines as streamFanIns.
 */
async function sourceFanIns(from: Date | string, to: Date | string, minCustomers: number, windowMinutes: number): Promise<string[]> {
  return fixture.source(async (sql) => {
    await sql(
      `CREATE OR REPLACE FUNCTION pg_temp.half_even(x numeric) RETURNS numeric LANGUAGE sql AS
         $$ SELECT CASE WHEN x * 100 - floor(x * 100) = 0.5 THEN (floor(x * 100) + mod(floor(x * 100), 2)) / 100 ELSE round(x, 2) END $$`,
      [],
    );
    const rows = await sql(
      `WITH tax(category, rate) AS (VALUES ('electronics', 0.10::numeric), ('groceries', 0.05), ('books', 0)),
            parts AS (
              SELECT o.id, o.customer_id, o.product_id,
                     to_timestamp(floor(extract(epoch FROM o.created_at) / ($4 * 60)) * ($4 * 60)) AS window_start,
                     (o.amount + pg_temp.half_even(o.amount * coalesce(t.rate, 0.08)))::numeric(14,2) AS final
                FROM public.orders o
                JOIN public.customers c ON c.id = o.customer_id
                JOIN public.products p ON p.id = o.product_id
                LEFT JOIN tax t ON t.category = lower(trim(p.category))
               WHERE o.status <> 'CANCELLED' AND c.tier = 'NEW' AND o.created_at >= $1 AND o.created_at < $2)
       SELECT to_char(window_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.000"Z"') || ' ' || string_agg(id::text, ',' ORDER BY id) || ' ' || sum(final)::text
                || ' ' || min(id) || ' ' || (array_agg(customer_id ORDER BY id))[1] AS line
         FROM parts
        GROUP BY product_id, window_start
       HAVING count(DISTINCT customer_id) >= $3`,
      [from, to, minCustomers, windowMinutes],
    );
    return rows.map((r) => String(r.line)).sort();
  });
}

describe('fraud patterns on the real pipeline: fan-in', () => {
  // fan-in-3 on product 100001 (books, untaxed; NEW has no discount: final = amount), from 13:20 (minute 200) on DAY.
  const buy = (customer: number, minute: number, amount = '100.00') => insert(customer, minute, amount, 100_001);
  const fan = (windowMinute: number, ids: readonly { id: number; customer: number }[], final: string) => {
    const sorted = [...ids].sort((a, b) => a.id - b.id);
    return `${new Date(T0 + windowMinute * MIN).toISOString()} ${sorted.map((o) => o.id).join(',')} ${final} ${sorted[0]!.id} ${100_000 + sorted[0]!.customer}`;
  };
  const dayStart = `${DAY}T00:00:00Z`;
  const dayEnd = () => new Date(Date.parse(dayStart) + 86_400_000);
  async function convergeFanIns(want: readonly string[]): Promise<string[]> {
    let last: string[] = [];
    const target = [...want].sort().join('\n');
    await waitFor('the fan-in alerts', async () => ((last = await streamFanIns('fan-in-3', dayStart, dayEnd())).join('\n') === target ? true : undefined), 90_000).catch(() => undefined);
    return last;
  }
  let expected: string[] = [];
  const ids: { id: number; customer: number }[] = [];

  it('fires on a late order that brings the third NEW customer; a customer buying twice counts once', async () => {
    const f1 = { id: await buy(1, 201), customer: 1 }; // 13:21, window 13:20-13:30
    const f2 = { id: await buy(2, 202, '250.50'), customer: 2 };
    const twice = { id: await buy(2, 203), customer: 2 }; // customer 2 again: still two customers
    await buy(3, 215); // 13:35: the next window, read first
    expect(await convergeFanIns([])).toEqual([]);
    const f3 = { id: await buy(3, 204), customer: 3 }; // late: 13:24 after 13:35
    expected = [fan(200, [f1, f2, twice, f3], '550.50')];
    expect(await convergeFanIns(expected)).toEqual(expected);
    ids.push(f1, f2, twice, f3);
  }, 180_000);

  it('a cancellation and a tier change away from NEW retract it; cancelling the anchor moves it to the next order, across a SIGKILL and restore', async () => {
    const [f1, f2, twice, f3] = ids as [(typeof ids)[0], (typeof ids)[0], (typeof ids)[0], (typeof ids)[0]];
    await exec(`UPDATE public.orders SET status = 'CANCELLED' WHERE id IN ($1, $2)`, [f2.id, twice.id]); // customer 2 gone: two customers
    expect(await convergeFanIns([])).toEqual([]);
    const f4 = { id: await buy(4, 205), customer: 4 };
    expect(await convergeFanIns([fan(200, [f1, f3, f4], '300.00')])).toHaveLength(1);
    await changeTier(4, 'BRONZE', 100); // customer 4 is no longer NEW
    expect(await convergeFanIns([])).toEqual([]);
    const f5 = { id: await buy(5, 206), customer: 5 };
    const f6 = { id: await buy(6, 207, '42.42'), customer: 6 };
    expect(await convergeFanIns([fan(200, [f1, f3, f5, f6], '342.42')])).toHaveLength(1);
    // The anchor is cancelled while the processor is down (SIGKILL): the restarted worker restores stage 3
    // from orders-by-product up to its committed offset, so the retraction finds the alert it must move to f3.
    await fixture.killProcessor('w1');
    await exec(`UPDATE public.orders SET status = 'CANCELLED' WHERE id = $1`, [f1.id]);
    fixture.startProcessor('w1');
    expected = [fan(200, [f3, f5, f6], '242.42')];
    expect(await convergeFanIns(expected)).toEqual(expected);
  }, 240_000);

  it('once caught up, stream, batch and SQL on the source agree for the day', async () => {
    const run = await fixture.cli(['batch', 'run', '--date', DAY, '--json'], 180_000);
    expect(run.exitCode, run.stderr).toBe(0);
    const source = await sourceFanIns(dayStart, dayEnd(), 3, 10);
    const batch = await batchFanIns('fan-in-3', dayStart, dayEnd());
    const stream = await streamFanIns('fan-in-3', dayStart, dayEnd());
    console.log(`fraud patterns: fan-in alerts stream ${stream.length}, batch ${batch.length}, source SQL ${source.length}`);
    expect(source).toEqual(expected);
    expect(batch).toEqual(source);
    expect(stream).toEqual(source);
  }, 240_000);
});

describe('fraud patterns on the real pipeline: a demo-sized load', () => {
  it('the stream and the batch raise the same velocity, escalation and fan-in alerts, escalation and fan-in equal to SQL on the source', async () => {
    const load = await fixture.cli(['load', '--rate', '300', '--duration', '40s', '--json'], 180_000);
    expect(load.exitCode, load.stderr).toBe(0);
    const report = JSON.parse(load.stdout) as { window: { from: string; to: string }; orders: { inserted: number }; tierChanges: number };
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
    const escalationSource = await sourceEscalations(window.from, window.to, 'demo');
    const escalationBatch = await batchEscalations(window.from, window.to, 'demo');
    const escalationInWindow = (e: { createdAt: number }) => e.createdAt >= Date.parse(window.from) && e.createdAt < Date.parse(window.to);
    const demoCustomer = (c: number) => c <= 100_000;
    const fanInDefault = DEFAULT_PATTERNS.find((p) => p.kind === 'fan-in');
    if (fanInDefault?.kind !== 'fan-in') throw new Error('no default fan-in pattern');
    const fanInSource = await sourceFanIns(window.from, window.to, fanInDefault.minCustomers, fanInDefault.windowMinutes);
    const fanInBatch = await batchFanIns('fan-in', window.from, window.to);
    let stream: string[] = [];
    let escalationStream: string[] = [];
    let fanInStream: string[] = [];
    await waitFor(
      'the stream to catch up with the batch',
      async () => {
        stream = (await streamAlerts(demoCustomer)).filter(inWindow);
        escalationStream = (await streamEscalations(demoCustomer)).filter(escalationInWindow).map((e) => e.line);
        fanInStream = await streamFanIns('fan-in', window.from, window.to);
        return stream.join('\n') === batch.join('\n') && escalationStream.join('\n') === escalationBatch.join('\n') && fanInStream.join('\n') === fanInBatch.join('\n') ? true : undefined;
      },
      180_000,
    ).catch(() => undefined);
    const [threshold] = (await warehouse.query<{ n: string }>(`SELECT count(*) AS n FROM public.fraud_alerts WHERE pattern = '' AND created_at >= $1 AND created_at < $2`, [window.from, window.to])).rows;
    const escalatedCustomers = new Set(escalationSource.map((l) => l.split(' ')[0])).size;
    console.log(`fraud patterns, demo-sized load (${report.orders.inserted} orders, ${report.tierChanges} tier changes, 1000 customers): velocity alerts stream ${stream.length}, batch ${batch.length}; escalation alerts stream ${escalationStream.length}, batch ${escalationBatch.length}, source SQL ${escalationSource.length} (${escalatedCustomers} customers); fan-in alerts stream ${fanInStream.length}, batch ${fanInBatch.length}, source SQL ${fanInSource.length}; threshold alerts batch ${threshold?.n}`);
    // How the default's threshold sits on this load: alerts (product windows) for other minimum customer counts.
    const byMinimum: string[] = [];
    for (const m of [3, 20, 22, 23, 24, 25, 26, 27, 28, 30]) byMinimum.push(`${m}: ${(await sourceFanIns(window.from, window.to, m, 10)).length}`);
    const products = await fixture.source((sql) => sql(`SELECT count(DISTINCT product_id) AS n FROM public.orders WHERE created_at >= $1 AND created_at < $2`, [window.from, window.to]));
    console.log(`fan-in on the demo-sized load, ${String(products[0]?.n)} products bought: alerts by minCustomers ${byMinimum.join(', ')}`);
    expect(batch.length).toBeGreaterThan(0);
    expect(stream).toEqual(batch);
    expect(escalationSource.length).toBeGreaterThan(0);
    expect(escalationBatch).toEqual(escalationSource);
    expect(escalationStream).toEqual(escalationSource);
    expect(fanInBatch).toEqual(fanInSource);
    expect(fanInStream).toEqual(fanInSource);
  }, 420_000);
});
