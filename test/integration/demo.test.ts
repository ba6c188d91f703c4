import { describe, expect, it } from 'vitest';
import { jsonOf, runCli } from './cli.ts';
import { testConfig } from './test-env.ts';

/**
 * The README's first command, end to end on the test stack (run in TEST_HOME, so the user's own
 * migration state is untouched): phases, workload, batch,
 * three PASS reports, the gate and the cutover; then the batch job's crontab line is a no-op
 * until rollback brings it back, and the audit log holds each decision.
 */
describe('stream-migrate demo', () => {
  it('migrates end to end, cuts over, and rollback restores the batch job', async () => {
    const demo = await runCli(['demo', '--rate', '200', '--duration', '20s', '--json'], { timeoutMs: 15 * 60_000 });
    expect(demo.exitCode, demo.stderr.split('\n').slice(-15).join('\n')).toBe(0);
    const summary = jsonOf<{ steps: { step: string }[]; dashboardUrl: string | null; cutover: { allowed: boolean }; latencyMs: { p50: number | null } | null; recovery: { secondsToFirstCommit: number } | null }>(demo);
    expect(summary.steps).toHaveLength(11);
    expect(summary.cutover.allowed).toBe(true);
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
