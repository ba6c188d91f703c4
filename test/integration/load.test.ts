import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { withPostgres } from '../../src/clients/postgres.ts';
import { BIN, jsonOf, runCli } from './cli.ts';
import { TEST_HOME, testConfig, writeTestConfig } from './test-env.ts';

interface LoadJson {
  requestedRate: number;
  durationSeconds: number;
  orders: { inserted: number; updated: number; cancelled: number; deleted: number; moved: number };
  tierChanges: number;
  achievedOrdersPerSecond: number;
  changesPerSecond: number;
  window: { from: string; to: string } | null;
  interrupted: boolean;
  seed: number;
}

const { config } = testConfig();

// Other tests and people write orders to the same source database at the same time, so every
// assertion is about rows inside this run's window, and counts are lower bounds.
describe('stream-migrate load', () => {
  it('runs the workload at the asked rate and the source tables show it', async () => {
    const run = await runCli(['load', '--rate', '500', '--duration', '3s', '--seed', '7', '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    const report = jsonOf<LoadJson>(run);
    expect(report.requestedRate).toBe(500);
    expect(report.seed).toBe(7);
    expect(report.interrupted).toBe(false);
    expect(report.durationSeconds).toBeGreaterThanOrEqual(3);
    expect(report.durationSeconds).toBeLessThan(4);
    expect(report.orders.inserted).toBeGreaterThanOrEqual(1_400);
    expect(report.orders.inserted).toBeLessThanOrEqual(1_525);
    expect(report.achievedOrdersPerSecond).toBeGreaterThan(450);
    expect(report.achievedOrdersPerSecond).toBeLessThan(510);
    expect(report.orders.updated).toBeGreaterThan(0);
    expect(report.orders.cancelled).toBeGreaterThan(0);
    expect(report.orders.deleted).toBeGreaterThan(0);
    expect(report.tierChanges).toBeGreaterThan(0);
    // About 1 % of changes move an order to another customer (another partition).
    expect(report.orders.moved).toBeGreaterThan(0);
    const changes = report.orders.inserted + report.orders.updated + report.orders.cancelled + report.orders.deleted + report.orders.moved + report.tierChanges;
    expect(report.changesPerSecond).toBeCloseTo(changes / report.durationSeconds, 0);
    // The mix: about 84 % of all changes are new orders.
    expect(report.orders.inserted / changes).toBeGreaterThan(0.8);
    expect(report.orders.inserted / changes).toBeLessThan(0.9);

    expect(report.window).not.toBeNull();
    const from = new Date(report.window!.from);
    const to = new Date(report.window!.to);
    expect(report.window!.from).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(to.getTime() - from.getTime()).toBeGreaterThan(2_500);
    expect(to.getTime() - from.getTime()).toBeLessThan(3_500);

    const counts = await withPostgres(config.source, 'source', async (client) => {
      const { rows } = await client.query<Record<string, string>>(
        `SELECT count(*) AS orders,
                count(*) FILTER (WHERE status = 'CANCELLED') AS cancelled,
                count(*) FILTER (WHERE status IN ('PAID', 'SHIPPED')) AS progressed,
                count(*) FILTER (WHERE updated_at > created_at) AS changed,
                count(*) FILTER (WHERE amount <> round(amount, 2)) AS inexact,
                (SELECT count(*) FROM public.customers WHERE updated_at BETWEEN $1 AND $2) AS customers_changed
           FROM public.orders WHERE created_at BETWEEN $1 AND $2`,
        [from, to],
      );
      return Object.fromEntries(Object.entries(rows[0]!).map(([k, v]) => [k, Number(v)]));
    });
    expect(counts.orders).toBeGreaterThanOrEqual(report.orders.inserted - report.orders.deleted);
    expect(counts.cancelled).toBeGreaterThanOrEqual(report.orders.cancelled);
    expect(counts.progressed).toBeGreaterThan(0);
    expect(counts.changed).toBeGreaterThanOrEqual(report.orders.cancelled);
    expect(counts.inexact).toBe(0);
    expect(counts.customers_changed).toBeGreaterThan(0);
  });

  it('stops on Ctrl-C and still reports what it did', async () => {
    const child = execa(BIN, ['load', '--rate', '200', '--duration', '60s', '--json'], { cwd: TEST_HOME, reject: false });
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    child.kill('SIGINT');
    const result = await child;
    expect(result.exitCode, String(result.stderr)).toBe(0);
    const report = JSON.parse(String(result.stdout)) as LoadJson;
    expect(report.interrupted).toBe(true);
    expect(report.durationSeconds).toBeLessThan(10);
    expect(report.orders.inserted).toBeGreaterThan(0);
    expect(report.window).not.toBeNull();
  });

  it('refuses bad flags with a one-line usage error (exit 2)', async () => {
    for (const args of [
      ['--rate', '0', '--duration', '3s'],
      ['--rate', 'fast', '--duration', '3s'],
      ['--rate', '100', '--duration', 'soon'],
      ['--rate', '100', '--duration', '3s', '--customers', '-5'],
    ]) {
      const run = await runCli(['load', ...args]);
      expect(run.exitCode, args.join(' ')).toBe(2);
      expect(run.stderr.trim().split('\n'), run.stderr).toHaveLength(1);
      expect(run.stderr).toMatch(/^error: --(rate|duration|customers) /);
    }
  });

  it('says which database is unreachable (exit 3)', async () => {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-load-'));
    writeTestConfig(cwd, 'source:\n  url: postgresql://postgres@127.0.0.1:1/source\n');
    const refused = await runCli(['load', '--rate', '100', '--duration', '2s'], { cwd });
    expect(refused.exitCode, refused.stderr).toBe(2);
    expect(refused.stderr).toContain('source is not the local stack');
    const run = await runCli(['load', '--rate', '100', '--duration', '2s', '--allow-remote'], { cwd });
    expect(run.exitCode, run.stderr).toBe(3);
    expect(run.stderr).toMatch(/source PostgreSQL at 127\.0\.0\.1:1\/source is unreachable/);
  });
});
