import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSchemaRegistryClient, valueSubject } from '../../src/clients/schema-registry.ts';
import { jsonOf } from './cli.ts';
import { ConnectorFixture, runId, waitFor } from './connector-fixture.ts';
import { ownDatabase } from './own-database.ts';
import { testConfig } from './test-env.ts';

/**
 * Source schema drift on the real pipeline: a source database of its own, Debezium, one processor
 * worker and `load` running. ADD COLUMN and a numeric widening are shown by `phase plan ingestion`
 * as compatible, registered by `phase run ingestion`, and the outputs still equal the source
 * (nothing lost, nothing dead-lettered). DROP COLUMN amount is shown as breaking and refused by
 * `phase run ingestion` (exit 1) before any order change reaches the processor without it.
 */
const id = `sd${runId()}`;
const base = testConfig().config;
const sourceDatabase = ownDatabase(base.source, `it_${id}`);
const registry = createSchemaRegistryClient(base.schemaRegistry);
let fixture: ConnectorFixture;
let ordersSubject: string;

interface Plan {
  readonly changes: readonly { readonly resource: string; readonly action: string; readonly diff: string; readonly step: string }[];
}

beforeAll(async () => {
  await sourceDatabase.create();
  fixture = new ConnectorFixture(id, { source: { url: sourceDatabase.url }, connector: { snapshotMode: 'initial' } });
  ordersSubject = valueSubject(fixture.topics.orders);
  await fixture.ensureSourceSchema();
  const seeded = await fixture.cli(['load', '--rate', '200', '--duration', '2s', '--customers', '200', '--json']);
  expect(seeded.exitCode, seeded.stderr).toBe(0);
  await fixture.createTopics();
  const ingestion = await fixture.cli(['phase', 'run', 'ingestion', '--json'], 300_000);
  expect(ingestion.exitCode, ingestion.stderr + ingestion.stdout).toBe(0);
  fixture.startProcessor('w1');
}, 600_000);

afterAll(async () => {
  await fixture?.cleanup();
  await sourceDatabase.drop().catch(() => undefined);
}, 120_000);

async function planIngestion(): Promise<Plan> {
  const run = await fixture.cli(['phase', 'plan', 'ingestion', '--json']);
  expect(run.exitCode, run.stderr).toBe(0);
  return jsonOf<Plan>(run);
}

/** The plan's entry for the orders topic's schema, printed so the run log shows what a user sees. */
async function ordersDrift(label: string): Promise<Plan['changes'][number] | undefined> {
  const plan = await planIngestion();
  const change = plan.changes.find((c) => c.resource === `schema ${ordersSubject}`);
  console.log(`phase plan ingestion, ${label}:\n${change ? `${change.action} ${change.resource}\n${change.diff}` : '(no change)'}`);
  return change;
}

/** Runs `load` and, 2 s in, one DDL statement on the source while it runs. */
async function alterUnderLoad(ddl: string): Promise<void> {
  const load = fixture.cli(['load', '--rate', '200', '--duration', '8s', '--json'], 120_000);
  await new Promise((r) => setTimeout(r, 2_000));
  await fixture.source((sql) => sql(ddl));
  const run = await load;
  expect(run.exitCode, run.stderr).toBe(0);
}

/** The first difference between the processed-orders topic and the source's live orders, or undefined. */
async function difference(): Promise<string | undefined> {
  const expected = (await fixture.source((sql) => sql(`SELECT id::text || '/' || customer_id || ' ' || amount::numeric(20,2)::text AS line FROM public.orders WHERE status <> 'CANCELLED'`))).map((r) => String(r.line));
  const latest = new Map<string, string>();
  for (const r of await fixture.all(fixture.topics.processedOrders)) {
    const key = r.key?.toString('utf8') ?? '';
    if (r.value === null) latest.delete(key);
    else latest.set(key, r.value.toString('utf8'));
  }
  const actual = new Set([...latest.values()].map((v) => JSON.parse(v) as Record<string, string | number>).map((v) => `${v.order_id}/${v.customer_id} ${v.amount}`));
  const missing = expected.filter((l) => !actual.has(l));
  const wanted = new Set(expected);
  const extra = [...actual].filter((l) => !wanted.has(l));
  return missing.length + extra.length === 0 ? undefined : `${missing.length} missing (e.g. ${missing.slice(0, 3).join('; ')}), ${extra.length} unexpected (e.g. ${extra.slice(0, 3).join('; ')})`;
}

async function converge(): Promise<string | undefined> {
  let last: string | undefined = 'not compared yet';
  await waitFor('processed orders to equal the source', async () => ((last = await difference()) === undefined ? true : undefined), 120_000).catch(() => undefined);
  return last;
}

