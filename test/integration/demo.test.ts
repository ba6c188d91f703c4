import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createClickHouse } from '../../src/clients/clickhouse.ts';
import { connectPostgres } from '../../src/clients/postgres.ts';
import { jsonOf, runCli } from './cli.ts';
import { testConfig } from './test-env.ts';

interface DemoJson {
  steps: { step: string }[];
  dashboardUrl: string | null;
  cutover: { allowed: boolean };
  latencyMs: { p50: number | null } | null;
  recovery: { secondsToFirstCommit: number } | null;
  batch: { window: { from: string; to: string } };
  channels: { channel: string; batchRows: number; streamRows: number; missingInStream: number; missingInBatch: number; mismatched: number }[];
  patterns: { pattern: string; batchRows: number; streamRows: number; missingInStream: number; missingInBatch: number; mismatched: number }[];
  sources: {
    partner: { changes: number; requests: number; serverErrors: number };
    store: { directory: string; files: string[]; correctingFile: string | null; correctedOrderId: number | null; cancelledOrderId: number | null };
  };
}

const STORE_BASE = 2_000_000_000_000;

/**
 * The README's first command, end to end on the test stack (run in TEST_HOME, so the user's own
 * migration state is untouched): phases, a workload on three channels (PostgreSQL, the demo's
 * partner API, store files), batch, three PASS reports, the gate and the cutover; then the batch
 * job's crontab line is a no-op until rollback brings it back, and the audit log holds each
 * decision. The channels are checked with SQL of their own against ClickHouse and the warehouse.
 */
describe('stream-migrate demo', () => {
  it('migrates end to end, cuts over, and rollback restores the batch job', async () => {
    const demo = await runCli(['demo', '--rate', '200', '--duration', '20s', '--json'], { timeoutMs: 15 * 60_000 });
    expect(demo.exitCode, demo.stderr.split('\n').slice(-15).join('\n')).toBe(0);
    const summary = jsonOf<DemoJson>(demo);
    expect(summary.steps).toHaveLength(11);
    expect(summary.cutover.allowed).toBe(true);
    // A restarted worker loads its code, joins the group and restores its state before it commits:
    // well over half a second here (a reading below that timed someone else's commit).
    expect(summary.recovery?.secondsToFirstCommit).toBeGreaterThan(0.5);
    await checkChannels(summary);
    // It ends with the live dashboard running on the configured port (the test stack's own).
    const { config } = testConfig();
    expect(summary.dashboardUrl).toBe(`http://127.0.0.1:${config.monitoring.dashboardPort}/`);
    const page = await fetch(summary.dashboardUrl!);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('stream-migrate');

    const list = jsonOf<{ phases: { name: string; status: string }[]; migration: string }>(await runCli(['phase', 'list', '--json']));
    expect(list.migration).toBe('cut-over');
    expect(list.phases.every((p) => p.status === 'succeeded')).toBe(true);

    const skipped = await runCli(['batch', 'run', '--scheduled', '--date', '2001-05-06', '--json']);
    expect(skipped.exitCode, skipped.stderr).toBe(0);
    expect(jsonOf<{ skipped: boolean; reason: string }>(skipped)).toMatchObject({ skipped: true, reason: expect.stringContaining('retired by cutover') });

    const rollback = await runCli(['rollback', '--reason', 'integration test', '--json']);
    expect(rollback.exitCode).toBe(0);
    const runs = await runCli(['batch', 'run', '--scheduled', '--date', '2001-05-06', '--json']);
    expect(jsonOf<{ skipped: boolean; status: string }>(runs)).toMatchObject({ skipped: false, status: 'succeeded' });

    const audit = jsonOf<{ entries: { command: string; outcome: string }[] }>(await runCli(['audit', '--json', '-n', '50']));
    const commands = audit.entries.map((e) => `${e.command}:${e.outcome}`);
    expect(commands).toContain('rollback:succeeded');
    expect(commands).toContain('cutover:succeeded');
    expect(commands).toContain('cutover:dry-run');
  }, 20 * 60_000);
});

/**
 * Each channel has rows in the batch window, as many in ClickHouse as in the warehouse (counted
 * here, by channel column, not taken from the demo's report), as the demo's per-channel figures
 * say; the store order the late file cancelled is gone on both sides and the one it corrected has
 * the quantity written in that file.
 */
