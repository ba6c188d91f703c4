import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processedKey } from '../../src/stream/records.ts';
import { jsonOf } from './cli.ts';
import { ConnectorFixture, runId, waitFor } from './connector-fixture.ts';

const id = `dlq${runId()}`;
const f = new ConnectorFixture(id);
// Ids far above the sequences: customers that do not exist yet when their orders are written.
const base = 900_000_000 + Math.floor(Math.random() * 90_000_000);
const lateCustomer = base;
const neverCustomer = base + 1;

interface Listed {
  readonly count: number;
  readonly byReason: { reason: string; count: number }[];
  readonly deadLetters: { stage: string; reason: string; reasonClass: string; orderId: number | null; customerId: number | null; source: { topic: string }; replayed: { signalId: string } | null }[];
}

interface Replayed {
  readonly dryRun: boolean;
  readonly signalId: string | null;
  readonly signalSent: boolean;
  readonly orderIds: number[];
  readonly replayed: { orderId: number }[];
  readonly skipped: { orderId: number | null; skipReason: string }[];
  readonly alreadyReplayed: number;
  readonly snapshot: { rows: number } | null;
}

beforeAll(async () => {
  await f.ensureSourceSchema();
  await f.createTopics();
  const run = await f.cli(['phase', 'run', 'ingestion', '--json']);
  expect(jsonOf<{ status: string }>(run).status, run.stderr).toBe('succeeded');
  f.startProcessor('w1');
}, 240_000);

afterAll(async () => {
  await f.cleanup();
});