describe('source schema drift while load runs', () => {
  it('the first ingestion run registered the captured tables', async () => {
    const latest = await registry.latest(ordersSubject);
    expect(latest?.version).toBeGreaterThanOrEqual(1);
    expect(await registry.compatibility(ordersSubject)).toBe('BACKWARD');
    expect(await ordersDrift('no change')).toBeUndefined();
  });

  it('ADD COLUMN: the pipeline goes on with nothing lost, the plan shows it compatible, the run registers it', async () => {
    const before = await registry.versions(ordersSubject);
    await alterUnderLoad('ALTER TABLE public.orders ADD COLUMN coupon text');
    // An order written with the new column set goes through like any other.
    await fixture.source((sql) => sql(`UPDATE public.orders SET coupon = 'WELCOME' WHERE id = (SELECT max(id) FROM public.orders)`));
    const change = await ordersDrift('ADD COLUMN coupon text');
    expect(change?.action).toBe('update');
    expect(change?.diff).toContain('~ compatible: public.orders: column coupon text added');
    expect(change?.diff).not.toContain('BREAKING');
    const run = await fixture.cli(['phase', 'run', 'ingestion', '--json'], 300_000);
    expect(run.exitCode, run.stderr + run.stdout).toBe(0);
    expect((await registry.versions(ordersSubject)).length).toBe(before.length + 1);
    expect(JSON.parse((await registry.latest(ordersSubject))?.schema ?? '{}').properties.coupon).toMatchObject({ type: ['string', 'null'] });
    const diff = await converge();
    console.log(`schema drift, ADD COLUMN under load: processed orders vs source: ${diff ?? 'equal (lost 0)'}`);
    expect(diff).toBeUndefined();
    expect((await fixture.all(fixture.topics.deadLetter)).length).toBe(0);
    // Idempotent: a second run registers nothing.
    const again = await fixture.cli(['phase', 'run', 'ingestion', '--json'], 300_000);
    expect(again.exitCode, again.stderr).toBe(0);
    expect((await registry.versions(ordersSubject)).length).toBe(before.length + 1);
  }, 400_000);

  it('numeric widening of amount: compatible, registered, outputs still equal the source', async () => {
    await alterUnderLoad('ALTER TABLE public.orders ALTER COLUMN amount TYPE numeric(14,2)');
    const change = await ordersDrift('amount numeric(12,2) → numeric(14,2)');
    expect(change?.diff).toContain('~ compatible: public.orders: column amount numeric(12,2) → numeric(14,2) (widened)');
    const run = await fixture.cli(['phase', 'run', 'ingestion', '--json'], 300_000);
    expect(run.exitCode, run.stderr + run.stdout).toBe(0);
    expect(await ordersDrift('after the run')).toBeUndefined();
    const diff = await converge();
    console.log(`schema drift, numeric widening under load: processed orders vs source: ${diff ?? 'equal (lost 0)'}`);
    expect(diff).toBeUndefined();
    expect((await fixture.all(fixture.topics.deadLetter)).length).toBe(0);
  }, 400_000);

  it('DROP COLUMN amount: the plan says what breaks, the run refuses it before the stream fails', async () => {
    const before = await registry.versions(ordersSubject);
    await fixture.source((sql) => sql('ALTER TABLE public.orders DROP COLUMN amount'));
    const change = await ordersDrift('DROP COLUMN amount');
    expect(change?.diff).toContain('! BREAKING: public.orders: column amount numeric(14,2) dropped');
    expect(change?.diff).toMatch(/processor\s+breaking\s+the processor decodes public\.orders\.amount/);
    expect(change?.diff).toMatch(/batch\s+breaking/);
    expect(change?.diff).toMatch(/sinks\s+breaking/);
    expect(change?.diff).toMatch(/validation\s+breaking/);
    const run = await fixture.cli(['phase', 'run', 'ingestion'], 300_000);
    console.log(`phase run ingestion after DROP COLUMN amount (exit ${run.exitCode}):\n${run.stdout}\n${run.stderr}`);
    expect(run.exitCode).toBe(1);
    expect(run.stdout + run.stderr).toMatch(/source schema drift would break the pipeline, nothing registered: public\.orders: column amount numeric\(14,2\) dropped: breaks processor, batch, sinks, validation/);
    expect(run.stdout + run.stderr).toContain('--accept-breaking');
    expect(await registry.versions(ordersSubject)).toEqual(before);
    // Refused while no change without amount has reached the stream: nothing dead-lettered yet.
    expect((await fixture.all(fixture.topics.deadLetter)).length).toBe(0);
  }, 300_000);
});
