import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectPostgres } from '../../src/clients/postgres.ts';
import { BATCH_LOAD_LOCK } from '../../src/batch-legacy/load.ts';
import { runBatch } from '../../src/batch-legacy/run-batch.ts';
import { systemClock } from '../../src/core/clock.ts';
import { createLogger } from '../../src/core/logger.ts';
import { Redactor } from '../../src/core/redactor.ts';
import { ensureDemoSchema } from '../../src/source/demo-schema.ts';
import { openStateStore } from '../../src/state/state-store.ts';
import { BIN, jsonOf, runCli } from './cli.ts';
import { testConfig, writeTestConfig } from './test-env.ts';

interface BatchJson {
  runId: number;
  window: { from: string; to: string };
  status: 'succeeded' | 'failed' | 'skipped';
  rows: { processed_orders: number; order_summaries: number; fraud_alerts: number };
  skipped: boolean;
  reason: string | null;
  mode: 'builtin' | 'external';
  scheduled: boolean;
  sourceOrders: number;
  ignoredOrders: { cancelled: number; missingReference: number; invalid: number };
  exitCode: number | null;
}

const { config } = testConfig();
const DAY_MS = 86_400_000;
const tag = `it-batch-${process.pid}-${randomInt(1e9)}`;

let source: pg.Client;
let warehouse: pg.Client;
/** A day of 2001 nobody else's orders fall in: this file owns every source row and warehouse row of it. */
let day: string;
let dayMs: number;
const at = (hhmmss: string) => `${day}T${hhmmss}Z`;

/** The orders the file inserts, by role; ids come from the database. */
const ids: Record<string, number> = {};
const customers: Record<string, number> = {};
const products: Record<string, number> = {};
const handRows = { insideOrderId: 0, outsideOrderId: 0, customerId: 0 };

async function one<T extends pg.QueryResultRow>(client: pg.Client, sql: string, params: unknown[] = []): Promise<T> {
  const { rows } = await client.query<T>(sql, params);
  if (!rows[0]) throw new Error(`no row from ${sql}`);
  return rows[0];
}

async function insertOrder(name: string, customer: string, product: string, amount: string, createdAt: string, status = 'PAID', quantity = 1): Promise<number> {
  const row = await one<{ id: string }>(
    source,
    'INSERT INTO public.orders (customer_id, product_id, quantity, amount, status, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id',
    [customers[customer], products[product], quantity, amount, status, createdAt],
  );
  ids[name] = Number(row.id);
  return ids[name]!;
}

/** The window's warehouse rows as text, processed_at/alerted_at left out (they are the run's time). */
async function windowRows(): Promise<{ processed: string[]; summaries: string[]; alerts: string[] }> {
  const range = [new Date(dayMs), new Date(dayMs + DAY_MS)];
  const ts = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')`;
  const processed = await warehouse.query<{ line: string }>(
    `SELECT concat_ws(' ', order_id, customer_id, customer_tier, product_id, product_category, quantity, amount, discount, tax, final_amount, status, ${ts('created_at')}, channel) AS line
       FROM public.processed_orders WHERE created_at >= $1 AND created_at < $2 ORDER BY order_id`,
    range,
  );
  const summaries = await warehouse.query<{ line: string }>(
    `SELECT concat_ws(' ', customer_id, ${ts('window_start')}, ${ts('window_end')}, order_count, total_amount, total_final_amount) AS line
       FROM public.order_summaries WHERE window_start >= $1 AND window_start < $2 ORDER BY customer_id, window_start`,
    range,
  );
  const alerts = await warehouse.query<{ line: string }>(
    `SELECT concat_ws(' | ', order_id, customer_id, final_amount, severity, reason, ${ts('created_at')}) AS line
       FROM public.fraud_alerts WHERE created_at >= $1 AND created_at < $2 ORDER BY order_id`,
    range,
  );
  return { processed: processed.rows.map((r) => r.line), summaries: summaries.rows.map((r) => r.line), alerts: alerts.rows.map((r) => r.line) };
}

