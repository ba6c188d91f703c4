import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withPostgres } from '../../src/clients/postgres.ts';
import { openStateStore } from '../../src/state/state-store.ts';
import { jsonOf, runCli } from './cli.ts';
import { testConfig, writeTestConfig } from './test-env.ts';

const { config } = testConfig();
const admin = { url: config.warehouse.url.replace(/\/warehouse$/, '/postgres') };
const database = `sm_it_cutover_${process.pid}_${Date.now() % 1_000_000}`;
const warehouseUrl = config.warehouse.url.replace(/\/warehouse$/, `/${database}`);
let cwd: string;

interface GateJson {
  allowed: boolean;
  executed: boolean;
  checks: { name: string; passed: boolean; detail: string }[];
}

beforeAll(async () => {
  await withPostgres(admin, 'admin', (c) => c.query(`CREATE DATABASE ${database}`));
  cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-cutover-'));
  writeTestConfig(cwd, { warehouse: { url: warehouseUrl } });
});

afterAll(async () => {
  await withPostgres(admin, 'admin', (c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
});

describe('cutover gate with a FAIL report', () => {
  it('refuses (exit 1, nothing changed), and the scheduled batch still runs', async () => {
    const store = await openStateStore({ url: warehouseUrl });
    try {
      for (const verdict of ['PASS', 'PASS', 'FAIL']) {
        await store.pool.query(
          "INSERT INTO stream_migrate.validation_reports (window_from, window_to, verdict, report, elapsed_ms, actor) VALUES (now() - interval '25 hours', now() - interval '1 hour', $1, '{}', 10, 'it')",
          [verdict],
        );
      }
    } finally {
      await store.close();
    }
    const dry = await runCli(['cutover', '--dry-run', '--json'], { cwd });
    expect(dry.exitCode).toBe(1);
    const gate = jsonOf<GateJson>(dry);
    expect(gate.allowed).toBe(false);
    expect(gate.executed).toBe(false);
    expect(gate.checks.find((c) => c.name === 'validation-streak')).toMatchObject({ passed: false, detail: expect.stringMatching(/report #\d+ .* is FAIL/) });

    const real = await runCli(['cutover'], { cwd });
    expect(real.exitCode).toBe(1);
    expect(real.stdout).toContain('cutover REFUSED: nothing changed');
    const list = jsonOf<{ migration: string }>(await runCli(['phase', 'list', '--json'], { cwd }));
    expect(list.migration).toBe('dual-run');

    const scheduled = await runCli(['batch', 'run', '--scheduled', '--date', '2001-03-04', '--json'], { cwd });
    expect(scheduled.exitCode, scheduled.stderr).toBe(0);
    expect(jsonOf<{ skipped: boolean; status: string }>(scheduled)).toMatchObject({ skipped: false, status: 'succeeded' });

    const audit = jsonOf<{ entries: { command: string; outcome: string }[] }>(await runCli(['audit', '--json', '--command', 'cutover'], { cwd }));
    expect(audit.entries.map((e) => e.outcome)).toEqual(['refused', 'dry-run']);
  });

  it('rollback needs a reason (exit 2)', async () => {
    const run = await runCli(['rollback'], { cwd });
    expect(run.exitCode).toBe(2);
  });
});
