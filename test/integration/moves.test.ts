import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectorFixture, runId, waitFor } from './connector-fixture.ts';
import { ownDatabase } from './own-database.ts';
import { testConfig } from './test-env.ts';

/**
 * The measurement that opened the trust issue, as a test on the real pipeline: a source database
 * of its own, Debezium, the processor with one worker and then two, `load` running (about 1% of
 * its changes are moves) while 200 live orders at a time are moved to a neighbouring customer
 * (another partition). The outputs must equal the source, computed here with SQL: every live
 * order once, under its current customer, and every 5-minute summary's count and total.
 * Measured on main before the fix: 35 of 200 moved orders vanished.
 */
const id = `mv${runId()}`;
const base = testConfig().config;
const sourceDatabase = ownDatabase(base.source, `it_${id}`);
let fixture: ConnectorFixture;

beforeAll(async () => {
  await sourceDatabase.create();
  fixture = new ConnectorFixture(id, { source: { url: sourceDatabase.url }, connector: { snapshotMode: 'initial' } });
  await fixture.ensureSourceSchema();
  // Seeds customers and products, and a first few hundred orders for the snapshot.
  const seeded = await fixture.cli(['load', '--rate', '200', '--duration', '2s', '--customers', '300', '--json']);
  expect(seeded.exitCode, seeded.stderr).toBe(0);
  await fixture.createTopics();
  const ingestion = await fixture.cli(['phase', 'run', 'ingestion', '--json'], 300_000);
  expect(ingestion.exitCode, ingestion.stderr + ingestion.stdout).toBe(0);
}, 600_000);

afterAll(async () => {
  await fixture?.cleanup();
  await sourceDatabase.drop().catch(() => undefined);
}, 120_000);

/** Moves `count` random live orders to the next customer (customer c is task c mod 3, so always another partition). */
async function moveOrders(count: number): Promise<number[]> {
  return fixture.source(async (sql) => {
    const [{ max }] = (await sql('SELECT max(id)::int AS max FROM public.customers')) as [{ max: number }];
    const rows = await sql(
      `UPDATE public.orders SET customer_id = customer_id % $2 + 1
       WHERE id IN (SELECT id FROM public.orders WHERE status <> 'CANCELLED' ORDER BY random() LIMIT $1) RETURNING id`,
      [count, max],
    );
    return rows.map((r) => Number(r.id));
  });
}

/** The first difference between the stream's committed outputs and the source, or undefined. */
async function difference(): Promise<string | undefined> {
  const expectedOrders = await fixture.source((sql) => sql(`SELECT id::text || '/' || customer_id || ' ' || amount::text AS line FROM public.orders WHERE status <> 'CANCELLED'`));
  const expectedSummaries = await fixture.source((sql) =>
    sql(`SELECT customer_id || ' ' || to_char(to_timestamp(w * 300) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.000"Z"') || ' ' || count(*) || ' ' || sum(amount)::text AS line
         FROM (SELECT customer_id, amount, floor(extract(epoch FROM created_at) / 300)::bigint AS w FROM public.orders WHERE status <> 'CANCELLED') o
         GROUP BY customer_id, w`),
  );
  const latest = async (topic: string) => {
    const values = new Map<string, string>();
    for (const r of await fixture.all(topic)) {
      const key = r.key?.toString('utf8') ?? '';
      if (r.value === null) values.delete(key);
      else values.set(key, r.value.toString('utf8'));
    }
    return [...values.values()].map((v) => JSON.parse(v) as Record<string, string | number>);
  };
  const actualOrders = new Set((await latest(fixture.topics.processedOrders)).map((v) => `${v.order_id}/${v.customer_id} ${v.amount}`));
  const actualSummaries = new Set((await latest(fixture.topics.orderSummaries)).map((v) => `${v.customer_id} ${v.window_start} ${v.order_count} ${v.total_amount}`));
  return compare('processed order', expectedOrders.map((r) => String(r.line)), actualOrders) ?? compare('summary', expectedSummaries.map((r) => String(r.line)), actualSummaries);
}

function compare(what: string, expected: readonly string[], actual: ReadonlySet<string>): string | undefined {
  const missing = expected.filter((line) => !actual.has(line));
  const wanted = new Set(expected);
  const extra = [...actual].filter((line) => !wanted.has(line));
  if (missing.length === 0 && extra.length === 0) return undefined;
  return `${what}s: ${missing.length} missing (e.g. ${missing.slice(0, 3).join('; ')}), ${extra.length} unexpected (e.g. ${extra.slice(0, 3).join('; ')})`;
}

async function converge(timeoutMs = 120_000): Promise<string | undefined> {
  let last: string | undefined = 'not compared yet';
  await waitFor('the outputs to equal the source', async () => ((last = await difference()) === undefined ? true : undefined), timeoutMs).catch(() => undefined);
  return last;
}

/** Runs `load` and, while it runs, moves 200 live orders three times (some twice). */
async function moveUnderLoad(): Promise<number> {
  const load = fixture.cli(['load', '--rate', '300', '--duration', '12s', '--json'], 120_000);
  let moved = 0;
  for (let round = 0; round < 3; round++) {
    await new Promise((r) => setTimeout(r, 2_500));
    moved += (await moveOrders(200)).length;
  }
  const run = await load;
  expect(run.exitCode, run.stderr).toBe(0);
  const summary = JSON.parse(run.stdout) as { orders: { moved: number; inserted: number } };
  expect(summary.orders.moved).toBeGreaterThan(0);
  return moved + summary.orders.moved;
}

describe('orders that change customer, on the real pipeline', () => {
  it('one worker: moved orders are neither lost nor doubled', async () => {
    fixture.startProcessor('w1');
    const moved = await moveUnderLoad();
    const diff = await converge();
    console.log(`moves, 1 worker: orders moved ${moved}, outputs vs source: ${diff ?? 'equal (lost 0, doubled 0)'}`);
    expect(diff).toBeUndefined();
  }, 300_000);

  it('two workers, each owning some partitions of every move: still equal to the source', async () => {
    fixture.startProcessor('w2');
    const moved = await moveUnderLoad();
    const diff = await converge();
    console.log(`moves, 2 workers: orders moved ${moved}, outputs vs source: ${diff ?? 'equal (lost 0, doubled 0)'}`);
    expect(diff).toBeUndefined();
    const dead = await fixture.all(fixture.topics.deadLetter);
    expect(dead.map((d) => d.headers['dlq.reason'])).toEqual([]);
  }, 300_000);
});
