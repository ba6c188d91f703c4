import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBatchOutputs } from '../../src/batch-legacy/load.ts';
import { createClickHouse, type ClickHouse } from '../../src/clients/clickhouse.ts';
import { connectPostgres } from '../../src/clients/postgres.ts';
import { migrateClickHouse } from '../../src/output/clickhouse-migrations.ts';
import { jsonOf, runCli, type CliRun } from './cli.ts';
import { ownDatabase } from './own-database.ts';
import { testConfig, testWorkdir } from './test-env.ts';

/**
 * The gate on real reports: every report here is made by `validate` through the CLI, over this
 * file's own warehouse database and ClickHouse database, with outputs written into both. The
 * pipeline (connector, slot, groups, workers) is deliberately absent, so those checks refuse and
 * say why; the evidence checks are what changes from step to step.
 */
const { config } = testConfig();
const id = `${process.pid}_${Date.now() % 1_000_000}`;
const database = ownDatabase(config.warehouse, `sm_it_cutover_${id}`);
const warehouseUrl = database.url;
const chDatabase = `it_cutover_${id}`;
const FIVE_MIN = 300_000;
/** Three consecutive summary windows ending about 40 minutes ago: recent, and long settled. */
const t0 = Math.floor((Date.now() - 55 * 60_000) / FIVE_MIN) * FIVE_MIN;
const windows = [0, 1, 2].map((i) => ({ from: new Date(t0 + i * FIVE_MIN).toISOString(), to: new Date(t0 + (i + 1) * FIVE_MIN).toISOString() }));
/** Three windows of 2020: data, but long ago in event time. */
const old = [0, 1, 2].map((i) => ({ from: new Date(Date.parse('2020-01-02T00:00:00Z') + i * FIVE_MIN).toISOString(), to: new Date(Date.parse('2020-01-02T00:00:00Z') + (i + 1) * FIVE_MIN).toISOString() }));
let cwd: string;
let warehouse: pg.Client;
let ch: ClickHouse;
let version = 1;

interface GateJson {
  allowed: boolean;
  executed: boolean;
  checks: { name: string; passed: boolean; detail: string }[];
}

const chTime = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');

/** One order (with its summary and a fraud alert) 90 s into the window starting at `startMs`, on both sides. */
async function addOrder(orderId: number, startMs: number): Promise<void> {
  const created = startMs + 90_000;
  const customer = 500 + orderId;
  await warehouse.query(`INSERT INTO public.processed_orders VALUES ($1, $2, 'NEW', 7, 'books', 1, 1500.00, 0.00, 0.00, 1500.00, 'PAID', to_timestamp($3::bigint / 1000.0), now())`, [orderId, customer, created]);
  await warehouse.query('INSERT INTO public.order_summaries VALUES ($1, to_timestamp($2::bigint / 1000), to_timestamp($2::bigint / 1000 + 300), 1, 1500.00, 1500.00)', [customer, startMs]);
  await warehouse.query(`INSERT INTO public.fraud_alerts VALUES ($1, $2, 1500.00, 'MEDIUM', 'new customer above 1000.00', to_timestamp($3::bigint / 1000.0), now(), '', '', 'epoch', 'epoch')`, [orderId, customer, created]);
  await ch.insert('processed_orders_versions', [
    { order_id: orderId, customer_id: customer, customer_tier: 'NEW', product_id: 7, product_category: 'books', quantity: 1, amount: 1500, discount: 0, tax: 0, final_amount: 1500, status: 'PAID', created_at: chTime(created), processed_at: chTime(created), channel: 'web', source_ts: chTime(created), ingested_at: chTime(created + 1000), version: version++, is_deleted: 0 },
  ]);
  await ch.insert('order_summaries_versions', [{ customer_id: customer, window_start: chTime(startMs), window_end: chTime(startMs + FIVE_MIN), order_count: 1, total_amount: 1500, total_final_amount: 1500, version: version++, is_deleted: 0 }]);
  await ch.insert('fraud_alerts_versions', [{ order_id: orderId, customer_id: customer, final_amount: 1500, severity: 'MEDIUM', reason: 'new customer above 1000.00', created_at: chTime(created), alerted_at: chTime(created), version: version++, is_deleted: 0 }]);
}

async function validate(window: { from: string; to: string }, ...extra: string[]): Promise<{ run: CliRun; report: { reportId: number; verdict: string } }> {
  const run = await runCli(['validate', '--from', window.from, '--to', window.to, '--out', path.join(cwd, 'reports'), '--json', ...extra], { cwd });
  return { run, report: jsonOf<{ reportId: number; verdict: string }>(run) };
}

