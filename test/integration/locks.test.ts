import net from 'node:net';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withPostgres } from '../../src/clients/postgres.ts';
import { BIN, jsonOf } from './cli.ts';
import { runId, waitFor } from './connector-fixture.ts';
import { ownDatabase } from './own-database.ts';
import { testConfig, testWorkdir } from './test-env.ts';

/**
 * Two real processes contend for one lock: the first holds it (kept busy by a Kafka Connect that
 * accepts connections and never answers, so the overlap is certain, not a race), the second is
 * refused with the holder named. The state lives in a warehouse database of this test alone, so
 * its cutover decisions and phase runs touch no other test's migration.
 */
const id = runId();
const database = ownDatabase(testConfig().config.warehouse, `it_locks_${id}`);
let staller: net.Server;
const held: net.Socket[] = [];
let dir = '';

async function advisoryLocksHeld(): Promise<number> {
  const warehouse = { url: database.url };
  return withPostgres(warehouse, 'warehouse', async (client) => {
    const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = $1)`, [database.name]);
    return Number(rows[0]?.n ?? 0);
  });
}

beforeAll(async () => {
  staller = net.createServer((socket) => {
    socket.on('error', () => undefined);
    held.push(socket);
  });
  await new Promise<void>((resolve) => staller.listen(0, '127.0.0.1', resolve));
  const port = (staller.address() as net.AddressInfo).port;
  await database.create();
  dir = testWorkdir('locks', {
    warehouse: { url: database.url },
    connect: { url: `http://127.0.0.1:${port}`, timeout: '3s' },
    connector: { topicPrefix: `itlk${id}` },
    processor: { topicPrefix: `itlk${id}-`, groupId: `itlk${id}-processor` },
  });
});

afterAll(async () => {
  for (const socket of held) socket.destroy();
  await new Promise((resolve) => staller.close(resolve));
  await database.drop();
});

function start(args: readonly string[], actor: string) {
  return execa(BIN, [...args], { cwd: dir, reject: false, env: { ...process.env, STREAM_MIGRATE_ACTOR: actor }, timeout: 180_000 });
}

interface CutoverJson {
  readonly checks: readonly { readonly name: string; readonly passed: boolean; readonly detail: string }[];
}

describe('concurrent changes are serialised by advisory locks, the refused one names the holder', () => {
  it('cutover holds the lock: a rollback started meanwhile is refused naming the cutover and its actor', async () => {
    const cutover = start(['cutover', '--json'], 'alice@ops');
    await waitFor('the cutover to hold its lock', async () => ((await advisoryLocksHeld()) > 0 ? true : undefined), 60_000);
    const rollback = await start(['rollback', '--reason', 'lock test'], 'bob@ops');
    expect(rollback.exitCode).toBe(1);
    expect(String(rollback.stderr).trim()).toMatch(/^error: the cutover lock is held by stream-migrate cutover by alice@ops \(pid \d+, connected since [^)]+\); wait for it to finish and run rollback again$/);

    const done = await cutover;
    // It proceeded: the gate was evaluated (refused: no reports, Connect silent), and no other change was in progress.
    const result = jsonOf<CutoverJson>({ exitCode: done.exitCode ?? -1, stdout: String(done.stdout), stderr: String(done.stderr) });
    expect(result.checks.find((c) => c.name === 'no-concurrent-change')?.passed).toBe(true);
    expect(result.checks.find((c) => c.name === 'connector-running')?.passed).toBe(false);
  });

  it('two cutovers at once: the second sees the first in its gate, named', async () => {
    const first = start(['cutover', '--json'], 'alice@ops');
    await waitFor('the first cutover to hold its lock', async () => ((await advisoryLocksHeld()) > 0 ? true : undefined), 60_000);
    const second = await start(['cutover', '--dry-run', '--json'], 'carol@ops');
    const checks = jsonOf<CutoverJson>({ exitCode: second.exitCode ?? -1, stdout: String(second.stdout), stderr: String(second.stderr) }).checks;
    const concurrent = checks.find((c) => c.name === 'no-concurrent-change');
    expect(concurrent?.passed).toBe(false);
    expect(concurrent?.detail).toMatch(/^another cutover or rollback is in progress: stream-migrate cutover by alice@ops \(pid \d+/);
    expect(second.exitCode).toBe(1);
    await first;
  });

  it('two `phase run infrastructure` at once: one runs, the other is refused naming the run and its actor', async () => {
    const first = start(['phase', 'run', 'infrastructure', '--json'], 'alice@ops');
    await waitFor('the first phase run to hold its lock', async () => ((await advisoryLocksHeld()) > 0 ? true : undefined), 60_000);
    const second = await start(['phase', 'run', 'infrastructure', '--json'], 'dave@ops');
    expect(second.exitCode).toBe(1);
    expect(String(second.stderr).trim()).toMatch(
      /^error: phase infrastructure is already running \(started by alice@ops at \S+; lock held by stream-migrate phase run infrastructure by alice@ops \(pid \d+, connected since [^)]+\)\); wait for it to finish, then run it again$/,
    );
    const done = await first;
    // The first one ran its steps (it fails on the silent Connect, which is this test's way of keeping it busy).
    const run = jsonOf<{ status: string; steps: { name: string; status: string }[] }>({ exitCode: done.exitCode ?? -1, stdout: String(done.stdout), stderr: String(done.stderr) });
    expect(run.steps.find((s) => s.name === 'connect-cluster')?.status).toBe('failed');
    expect(done.exitCode).toBe(3);
  });
});