describe('dead letters: list, then replay once the cause is fixed', () => {
  it('lists an order dead-lettered for a customer that did not exist, replays it once the customer does, and never twice', async () => {
    const [product] = await f.source((sql) => sql(`INSERT INTO public.products (name, category, price) VALUES ('it ${id}', 'electronics', 100.00) RETURNING id`));
    const productId = Number(product!.id);
    // An order whose customer is not there (the foreign key is bypassed in this session only):
    // the processor waits processor.missingReferenceWait (2s), then dead-letters it.
    const orders = await f.source(async (sql) => {
      await sql(`SET session_replication_role = replica`);
      return sql(`INSERT INTO public.orders (customer_id, product_id, quantity, amount, status) VALUES ($1, $3, 2, '250.00', 'PLACED'), ($2, $3, 1, '10.00', 'PLACED') RETURNING id`, [
        lateCustomer,
        neverCustomer,
        productId,
      ]);
    });
    const [lateOrder, goneOrder] = orders.map((o) => Number(o.id)) as [number, number];
    f.rows.push(`DELETE FROM public.orders WHERE id IN (${lateOrder}, ${goneOrder})`, `DELETE FROM public.customers WHERE id IN (${lateCustomer}, ${neverCustomer})`, `DELETE FROM public.products WHERE id = ${productId}`);

    const reason = `customer ${lateCustomer} of order`;
    const listed = await waitFor('the dead letter', async () => {
      const l = jsonOf<Listed>(await f.cli(['dlq', 'list', '--reason', reason, '--json']));
      return l.count > 0 ? l : undefined;
    }, 90_000);
    expect(listed.count).toBe(1);
    expect(listed.byReason).toEqual([{ reason: 'missing-customer', count: 1 }]);
    expect(listed.deadLetters[0]).toMatchObject({ stage: 'join', reasonClass: 'missing-customer', orderId: lateOrder, customerId: lateCustomer, source: { topic: f.topics.ordersByCustomer }, replayed: null });
    expect(listed.deadLetters[0]!.reason).toBe(`customer ${lateCustomer} of order ${lateOrder} not found within 2s`);
    const text = await f.cli(['dlq', 'list']);
    expect(text.stdout).toMatch(new RegExp(`customer ${lateCustomer} of order ${lateOrder} not found within 2s`));
    expect(text.stdout).toMatch(/dead letters on .*: missing-customer \d+/);

    // Still missing: planned as skipped, with the reason.
    const early = jsonOf<Replayed>(await f.cli(['dlq', 'replay', '--reason', reason, '--dry-run', '--json']));
    expect(early).toMatchObject({ dryRun: true, orderIds: [], signalSent: false });
    expect(early.skipped).toEqual([expect.objectContaining({ orderId: lateOrder, skipReason: `customer ${lateCustomer} of order ${lateOrder} still missing in the source` })]);

    // The customer arrives (and is streamed): the processor knows it, but the order stays dead.
    await f.source((sql) => sql(`INSERT INTO public.customers (id, name, tier) VALUES ($1, 'it ${id}', 'GOLD')`, [lateCustomer]));
    const key = processedKey(lateOrder, lateCustomer);
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await f.all(f.topics.processedOrders)).some((r) => r.key?.toString() === key)).toBe(false);

    const dry = jsonOf<Replayed>(await f.cli(['dlq', 'replay', '--reason', reason, '--dry-run', '--json']));
    expect(dry).toMatchObject({ dryRun: true, orderIds: [lateOrder], signalSent: false, skipped: [] });
    expect(dry.signalId).toMatch(/^dlq-replay-/);
    expect(jsonOf<Listed>(await f.cli(['dlq', 'list', '--reason', reason, '--json'])).deadLetters[0]!.replayed).toBeNull();

    const replay = await f.cli(['dlq', 'replay', '--reason', reason, '--json']);
    expect(replay.exitCode, replay.stderr).toBe(0);
    const done = jsonOf<Replayed>(replay);
    expect(done).toMatchObject({ dryRun: false, signalId: dry.signalId, signalSent: true, orderIds: [lateOrder], alreadyReplayed: 0, snapshot: { rows: 1 } });

    // The order's current row went through the processor: its processed output appears.
    const processed = await waitFor('the processed order', async () => {
      const r = (await f.all(f.topics.processedOrders)).find((rec) => rec.key?.toString() === key && rec.value !== null);
      return r ? (JSON.parse(r.value!.toString()) as Record<string, unknown>) : undefined;
    }, 60_000);
    expect(processed).toMatchObject({ order_id: lateOrder, customer_id: lateCustomer, customer_tier: 'GOLD', product_category: 'electronics', amount: '250.00', discount: '25.00', status: 'PLACED' });

    // Exactly once: recorded, audited, and a second replay sends nothing.
    const after = jsonOf<Listed>(await f.cli(['dlq', 'list', '--reason', reason, '--json']));
    expect(after.deadLetters[0]!.replayed?.signalId).toBe(done.signalId);
    const again = jsonOf<Replayed>(await f.cli(['dlq', 'replay', '--reason', reason, '--json']));
    expect(again).toMatchObject({ signalId: null, signalSent: false, orderIds: [], alreadyReplayed: 1, snapshot: null });
    const audit = jsonOf<{ entries: { command: string; target: string; detail: Record<string, unknown> }[] }>(await f.cli(['audit', '--command', 'dlq replay', '--limit', '10', '--json']));
    const ours = audit.entries.filter((e) => e.target === f.topics.deadLetter);
    expect(ours.map((e) => e.detail.signalId)).toEqual([null, done.signalId]);
    expect(ours[1]!.detail.orders).toEqual([lateOrder]);
  }, 300_000);

  it('replays once when two replays run at the same time, and a re-sent unchanged row changes no output value', async () => {
    const customer = base + 2;
    const [product] = await f.source((sql) => sql(`INSERT INTO public.products (name, category, price) VALUES ('it ${id} b', 'books', 5.00) RETURNING id`));
    const [order] = await f.source(async (sql) => {
      await sql(`SET session_replication_role = replica`);
      return sql(`INSERT INTO public.orders (customer_id, product_id, quantity, amount, status) VALUES ($1, $2, 1, '40.00', 'PAID') RETURNING id`, [customer, product!.id]);
    });
    const orderId = Number(order!.id);
    f.rows.unshift(`DELETE FROM public.orders WHERE id = ${orderId}`);
    f.rows.push(`DELETE FROM public.customers WHERE id = ${customer}`, `DELETE FROM public.products WHERE id = ${Number(product!.id)}`);
    const reason = `customer ${customer} of order`;
    await waitFor('the dead letter', async () => ((jsonOf<Listed>(await f.cli(['dlq', 'list', '--reason', reason, '--json'])).count > 0 ? true : undefined)), 90_000);
    await f.source((sql) => sql(`INSERT INTO public.customers (id, name, tier) VALUES ($1, 'it ${id} b', 'SILVER')`, [customer]));

    const runs = await Promise.all([1, 2].map(() => f.cli(['dlq', 'replay', '--reason', reason, '--json'])));
    const results = runs.map((r) => jsonOf<Replayed>(r));
    const sent = results.filter((r) => r.signalSent);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.orderIds).toEqual([orderId]);
    expect(results.filter((r) => !r.signalSent)).toEqual([expect.objectContaining({ orderIds: [], alreadyReplayed: 1 })]);

    const key = processedKey(orderId, customer);
    const first = await waitFor('the processed order', async () => {
      const r = (await f.all(f.topics.processedOrders)).filter((rec) => rec.key?.toString() === key);
      return r.length > 0 ? r : undefined;
    }, 60_000);
    const summaries = async () => (await f.all(f.topics.orderSummaries)).filter((r) => r.key?.toString().startsWith(`{"customer_id":${customer},`));
    const summaryBefore = await waitFor('its summary', async () => ((await summaries()).length > 0 ? await summaries() : undefined));

    // The same row once more, through a snapshot: the processor holds it already.
    const again = await f.cli(['snapshot', '--table', 'public.orders', '--where', `id = ${orderId}`, '--json']);
    expect(again.exitCode, again.stderr).toBe(0);
    await new Promise((r) => setTimeout(r, 4_000));
    expect((await f.all(f.topics.processedOrders)).filter((rec) => rec.key?.toString() === key)).toHaveLength(first.length);
    const values = (records: { value: Buffer | null }[]) => records.map((r) => {
      const { updated_at: _ignored, ...rest } = JSON.parse(r.value!.toString()) as Record<string, unknown>;
      return JSON.stringify(rest);
    });
    const summaryAfter = await summaries();
    console.log(`re-sent unchanged order: processed-orders records ${first.length} → ${first.length}, summary records ${summaryBefore.length} → ${summaryAfter.length}`);
    expect(new Set(values(summaryAfter))).toEqual(new Set(values(summaryBefore)));
  }, 240_000);

  it('skips an order deleted since it was dead-lettered', async () => {
    const reason = `customer ${neverCustomer} of order`;
    const listed = await waitFor('the second dead letter', async () => {
      const l = jsonOf<Listed>(await f.cli(['dlq', 'list', '--reason', reason, '--json']));
      return l.count > 0 ? l : undefined;
    }, 60_000);
    const orderId = listed.deadLetters[0]!.orderId!;
    await f.source((sql) => sql('DELETE FROM public.orders WHERE id = $1', [orderId]));
    const run = jsonOf<Replayed>(await f.cli(['dlq', 'replay', '--reason', reason, '--json']));
    expect(run).toMatchObject({ signalId: null, orderIds: [] });
    expect(run.skipped).toEqual([expect.objectContaining({ orderId, skipReason: `order ${orderId} no longer exists in the source` })]);
  }, 120_000);
});
