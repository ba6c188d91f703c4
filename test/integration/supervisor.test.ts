import fs from 'node:fs';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { stackPaths } from '../../src/local-stack/paths.ts';
import type { StackPaths } from '../../src/local-stack/paths.ts';
import { readEffective, stopWorkers, supervisorPid, workerStatus } from '../../src/local-stack/workers.ts';
import { jsonOf, runCli } from './cli.ts';
import { waitFor } from './connector-fixture.ts';
import { StreamFixture } from './stream-fixture.ts';

/**
 * The local worker supervisor that `phase run processing` starts, with real processes: N workers
 * get ports that never collide; a SIGKILLed supervisor is replaced on its own by exactly one new
 * supervisor whose workers run once each (no orphans, no doubles) and keep the output flowing;
 * an intentional stop (`dev down`, `workers stop`) is never undone; a worker that can never start
 * is reported, not retried forever.
 */
let fixture: StreamFixture | undefined;
afterEach(async () => {
  if (fixture) {
    const { config } = loadConfig({ cwd: fixture.cwd });
    await stopWorkers(stackPaths(config, fixture.cwd));
    await fixture.cleanup();
  }
  fixture = undefined;
}, 120_000);

async function newFixture(processor: Readonly<Record<string, unknown>> = {}): Promise<{ f: StreamFixture; processorPort: number; sinkPort: number; supervisorPort: number }> {
  const id = `its${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
  // Ports of this test only, so a stray worker of another run cannot be mistaken for ours; below
  // Linux's ephemeral range (32768..), where workers started with --metrics-port 0 land.
  const processorPort = 21_000 + Math.floor(Math.random() * 8_000);
  const sinkPort = processorPort + 100;
  const supervisorPort = processorPort + 101;
  fixture = new StreamFixture(id, 3, {
    sink: { groupId: `${id}-sink` },
    clickhouse: { database: id.replace(/-/g, '_') },
    monitoring: { processorMetricsPort: processorPort, sinkMetricsPort: sinkPort, supervisorMetricsPort: supervisorPort },
    processor,
  });
  await fixture.createTopics();
  for (let c = 1; c <= 20; c++) await fixture.upsertCustomer(c, c % 2 === 0 ? 'GOLD' : 'NEW');
  for (let p = 1; p <= 8; p++) await fixture.upsertProduct(p, p % 2 === 0 ? 'books' : 'electronics');
  return { f: fixture, processorPort, sinkPort, supervisorPort };
}

interface WorkersJson {
  workers: { name: string; pid: number | null; failed?: string }[];
  supervisor: { state: string; pid: number | null; stop?: { by: string }; restarts: { previousPid: number; pid: number; by: string }[]; restartsTotal: number };
}

/**
 * Processes of this working directory whose command line contains `marker` (`workers supervise`,
 * `processor run --instance w1`). A child forked by one of them and not yet exec'd carries its
 * parent's command line for that moment; it is the start of another program, not a second one.
 */
function processesOf(cwd: string, marker: string): number[] {
  const found = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
      if (!cmdline.includes(marker) || fs.readlinkSync(`/proc/${entry}/cwd`) !== cwd) continue;
      const stat = /^\d+ \([^)]*\) (\S) (\d+)/.exec(fs.readFileSync(`/proc/${entry}/stat`, 'utf8'));
      if (stat && stat[1] !== 'Z') found.set(Number(entry), Number(stat[2]));
    } catch {
      // The process ended while we looked.
    }
  }
  return [...found].filter(([, parent]) => !found.has(parent)).map(([pid]) => pid);
}

function isZombie(pid: number): boolean {
  return /^\d+ \([^)]*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return !isZombie(pid);
  } catch {
    return false;
  }
};

const MARKERS = ['workers supervise', 'processor run --instance w1', 'processor run --instance w2', 'sink run --instance s1'] as const;

/**
 * Counts this directory's supervisors and workers every 100 ms until stopped, keeping the most
 * seen at once: a second supervisor or a doubled worker, even for a moment, shows here.
 */
function sampleProcesses(cwd: string): { stop(): Promise<Record<string, number>> } {
  const most: Record<string, number> = Object.fromEntries(MARKERS.map((m) => [m, 0]));
  let running = true;
  const loop = (async () => {
    while (running) {
      for (const marker of MARKERS) most[marker] = Math.max(most[marker]!, processesOf(cwd, marker).length);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return most;
    },
  };
}

/** Waits until `holds()` is true, looking every 250 ms. */
const until = (what: string, holds: () => boolean, timeoutMs = 30_000) => waitFor(what, async () => holds() || undefined, timeoutMs, 250);

const T0 = Date.UTC(2026, 10, 25, 10, 0, 0);
const ordersFrom = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => from + i).map((id) => ({ id, customerId: 1 + (id % 20), productId: 1 + (id % 8), quantity: 1 + (id % 3), amountCents: 1_000 + (id % 997), status: 'PLACED' as const, createdAt: T0 + id * 1_000 }));

async function metricsAnswer(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2_000) })).ok;
  } catch {
    return false;
  }
}

/** After a SIGKILL of `killed`: a new supervisor whose three workers are new, live processes answering on their ports. */
async function recovered(paths: StackPaths, killed: number, oldWorkers: readonly number[], ports: readonly number[]): Promise<number | undefined> {
  const supervisor = supervisorPid(paths);
  if (supervisor === undefined || supervisor === killed) return undefined;
  const workers = workerStatus(paths);
  if (workers.length !== 3 || workers.some((w) => w.pid === null || oldWorkers.includes(w.pid) || !alive(w.pid))) return undefined;
  for (const port of ports) if (!(await metricsAnswer(port))) return undefined;
  return supervisor;
}

/** `phase run processing --workers 2` in `cwd`, which must succeed. */
async function startWorkers(cwd: string): Promise<void> {
  const run = await runCli(['phase', 'run', 'processing', '--workers', '2'], { cwd, timeoutMs: 180_000 });
  expect(run.exitCode, run.stderr + run.stdout).toBe(0);
}

const pidsOf = (paths: StackPaths) => workerStatus(paths).flatMap((w) => (w.pid === null ? [] : [w.pid]));

describe('local worker supervisor', () => {
  it('runs two processors and a sink on ports that do not collide; a SIGKILLed supervisor is replaced on its own by exactly one supervisor running each worker once, and output keeps flowing', async () => {
    const { f, processorPort, sinkPort } = await newFixture();
    const run = await runCli(['phase', 'run', 'processing', '--workers', '2', '--json'], { cwd: f.cwd, timeoutMs: 180_000 });
    expect(run.exitCode, run.stderr + run.stdout).toBe(0);
    const status = jsonOf<WorkersJson>(await runCli(['workers', 'status', '--json'], { cwd: f.cwd }));
    expect(status.workers.map((w) => [w.name, w.pid !== null])).toEqual([['processor-w1', true], ['processor-w2', true], ['sink-s1', true]]);
    const ports = [processorPort, processorPort + 1, sinkPort];
    for (const port of ports) expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(200);
    await f.upsertOrders(ordersFrom(1, 300));
    expect(await f.converge(120_000)).toBeUndefined();

    const { config } = loadConfig({ cwd: f.cwd });
    const paths = stackPaths(config, f.cwd);
    const killed = supervisorPid(paths)!;
    expect(killed).toBeDefined();
    const oldWorkers = pidsOf(paths);
    expect(oldWorkers).toHaveLength(3);
    const sampler = sampleProcesses(f.cwd);
    const t0 = Date.now();
    process.kill(killed, 'SIGKILL');
    // Orders written while the pipeline recovers, and after.
    await f.upsertOrders(ordersFrom(301, 200));
    const supervisor = await waitFor('a new supervisor running two new processors and a new sink, each answering on its port', () => recovered(paths, killed, oldWorkers, ports), 60_000, 250);
    const recoveredSeconds = (Date.now() - t0) / 1000;
    await f.upsertOrders(ordersFrom(501, 200));
    expect(await f.converge(120_000)).toBeUndefined();
    // A late second start would show in these seconds too.
    await new Promise((r) => setTimeout(r, 5_000));
    const most = await sampler.stop();
    console.log(`supervisor SIGKILL: pid ${killed} replaced by pid ${supervisor}, workers running again in ${recoveredSeconds.toFixed(1)} s; most processes at once: ${JSON.stringify(most)}`);
    expect(recoveredSeconds).toBeLessThan(60);
    // Never two supervisors, never a worker twice, not even for the 100 ms of a sample.
    expect(most).toEqual(Object.fromEntries(MARKERS.map((m) => [m, 1])));
    expect(oldWorkers.filter(alive)).toEqual([]);
    expect(alive(killed)).toBe(false);
    expect(processesOf(f.cwd, 'workers supervise')).toEqual([supervisor]);
    const now = workerStatus(paths);
    for (const w of now) expect(processesOf(f.cwd, w.name === 'sink-s1' ? 'sink run --instance s1' : `processor run --instance ${w.name.slice('processor-'.length)}`), w.name).toEqual([w.pid]);

    // Visible in workers status, and audited.
    const after = await runCli(['workers', 'status', '--json'], { cwd: f.cwd });
    expect(after.exitCode, after.stderr).toBe(0);
    const afterJson = jsonOf<WorkersJson>(after);
    expect(afterJson.supervisor).toMatchObject({ state: 'running', pid: supervisor, restartsTotal: 1 });
    expect(afterJson.supervisor.restarts[0]).toMatchObject({ previousPid: killed, pid: supervisor });
    expect(afterJson.supervisor.restarts[0]!.by).toMatch(/^(processor-w1|processor-w2|sink-s1)$/);
    const text = await runCli(['workers', 'status'], { cwd: f.cwd });
    expect(text.stdout).toContain(`restarted on its own 1 time(s)`);
    expect(text.stdout).toContain(`pid ${killed} was gone`);
    const audit = jsonOf<{ entries: { command: string; detail: { previousPid: number; pid: number } }[] }>(await runCli(['audit', '--json', '-n', '20', '--command', 'workers supervisor-restart'], { cwd: f.cwd }));
    expect(audit.entries.some((e) => e.detail.previousPid === killed && e.detail.pid === supervisor)).toBe(true);
  }, 300_000);

  it('an intentional stop after a supervisor SIGKILL stays stopped: `dev down` racing the recovery, `workers stop` after it, `dev down --purge` racing it', async () => {
    const { f, processorPort, sinkPort } = await newFixture();
    const { config } = loadConfig({ cwd: f.cwd });
    const paths = stackPaths(config, f.cwd);
    const nothingRuns = () => MARKERS.every((m) => processesOf(f.cwd, m).length === 0);

    // 1. `dev down` right after the kill, while the workers are noticing. (This directory's stack
    // has no services of its own: `dev down` here stops only its workers.)
    await startWorkers(f.cwd);
    process.kill(supervisorPid(paths)!, 'SIGKILL');
    const down = await runCli(['dev', 'down'], { cwd: f.cwd, timeoutMs: 180_000 });
    expect(down.exitCode, down.stderr).toBe(0);
    await until('every worker and supervisor of this directory to be gone', nothingRuns, 60_000);
    // Long enough for any worker's restart to have shown.
    await new Promise((r) => setTimeout(r, 8_000));
    expect(MARKERS.map((m) => processesOf(f.cwd, m).length)).toEqual([0, 0, 0, 0]);
    let status = jsonOf<WorkersJson>(await runCli(['workers', 'status', '--json'], { cwd: f.cwd }));
    expect(status.supervisor).toMatchObject({ state: 'stopped', pid: null, stop: { by: '`dev down`' } });
    expect(status.workers.every((w) => w.pid === null)).toBe(true);
    // A worker may have started the next supervisor before `dev down` recorded its stop (that is the
    // race): then one restart is on record, and that supervisor was stopped with the rest.
    const restartsBefore = status.supervisor.restartsTotal;
    expect(restartsBefore).toBeLessThanOrEqual(1);

    // 2. A human start ends the stop; after another kill the pipeline recovers, then `workers stop` holds.
    await startWorkers(f.cwd);
    const killed = supervisorPid(paths)!;
    const oldWorkers = pidsOf(paths);
    process.kill(killed, 'SIGKILL');
    await waitFor('the supervisor to recover on its own', () => recovered(paths, killed, oldWorkers, [processorPort, processorPort + 1, sinkPort]), 60_000, 250);
    const stop = await runCli(['workers', 'stop'], { cwd: f.cwd, timeoutMs: 180_000 });
    expect(stop.exitCode, stop.stderr).toBe(0);
    expect(stop.stdout).toContain('workers stopped');
    expect(nothingRuns()).toBe(true);
    await new Promise((r) => setTimeout(r, 8_000));
    expect(MARKERS.map((m) => processesOf(f.cwd, m).length)).toEqual([0, 0, 0, 0]);
    const text = await runCli(['workers', 'status'], { cwd: f.cwd });
    expect(text.exitCode).toBe(1);
    expect(text.stdout).toContain('stopped on purpose (`workers stop`');
    status = jsonOf<WorkersJson>(await runCli(['workers', 'status', '--json'], { cwd: f.cwd }));
    expect(status.supervisor).toMatchObject({ state: 'stopped', stop: { by: '`workers stop`' }, restartsTotal: restartsBefore + 1 });

    // 3. `dev down --purge` racing the recovery: the record of the stop goes with the data, and a
    // supervisor a worker was starting finds nothing to supervise.
    await startWorkers(f.cwd);
    process.kill(supervisorPid(paths)!, 'SIGKILL');
    const purge = await runCli(['dev', 'down', '--purge'], { cwd: f.cwd, timeoutMs: 180_000 });
    expect(purge.exitCode, purge.stderr).toBe(0);
    await until('every worker and supervisor of this directory to be gone after the purge', nothingRuns, 60_000);
    await new Promise((r) => setTimeout(r, 8_000));
    expect(MARKERS.map((m) => processesOf(f.cwd, m).length)).toEqual([0, 0, 0, 0]);
  }, 500_000);

  it('reports a worker that can never start instead of retrying it forever', async () => {
    const { f, processorPort } = await newFixture();
    // Something else holds the second processor's metrics port: that worker exits 2 at every start.
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(processorPort + 1, '127.0.0.1', resolve));
    try {
      const run = await runCli(['phase', 'run', 'processing', '--workers', '2'], { cwd: f.cwd, timeoutMs: 180_000 });
      expect(run.exitCode).toBe(1);
      expect(run.stderr + run.stdout).toContain(`processor-w2: `);
      expect(run.stderr + run.stdout).toContain(`metrics port ${processorPort + 1} is taken`);
      const status = jsonOf<WorkersJson>(await runCli(['workers', 'status', '--json'], { cwd: f.cwd }));
      const w2 = status.workers.find((w) => w.name === 'processor-w2');
      expect(w2?.pid).toBeNull();
      expect(w2?.failed).toContain(`metrics port ${processorPort + 1} is taken`);
      // The others run on.
      expect(status.workers.filter((w) => w.name !== 'processor-w2').every((w) => w.pid !== null)).toBe(true);
    } finally {
      squatter.close();
    }
  }, 300_000);

  it('scales processor workers with the lag: a load step up adds one, the lag drains, the step down removes it; outputs stay exact', async () => {
    // Thresholds scaled to a test: the policy is the same as production's.
    const { f, supervisorPort } = await newFixture({ minWorkers: 1, maxWorkers: 2, scaleUpLag: 3000, scaleDownLag: 200, scaleInterval: '1s', scaleWindow: '3s', scaleCooldown: '8s' });
    const run = await runCli(['phase', 'run', 'processing', '--workers', '1', '--json'], { cwd: f.cwd, timeoutMs: 180_000 });
    expect(run.exitCode, run.stderr + run.stdout).toBe(0);
    const counts: string[] = [];
    const started = Date.now();
    const { config: fixtureConfig } = loadConfig({ cwd: f.cwd });
    const paths = stackPaths(fixtureConfig, f.cwd);
    // The count the supervisor keeps running, read from what it publishes, once a second.
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const processors = readEffective(paths)?.processors ?? 0;
        counts.push(`${Math.round((Date.now() - started) / 1000)}s:${processors}`);
        await new Promise((r) => setTimeout(r, 1_000));
      }
    })();
    try {
      // The step up: 120 000 order changes at once, far more than one worker reads in the 3 s window.
      for (let from = 1; from <= 120_000; from += 5_000) {
        const batch = [];
        for (let id = from; id < from + 5_000; id++) batch.push({ id, customerId: 1 + (id % 20), productId: 1 + (id % 8), quantity: 1, amountCents: 1_000 + (id % 997), status: 'PLACED' as const, createdAt: T0 + id * 1_000 });
        await f.upsertOrders(batch);
      }
      await until('a second processor worker', () => counts.some((c) => c.endsWith(':2')), 120_000);
      // The lag drains; after it has stayed low for the window and the cool-down, back to one.
      await until('the step down to one worker', () => counts.length > 0 && counts.at(-1)!.endsWith(':1') && counts.some((c) => c.endsWith(':2')), 180_000);
      expect(await f.converge(120_000)).toBeUndefined();
    } finally {
      sampling = false;
      await sampler;
    }
    const changes = counts.filter((c, i) => i === 0 || c.split(':')[1] !== counts[i - 1]!.split(':')[1]);
    console.log(`autoscaling, processor workers over time (changes only): ${changes.join(' ')} (end ${counts.at(-1)})`);
    const config = fixtureConfig;
    const audit = jsonOf<{ entries: { command: string; target: string; detail: { from: number; to: number } }[] }>(await runCli(['audit', '--json', '-n', '50'], { cwd: f.cwd }));
    const scalings = audit.entries.filter((e) => e.command === 'workers scale' && e.target === config.processor.groupId).map((e) => `${e.detail.from}→${e.detail.to}`).reverse();
    expect(scalings.slice(0, 2)).toEqual(['1→2', '2→1']);
    const metrics = await (await fetch(`http://127.0.0.1:${supervisorPort}/metrics`)).text();
    expect(metrics).toContain('stream_migrate_supervisor_scaling_decisions_total{action="up"} 1');
    expect(metrics).toMatch(/stream_migrate_supervisor_scaling_decisions_total\{action="down"\} [1-9]/);
  }, 600_000);
});