/** The expected warehouse rows, computed by hand from DESIGN.md's default rules (half-even at each step). */
function expected(): { processed: string[]; summaries: string[]; alerts: string[] } {
  const c = customers;
  const p = products;
  const processed = [
    // GOLD 10 %, electronics 10 %: 100.00 → 10.00 off, 9.00 tax, 99.00.
    `${ids.gold1} ${c.GOLD} GOLD ${p.electronics} electronics 2 100.00 10.00 9.00 99.00 PAID ${day}T00:00:00.000000 web`,
    // GOLD, books 0 %: 50.00 → 5.00 off, 45.00. Same customer and window as gold1.
    `${ids.gold2} ${c.GOLD} GOLD ${p.books} books 1 50.00 5.00 0.00 45.00 SHIPPED ${day}T00:02:00.000000 web`,
    // SILVER 5 % of 33.33 = 1.6665 → 1.67; 31.66 × 8 % = 2.5328 → 2.53; 34.19. Updated from PLACED 10.00: the final state counts.
    `${ids.silver} ${c.SILVER} SILVER ${p.toys} toys 3 33.33 1.67 2.53 34.19 SHIPPED ${day}T00:04:59.999000 web`,
    // BRONZE 2 % of 0.25 = 0.005 → 0.00 (half to even); groceries 5 % of 0.25 = 0.0125 → 0.01.
    `${ids.bronze} ${c.BRONZE} BRONZE ${p.groceries} groceries 1 0.25 0.00 0.01 0.26 PLACED ${day}T00:05:00.000000 web`,
    // PLATINUM 15 % of 19.99 = 2.9985 → 3.00; books 0 %. Microseconds truncated to the millisecond, as the stream does.
    `${ids.platinum} ${c.PLATINUM} PLATINUM ${p.books} books 1 19.99 3.00 0.00 16.99 PAID ${day}T10:00:00.123000 web`,
    // NEW, toys 8 %: 1000.00 → 1080.00.
    `${ids.newMedium} ${c.NEW} NEW ${p.toys} toys 1 1000.00 0.00 80.00 1080.00 PAID ${day}T12:00:00.000000 web`,
    // NEW, electronics 10 %: 10000.00 → 11000.00.
    `${ids.newHigh} ${c.NEW} NEW ${p.electronics} electronics 1 10000.00 0.00 1000.00 11000.00 PAID ${day}T12:01:00.000000 web`,
    // GOLD, electronics: 20000.00 → 18000.00 + 1800.00 = 19800.00.
    `${ids.goldHigh} ${c.GOLD} GOLD ${p.electronics} electronics 1 20000.00 2000.00 1800.00 19800.00 PAID ${day}T23:59:59.999000 web`,
  ];
  const summaries = [
    `${c.NEW} ${day}T12:00:00.000000 ${day}T12:05:00.000000 2 11000.00 12080.00`,
    `${c.BRONZE} ${day}T00:05:00.000000 ${day}T00:10:00.000000 1 0.25 0.26`,
    `${c.SILVER} ${day}T00:00:00.000000 ${day}T00:05:00.000000 1 33.33 34.19`,
    `${c.GOLD} ${day}T00:00:00.000000 ${day}T00:05:00.000000 2 150.00 144.00`,
    `${c.GOLD} ${day}T23:55:00.000000 ${nextDay()}T00:00:00.000000 1 20000.00 19800.00`,
    `${c.PLATINUM} ${day}T10:00:00.000000 ${day}T10:05:00.000000 1 19.99 16.99`,
  ].sort(bySummaryKey);
  const alerts = [
    `${ids.newMedium} | ${c.NEW} | 1080.00 | MEDIUM | NEW customer final amount 1080.00 above 1000.00 | ${day}T12:00:00.000000`,
    `${ids.newHigh} | ${c.NEW} | 11000.00 | HIGH | final amount 11000.00 above 10000.00 | ${day}T12:01:00.000000`,
    `${ids.goldHigh} | ${c.GOLD} | 19800.00 | HIGH | final amount 19800.00 above 10000.00 | ${day}T23:59:59.999000`,
  ];
  return { processed: processed.sort(byFirstNumber), summaries, alerts: alerts.sort(byFirstNumber) };
}