async function checkChannels(summary: DemoJson): Promise<void> {
  const { config } = testConfig();
  const { from, to } = summary.batch.window;
  const chTime = (iso: string) => `toDateTime('${iso.slice(0, 19).replace('T', ' ')}', 'UTC')`;
  const ch = createClickHouse(config.clickhouse);
  const warehouse = await connectPostgres(config.warehouse, 'warehouse');
  try {
    const db = config.clickhouse.database;
    const streamRows = await ch.query<{ channel: string; n: string }>(`SELECT channel, count() AS n FROM ${db}.processed_orders WHERE created_at >= ${chTime(from)} AND created_at < ${chTime(to)} GROUP BY channel`);
    const batchRows = await warehouse.query<{ channel: string; n: string }>('SELECT channel, count(*) AS n FROM public.processed_orders WHERE created_at >= $1 AND created_at < $2 GROUP BY channel', [from, to]);
    const byChannel = (rows: { channel: string; n: string }[]) => Object.fromEntries(rows.map((r) => [r.channel, Number(r.n)]));
    const stream = byChannel(streamRows);
    const batch = byChannel(batchRows.rows);
    for (const channel of ['web', 'partner', 'store']) {
      expect(stream[channel], `${channel} rows in ClickHouse`).toBeGreaterThan(0);
      expect(stream[channel], `${channel}: ClickHouse vs warehouse`).toBe(batch[channel]);
      // The demo's widest report covers the batch window: the same counts, and no differences.
      expect(summary.channels.find((c) => c.channel === channel)).toEqual({ channel, source: expect.any(String), batchRows: batch[channel], streamRows: stream[channel], missingInStream: 0, missingInBatch: 0, mismatched: 0 });
    }
    // Fraud alerts per pattern, counted here on both sides: equal, and as the demo's figures say.
    const streamAlerts = await ch.query<{ pattern: string; n: string }>(`SELECT pattern, count() AS n FROM ${db}.fraud_alerts WHERE created_at >= ${chTime(from)} AND created_at < ${chTime(to)} GROUP BY pattern`);
    const batchAlerts = await warehouse.query<{ pattern: string; n: string }>('SELECT pattern, count(*) AS n FROM public.fraud_alerts WHERE created_at >= $1 AND created_at < $2 GROUP BY pattern', [from, to]);
    const byPattern = (rows: { pattern: string; n: string }[]) => Object.fromEntries(rows.map((r) => [r.pattern, Number(r.n)]));
    expect(byPattern(streamAlerts), 'fraud alerts per pattern: ClickHouse vs warehouse').toEqual(byPattern(batchAlerts.rows));
    expect(byPattern(batchAlerts.rows)['']).toBeGreaterThan(0);
    expect(Object.fromEntries(summary.patterns.map((p) => [p.pattern, p.batchRows]))).toEqual(byPattern(batchAlerts.rows));
    expect(summary.patterns.every((p) => p.batchRows === p.streamRows && p.missingInStream + p.missingInBatch + p.mismatched === 0)).toBe(true);
    const { partner, store } = summary.sources;
    expect(partner.changes).toBeGreaterThan(0);
    // Every 7th request to the partner API fails: the worker and the batch retried through them.
    expect(partner.serverErrors).toBeGreaterThan(0);
    expect(store.files.length).toBeGreaterThanOrEqual(3);
    expect(store.correctingFile).toBe(store.files.at(-1));
    const lateFile = fs.readFileSync(path.join(store.directory, 'done', store.correctingFile!), 'utf8');
    const quantityIn = (id: number) => {
      const line = lateFile.split('\n').find((l) => l.startsWith(`${id},`) || l.includes(`"order_id":${id},`))!;
      return line.startsWith('{') ? (JSON.parse(line) as { quantity: number }).quantity : Number(line.split(',')[3]);
    };
    const corrected = STORE_BASE + store.correctedOrderId!;
    const cancelled = STORE_BASE + store.cancelledOrderId!;
    const [streamCorrected] = await ch.query<{ quantity: number }>(`SELECT quantity FROM ${db}.processed_orders WHERE order_id = ${corrected}`);
    const batchCorrected = await warehouse.query<{ quantity: number }>('SELECT quantity FROM public.processed_orders WHERE order_id = $1', [corrected]);
    expect(Number(streamCorrected?.quantity)).toBe(quantityIn(store.correctedOrderId!));
    expect(batchCorrected.rows.map((r) => Number(r.quantity))).toEqual([quantityIn(store.correctedOrderId!)]);
    expect(await ch.query(`SELECT order_id FROM ${db}.processed_orders WHERE order_id = ${cancelled}`)).toEqual([]);
    expect((await warehouse.query('SELECT order_id FROM public.processed_orders WHERE order_id = $1', [cancelled])).rows).toEqual([]);
  } finally {
    await ch.close();
    await warehouse.end();
  }
}