async function gate(): Promise<{ run: CliRun; json: GateJson; check: (name: string) => { passed: boolean; detail: string } | undefined }> {
  const run = await runCli(['cutover', '--dry-run', '--json'], { cwd });
  const json = jsonOf<GateJson>(run);
  return { run, json, check: (name) => json.checks.find((c) => c.name === name) };
}

beforeAll(async () => {
  await database.create();
  cwd = testWorkdir('cutover', {
    warehouse: { url: warehouseUrl },
    clickhouse: { database: chDatabase },
    validation: { settle: '1m' },
    cutover: { minCoverage: '15m', maxReportAge: '2h' },
    // Nothing of the pipeline exists under these names: those checks refuse, each with its reason.
    connector: { name: `it-cutover-${id}`, slotName: `it_cutover_${id}` },
    processor: { groupId: `it-cutover-processor-${id}`, topicPrefix: `it-cutover-${id}-` },
    sink: { groupId: `it-cutover-sink-${id}` },
  });
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

describe('the cutover gate counts only reports that looked at data, made the configured way, over distinct recent windows', () => {
  it('three validations of a window without rows are NO_DATA, and the gate refuses on them', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) {
      const { run, report } = await validate({ from: '2020-01-01T00:00:00Z', to: '2020-01-04T00:00:00Z' });
      expect(run.exitCode, run.stderr).toBe(1);
      expect(report.verdict).toBe('NO_DATA');
      ids.push(report.reportId);
    }
    const { run, json, check } = await gate();
    expect(run.exitCode).toBe(1);
    expect(json).toMatchObject({ allowed: false, executed: false });
    expect(check('validation-streak')).toEqual({
      name: 'validation-streak',
      passed: false,
      detail: `0 counting PASS report(s) over distinct windows, 3 required; not counting: ${[...ids].reverse().map((n) => `#${n} NO_DATA: no rows to compare`).join('; ')}`,
    });
    expect(check('validation-coverage')).toMatchObject({ passed: false, detail: 'the streak covers 0ms of event time, 15m00s required' });
    expect(check('validation-freshness')).toMatchObject({ passed: false, detail: 'no counting PASS report yet: run `stream-migrate validate`' });
  });

  it('re-running one window three times is one report in the streak, not three', async () => {
    for (const [i, w] of windows.entries()) await addOrder(1000 + i, Date.parse(w.from));
    for (const [i, w] of old.entries()) await addOrder(2000 + i, Date.parse(w.from));
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) {
      const { run, report } = await validate(windows[0]!);
      expect(run.exitCode, run.stderr).toBe(0);
      expect(report.verdict).toBe('PASS');
      ids.push(report.reportId);
    }
    const { check } = await gate();
    expect(check('validation-streak')?.passed).toBe(false);
    expect(check('validation-streak')?.detail).toMatch(new RegExp(`^1 counting PASS report\\(s\\) over distinct windows, 3 required; not counting: #${ids[1]} same window as #${ids[2]}, which replaces it; #${ids[0]} same window as #${ids[2]}, which replaces it`));
    expect(check('validation-coverage')?.detail).toBe('the streak covers 5m00s of event time, 15m00s required');
  });

  it('reports made with another settle, a subset of tables or another schema do not count, each with its reason', async () => {
    const settle = await validate(windows[1]!, '--settle', '0s');
    const subset = await validate(windows[1]!, '--tables', 'processed_orders');
    expect([settle.report.verdict, subset.report.verdict]).toEqual(['PASS', 'PASS']);
    const { check } = await gate();
    const detail = check('validation-streak')?.detail ?? '';
    expect(detail).toMatch(/^1 counting PASS report/);
    expect(detail).toContain(`#${subset.report.reportId} leaves out order_summaries, fraud_alerts`);
    expect(detail).toContain(`#${settle.report.reportId} settle 0s, configured 1m00s`);
  });

  it('three distinct recent windows make the evidence checks pass; the missing pipeline is refused line by line', async () => {
    for (const w of windows.slice(1)) expect((await validate(w)).report.verdict).toBe('PASS');
    const { run, json, check } = await gate();
    expect(run.exitCode).toBe(1);
    expect(json.allowed).toBe(false);
    expect(check('validation-streak')).toMatchObject({ passed: true, detail: expect.stringMatching(/^last 3 counting reports PASS over distinct windows/) });
    expect(check('validation-coverage')).toMatchObject({ passed: true, detail: 'the streak covers 15m00s of event time, 15m00s required' });
    expect(check('validation-freshness')).toMatchObject({ passed: true, detail: expect.stringContaining(`the newest passing window ends at ${new Date(windows[2]!.to).toISOString()}`) });
    expect(check('replication-slot')).toEqual({ name: 'replication-slot', passed: false, detail: `replication slot it_cutover_${id} does not exist on the source: run \`stream-migrate phase run ingestion\`` });
    expect(check('processor-group')).toEqual({ name: 'processor-group', passed: false, detail: `consumer group it-cutover-processor-${id} does not exist: run \`stream-migrate phase run processing\`` });
    expect(check('sink-group')).toEqual({ name: 'sink-group', passed: false, detail: `consumer group it-cutover-sink-${id} does not exist: run \`stream-migrate phase run processing\`` });
    expect(check('local-workers')).toEqual({ name: 'local-workers', passed: false, detail: 'no supervised local workers: run `stream-migrate phase run processing`' });
    expect(check('connector-running')?.passed).toBe(false);

    const text = await runCli(['cutover', '--dry-run'], { cwd });
    expect(text.stdout).toMatch(/^\[x\] validation-streak {6}last 3 counting reports PASS/m);
    expect(text.stdout).toMatch(/^\[ \] replication-slot {7}replication slot it_cutover_\S+ does not exist on the source/m);
    expect(text.stdout.trim().split('\n').at(-1)).toBe('dry run: cutover would be REFUSED; nothing changed');
  });

  it('freshness is the event time a window ends at: fresh reports over old windows refuse', async () => {
    for (const w of old) expect((await validate(w)).report.verdict).toBe('PASS');
    const { check } = await gate();
    expect(check('validation-streak')?.passed).toBe(true);
    expect(check('validation-freshness')).toMatchObject({ passed: false, detail: expect.stringMatching(/^the newest passing window ends at 2020-01-02T00:15:00\.000Z, \d+h\d\dm of event time ago, at most 2h00m allowed$/) });
  });

  it('a FAIL replaces the PASS of its window and breaks the streak; cutover refuses and changes nothing', async () => {
    // The stream's newer version of one 2020 order has another final amount.
    await ch.insert('processed_orders_versions', [
      { order_id: 2002, customer_id: 2502, customer_tier: 'NEW', product_id: 7, product_category: 'books', quantity: 1, amount: 1500, discount: 0, tax: 0, final_amount: 1499.99, status: 'PAID', created_at: chTime(Date.parse(old[2]!.from) + 90_000), processed_at: chTime(Date.parse(old[2]!.from)), channel: 'web', source_ts: chTime(Date.parse(old[2]!.from)), ingested_at: chTime(Date.parse(old[2]!.from)), version: version++, is_deleted: 0 },
    ]);
    const failed = await validate(old[2]!);
    expect(failed.run.exitCode).toBe(1);
    expect(failed.report.verdict).toBe('FAIL');
    const { check } = await gate();
    expect(check('validation-streak')).toMatchObject({ passed: false, detail: expect.stringContaining(`report #${failed.report.reportId} (window ${old[2]!.from} .. ${old[2]!.to}) is FAIL`) });

    const real = await runCli(['cutover'], { cwd });
    expect(real.exitCode).toBe(1);
    expect(real.stdout).toContain('cutover REFUSED: nothing changed');
    const list = jsonOf<{ migration: string }>(await runCli(['phase', 'list', '--json'], { cwd }));
    expect(list.migration).toBe('dual-run');
    const scheduled = await runCli(['batch', 'run', '--scheduled', '--date', '2001-03-04', '--json'], { cwd });
    expect(scheduled.exitCode, scheduled.stderr).toBe(0);
    expect(jsonOf<{ skipped: boolean; status: string }>(scheduled)).toMatchObject({ skipped: false, status: 'succeeded' });
    const audit = jsonOf<{ entries: { command: string; outcome: string }[] }>(await runCli(['audit', '--json', '--command', 'cutover'], { cwd }));
    expect(audit.entries[0]?.outcome).toBe('refused');
    expect(audit.entries.slice(1).every((e) => e.outcome === 'dry-run')).toBe(true);
  });

  it('rollback needs a reason (exit 2); without a cutover it records the reason and changes nothing', async () => {
    expect((await runCli(['rollback'], { cwd })).exitCode).toBe(2);
    const run = await runCli(['rollback', '--reason', 'integration test', '--json'], { cwd });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(jsonOf<{ executed: boolean; state: string }>(run)).toMatchObject({ executed: false, state: 'dual-run' });
  });
});