const byFirstNumber = (a: string, b: string) => Number(a.split(' ')[0]) - Number(b.split(' ')[0]);
const bySummaryKey = (a: string, b: string) => byFirstNumber(a, b) || a.localeCompare(b);
const nextDay = () => new Date(dayMs + DAY_MS).toISOString().slice(0, 10);

async function batchRuns(): Promise<{ id: number; status: string; mode: string; scheduled: boolean; rows: Record<string, number>; exit_code: number | null; reason: string | null }[]> {
  const { rows } = await warehouse.query(
    'SELECT id::int, status, mode, scheduled, rows, exit_code, reason FROM stream_migrate.batch_runs WHERE window_from = $1 AND window_to = $2 ORDER BY id',
    [new Date(dayMs), new Date(dayMs + DAY_MS)],
  );
  return rows;
}

/** A working directory whose stream-migrate.yaml is the test stack's configuration with `yaml` merged over it. */
function workdir(yaml: string): string {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-batch-'));
  writeTestConfig(cwd, yaml);
  return cwd;
}

beforeAll(async () => {
  await ensureDemoSchema(config.source);
  source = await connectPostgres(config.source, 'source');
  warehouse = await connectPostgres(config.warehouse, 'warehouse');
  for (;;) {
    dayMs = Date.UTC(2001, 0, 1) + randomInt(365) * DAY_MS;
    const taken = await one<{ n: string }>(source, 'SELECT count(*) AS n FROM public.orders WHERE created_at >= $1 AND created_at < $2', [
      new Date(dayMs - DAY_MS),
      new Date(dayMs + 2 * DAY_MS),
    ]);
    if (Number(taken.n) === 0) break;
  }
  day = new Date(dayMs).toISOString().slice(0, 10);
  for (const tier of ['NEW', 'BRONZE', 'SILVER', 'GOLD', 'PLATINUM']) {
    customers[tier] = Number((await one<{ id: string }>(source, 'INSERT INTO public.customers (name, tier) VALUES ($1, $2) RETURNING id', [`${tag} ${tier}`, tier])).id);
  }
  for (const category of ['electronics', 'groceries', 'books', 'toys']) {
    products[category] = Number(
      (await one<{ id: string }>(source, 'INSERT INTO public.products (name, category, price) VALUES ($1, $2, 1.00) RETURNING id', [`${tag} ${category}`, category])).id,
    );
  }
  await insertOrder('gold1', 'GOLD', 'electronics', '100.00', at('00:00:00'), 'PAID', 2);
  await insertOrder('gold2', 'GOLD', 'books', '50.00', at('00:02:00'), 'SHIPPED');
  await insertOrder('silver', 'SILVER', 'toys', '10.00', at('00:04:59.999'), 'PLACED');
  await source.query("UPDATE public.orders SET amount = 33.33, quantity = 3, status = 'SHIPPED' WHERE id = $1", [ids.silver]);
  await insertOrder('bronze', 'BRONZE', 'groceries', '0.25', at('00:05:00'), 'PLACED');
  await insertOrder('platinum', 'PLATINUM', 'books', '19.99', at('10:00:00.123456'));
  await insertOrder('newMedium', 'NEW', 'toys', '1000.00', at('12:00:00'));
  await insertOrder('newHigh', 'NEW', 'electronics', '10000.00', at('12:01:00'));
  await insertOrder('goldHigh', 'GOLD', 'electronics', '20000.00', at('23:59:59.999'));
  // Left out of everything: cancelled after the fact, deleted, and just outside the day on either side.
  await insertOrder('cancelled', 'NEW', 'electronics', '5000.00', at('12:02:00'));
  await source.query("UPDATE public.orders SET status = 'CANCELLED' WHERE id = $1", [ids.cancelled]);
  await insertOrder('deleted', 'GOLD', 'electronics', '30000.00', at('00:01:00'));
  await source.query('DELETE FROM public.orders WHERE id = $1', [ids.deleted]);
  await insertOrder('before', 'GOLD', 'electronics', '1.00', new Date(dayMs - 1).toISOString());
  await insertOrder('after', 'GOLD', 'electronics', '1.00', new Date(dayMs + DAY_MS).toISOString());
});

afterAll(async () => {
  if (source) {
    const orderIds = Object.values(ids);
    await source.query('DELETE FROM public.orders WHERE id = ANY($1::bigint[])', [orderIds]);
    await source.query('DELETE FROM public.customers WHERE id = ANY($1::bigint[])', [Object.values(customers)]);
    await source.query('DELETE FROM public.products WHERE id = ANY($1::bigint[])', [Object.values(products)]);
    await source.end();
  }
  if (warehouse) {
    const range = [new Date(dayMs - DAY_MS), new Date(dayMs + 2 * DAY_MS)];
    await warehouse.query('DELETE FROM public.processed_orders WHERE created_at >= $1 AND created_at < $2', range).catch(() => undefined);
    await warehouse.query('DELETE FROM public.order_summaries WHERE window_start >= $1 AND window_start < $2', range).catch(() => undefined);
    await warehouse.query('DELETE FROM public.fraud_alerts WHERE created_at >= $1 AND created_at < $2', range).catch(() => undefined);
    await warehouse.end();
  }
});

describe('stream-migrate batch run (built-in ETL)', () => {
  it('loads the day from the final state of the source, to the cent, and records the run', async () => {
    const run = await runCli(['batch', 'run', '--date', day, '--json'], { env: { STREAM_MIGRATE_ACTOR: tag } });
    expect(run.exitCode, run.stderr).toBe(0);
    const result = jsonOf<BatchJson>(run);
    expect(result).toMatchObject({
      window: { from: `${day}T00:00:00.000Z`, to: `${nextDay()}T00:00:00.000Z` },
      status: 'succeeded',
      rows: { processed_orders: 8, order_summaries: 6, fraud_alerts: 3 },
      skipped: false,
      reason: null,
      mode: 'builtin',
      sourceOrders: 9,
      ignoredOrders: { cancelled: 1, missingReference: 0, invalid: 0 },
    });
    expect(await windowRows()).toEqual(expected());

    const runs = await batchRuns();
    expect(runs.at(-1)).toMatchObject({ id: result.runId, status: 'succeeded', mode: 'builtin', scheduled: false, rows: result.rows, reason: null });
    const audit = await one<{ outcome: string; detail: { runId: number } }>(
      warehouse,
      "SELECT outcome, detail FROM stream_migrate.audit_log WHERE actor = $1 AND command = 'batch run' ORDER BY id DESC LIMIT 1",
      [tag],
    );
    expect(audit).toMatchObject({ outcome: 'succeeded', detail: { runId: result.runId } });
  });

  it('re-runs idempotently: same rows, rows put into the window by hand are gone, rows outside it stay', async () => {
    const before = await windowRows();
    const runsBefore = (await batchRuns()).length;
    // By hand: one row of each table inside the day, and a processed order just after it.
    handRows.insideOrderId = 9_000_000_000_000 + randomInt(1e9);
    handRows.outsideOrderId = handRows.insideOrderId + 1;
    handRows.customerId = handRows.insideOrderId;
    const inside = new Date(dayMs + 3_600_000);
    const outside = new Date(dayMs + DAY_MS);
    for (const [orderId, createdAt] of [
      [handRows.insideOrderId, inside],
      [handRows.outsideOrderId, outside],
    ] as const) {
      await warehouse.query(
        `INSERT INTO public.processed_orders VALUES ($1, $2, 'GOLD', 1, 'books', 1, 1.00, 0.10, 0.00, 0.90, 'PAID', $3, now())`,
        [orderId, handRows.customerId, createdAt],
      );
    }
    await warehouse.query("INSERT INTO public.fraud_alerts VALUES ($1, $2, 99999.00, 'HIGH', 'by hand', $3, now(), '', '', 'epoch', 'epoch')", [handRows.insideOrderId, handRows.customerId, inside]);
    await warehouse.query('INSERT INTO public.order_summaries VALUES ($1, $2, $3, 1, 1.00, 0.90)', [handRows.customerId, inside, new Date(inside.getTime() + 300_000)]);

    const run = await runCli(['batch', 'run', '--from', `${day}T00:00:00Z`, '--to', `${nextDay()}T00:00:00Z`, '--scheduled', '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    const result = jsonOf<BatchJson>(run);
    expect(result).toMatchObject({ status: 'succeeded', scheduled: true, rows: { processed_orders: 8, order_summaries: 6, fraud_alerts: 3 } });
    expect(await windowRows()).toEqual(before);
    const outsideLeft = await warehouse.query('SELECT order_id FROM public.processed_orders WHERE order_id = $1', [handRows.outsideOrderId]);
    expect(outsideLeft.rows).toHaveLength(1);

    const runs = await batchRuns();
    expect(runs).toHaveLength(runsBefore + 1);
    expect(runs.at(-1)).toMatchObject({ id: result.runId, status: 'succeeded', scheduled: true, rows: result.rows });
  });

  it('serialises overlapping runs: both wait for the load lock, then both succeed and the rows are the same', async () => {
    const before = await windowRows();
    // Holding the lock makes both runs reach it before either loads, so their transactions really overlap.
    const holder = await connectPostgres(config.warehouse, 'warehouse');
    await holder.query('SELECT pg_advisory_lock(hashtext($1))', [BATCH_LOAD_LOCK]);
    let runs: Promise<Awaited<ReturnType<typeof runCli>>[]>;
    try {
      runs = Promise.all([
        runCli(['batch', 'run', '--date', day, '--json']),
        runCli(['batch', 'run', '--from', `${day}T11:58:00Z`, '--to', `${day}T12:03:00Z`, '--json']),
      ]);
      const deadline = Date.now() + 60_000;
      for (;;) {
        const waiting = await one<{ n: string }>(
          holder,
          "SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory' AND application_name = 'stream-migrate-batch'",
        );
        if (Number(waiting.n) >= 2) break;
        if (Date.now() > deadline) throw new Error('the two batch runs never both waited for the batch-load lock');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      await holder.query('SELECT pg_advisory_unlock(hashtext($1))', [BATCH_LOAD_LOCK]);
      await holder.end();
    }
    const [day1, partial] = await runs;
    for (const run of [day1!, partial!]) expect(run.exitCode, run.stderr).toBe(0);
    // The second window rounds out to whole summary and fraud-pattern windows (10 minutes: 11:50..12:10) and holds the NEW customer's two orders.
    expect(jsonOf<BatchJson>(partial!)).toMatchObject({ window: { from: `${day}T11:50:00.000Z`, to: `${day}T12:10:00.000Z` }, rows: { processed_orders: 2, order_summaries: 1, fraud_alerts: 2 } });
    expect(await windowRows()).toEqual(before);
  });

  it('marks a run whose process died as failed when the next run starts', async () => {
    const dead = await one<{ id: string }>(
      warehouse,
      "INSERT INTO stream_migrate.batch_runs (window_from, window_to, mode, status, actor) VALUES ($1, $2, 'builtin', 'running', $3) RETURNING id",
      [new Date(dayMs), new Date(dayMs + DAY_MS), tag],
    );
    const run = await runCli(['batch', 'run', '--date', day, '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    const row = (await batchRuns()).find((r) => r.id === Number(dead.id));
    expect(row).toMatchObject({ status: 'failed', reason: 'interrupted: the process running it stopped before it finished' });
    expect(jsonOf<BatchJson>(run).status).toBe('succeeded');
  });

  it('leaves the previous rows when a run fails before commit, and the failed run can be re-run', async () => {
    const before = await windowRows();
    const fn = `it_batch_fail_${process.pid}_${randomInt(1e6)}`;
    // A load that fails half-way: the warehouse refuses one of this day's rows, after others were inserted.
    await warehouse.query(`CREATE FUNCTION public.${fn}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'refused by the ${fn} test trigger'; END $$`);
    await warehouse.query(`CREATE TRIGGER ${fn} BEFORE INSERT ON public.processed_orders FOR EACH ROW WHEN (NEW.order_id = ${ids.goldHigh}) EXECUTE FUNCTION public.${fn}()`);
    await source.query("UPDATE public.orders SET amount = 120.00 WHERE id = $1", [ids.gold1]);
    try {
      const failed = await runCli(['batch', 'run', '--date', day, '--json']);
      expect(failed.exitCode, failed.stderr).toBe(1);
      const result = jsonOf<BatchJson>(failed);
      expect(result).toMatchObject({ status: 'failed', skipped: false });
      expect(result.reason).toContain(`refused by the ${fn} test trigger`);
      expect(await windowRows()).toEqual(before);
      expect((await batchRuns()).at(-1)).toMatchObject({ id: result.runId, status: 'failed', rows: { processed_orders: 0 } });
    } finally {
      await warehouse.query(`DROP TRIGGER IF EXISTS ${fn} ON public.processed_orders`);
      await warehouse.query(`DROP FUNCTION IF EXISTS public.${fn}()`);
    }

    const rerun = await runCli(['batch', 'run', '--date', day, '--json']);
    expect(rerun.exitCode, rerun.stderr).toBe(0);
    // GOLD 120.00 electronics: 12.00 off, 10.80 tax, 118.80; the window's summary follows.
    const rows = await windowRows();
    expect(rows.processed).toContain(`${ids.gold1} ${customers.GOLD} GOLD ${products.electronics} electronics 2 120.00 12.00 10.80 118.80 PAID ${day}T00:00:00.000000 web`);
    expect(rows.summaries).toContain(`${customers.GOLD} ${day}T00:00:00.000000 ${day}T00:05:00.000000 2 170.00 163.80`);
    await source.query('UPDATE public.orders SET amount = 100.00 WHERE id = $1', [ids.gold1]);
  });

  it('refuses bad windows with a one-line usage error (exit 2)', async () => {
    for (const args of [
      ['--date', '2001-02-30'],
      ['--from', '2001-01-01T00:00:00Z'],
      ['--date', '2001-01-01', '--to', '2001-01-02T00:00:00Z'],
      ['--from', '2001-01-02T00:00:00Z', '--to', '2001-01-01T00:00:00Z'],
      ['--from', '2001-01-01T00:00:00', '--to', '2001-01-02T00:00:00Z'],
    ]) {
      const run = await runCli(['batch', 'run', ...args]);
      expect(run.exitCode, args.join(' ')).toBe(2);
      expect(run.stderr.trim().split('\n'), run.stderr).toHaveLength(1);
      expect(run.stderr).toMatch(/^error: --(date|from|to) /);
    }
  });

  it('says which database is unreachable (exit 3) and records the failed run', async () => {
    const cwd = workdir('source:\n  url: postgresql://postgres@127.0.0.1:1/source\n');
    const run = await runCli(['batch', 'run', '--date', day, '--json'], { cwd });
    expect(run.exitCode, run.stderr).toBe(3);
    const result = jsonOf<BatchJson>(run);
    expect(result.status).toBe('failed');
    expect(result.reason).toMatch(/source PostgreSQL at 127\.0\.0\.1:1\/source is unreachable/);
    expect(run.stderr).toMatch(/retrying/);
    expect((await batchRuns()).at(-1)).toMatchObject({ id: result.runId, status: 'failed' });
  });
});

describe('the schedule guard seam', () => {
  it('turns a scheduled run the guard refuses into a recorded skip that changes nothing', async () => {
    // The test before left gold1 changed in the warehouse (and restored in the source): a skip must not repair it.
    const before = await windowRows();
    const store = await openStateStore(config.warehouse);
    try {
      const logger = createLogger({ level: 'warn', json: false, redactor: new Redactor(), write: () => undefined });
      const deps = { config, store, logger, clock: systemClock, actor: tag, guard: async () => ({ allowed: false as const, reason: 'the batch job was retired by cutover' }) };
      const window = { fromMs: dayMs, toMs: dayMs + DAY_MS };
      const outcome = await runBatch({ window, scheduled: true }, deps);
      expect(outcome).toMatchObject({ status: 'skipped', skipped: true, reason: 'the batch job was retired by cutover', rows: { processed_orders: 0 } });
      expect((await batchRuns()).at(-1)).toMatchObject({ id: outcome.runId, status: 'skipped', scheduled: true, reason: 'the batch job was retired by cutover' });
      expect(await windowRows()).toEqual(before);
      // A person re-running a day is not a scheduled run: the guard is not asked.
      const manual = await runBatch({ window, scheduled: false }, deps);
      expect(manual.status).toBe('succeeded');
    } finally {
      await store.close();
    }
    expect(await windowRows()).toEqual(expected());
  });
});

describe('stream-migrate batch run (external job)', () => {
  it('records a failing job’s exit status and exits 1', async () => {
    const cwd = workdir("batch:\n  mode: external\n  command: [sh, -c, 'echo about to fail >&2; exit 7']\n");
    const run = await runCli(['batch', 'run', '--date', day, '--json'], { cwd });
    expect(run.exitCode, run.stderr).toBe(1);
    const result = jsonOf<BatchJson>(run);
    expect(result).toMatchObject({ status: 'failed', mode: 'external', exitCode: 7, reason: 'external batch job sh exited with status 7' });
    expect(run.stderr).toContain('about to fail');
    expect((await batchRuns()).at(-1)).toMatchObject({ id: result.runId, status: 'failed', mode: 'external', exit_code: 7 });
  });

  it('passes the window as environment variables and arguments, streams its output, records status 0', async () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sm-batch-job-')), 'window.txt');
    const script = `printf '%s\\n' "$STREAM_MIGRATE_WINDOW_FROM" "$STREAM_MIGRATE_WINDOW_TO" "$*" > ${out}; echo job line one; echo job line two`;
    const cwd = workdir(`batch:\n  mode: external\n  command: [sh, -c, ${JSON.stringify(script)}, team-job]\n`);
    const run = await runCli(['batch', 'run', '--date', day, '--json'], { cwd });
    expect(run.exitCode, run.stderr).toBe(0);
    const result = jsonOf<BatchJson>(run);
    const from = `${day}T00:00:00.000Z`;
    const to = `${nextDay()}T00:00:00.000Z`;
    expect(fs.readFileSync(out, 'utf8')).toBe(`${from}\n${to}\n--from ${from} --to ${to}\n`);
    expect(run.stderr).toMatch(/job line one[^\n]*\n[^\n]*job line two/);
    // The job wrote nothing, so the rows are what the built-in runs above left for the day.
    expect(result).toMatchObject({ status: 'succeeded', mode: 'external', exitCode: 0, rows: { processed_orders: 8, order_summaries: 6, fraud_alerts: 3 } });
    expect((await batchRuns()).at(-1)).toMatchObject({ id: result.runId, status: 'succeeded', mode: 'external', exit_code: 0 });
  });
});

describe('stream-migrate batch schedule', () => {
  it('prints a crontab line that runs the scheduled batch from the right directory and configuration, even in cron’s bare environment', async () => {
    const cwd = workdir('source:\n  url: postgresql://postgres@127.0.0.1:1/source\nbatch:\n  schedule: "15 3 * * *"\n');
    const config = path.join(cwd, 'elsewhere.yaml');
    fs.renameSync(path.join(cwd, 'stream-migrate.yaml'), config);
    const run = await runCli(['--config', config, 'batch', 'schedule', '--json'], { cwd });
    expect(run.exitCode, run.stderr).toBe(0);
    const printed = jsonOf<{ line: string; command: string; schedule: string }>(run);
    expect(printed.schedule).toBe('15 3 * * *');
    expect(printed.line).toBe(`15 3 * * * ${printed.command}`);
    expect(printed.command).toContain(`cd ${cwd} && `);
    expect(printed.command).toContain(`${BIN} --config ${config} batch run --scheduled >> .stream-migrate/batch.log 2>&1`);

    const text = await runCli(['--config', config, 'batch', 'schedule'], { cwd });
    expect(text.stdout.trim()).toBe(printed.line);

    // What cron does: sh -c with next to no environment. The source is unreachable on purpose, so
    // the scheduled run fails fast and says so in the log, proving the line found binary and config.
    const shell = await execa('/bin/sh', ['-c', printed.command], { env: { HOME: os.tmpdir(), PATH: '/usr/bin:/bin' }, extendEnv: false, reject: false, timeout: 120_000 });
    expect(shell.exitCode).toBe(3);
    expect(fs.readFileSync(path.join(cwd, '.stream-migrate', 'batch.log'), 'utf8')).toMatch(/source PostgreSQL at 127\.0\.0\.1:1\/source is unreachable/);
  });
});
