import fs from 'node:fs';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { stackPaths } from '../../src/local-stack/paths.ts';
import { readEffective, stopWorkers, supervisorPid } from '../../src/local-stack/workers.ts';
import { jsonOf, runCli } from './cli.ts';
import { waitFor } from './connector-fixture.ts';
import { StreamFixture } from './stream-fixture.ts';

/**
 * The local worker supervisor that `phase run processing` starts, with real processes: N workers
 * get ports that never collide, a SIGKILLed supervisor leaves no orphans and its successor runs
 * each worker exactly once, and a worker that can never start is reported, not retried forever.
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
}

/** Processes of this working directory whose command line runs `role run --instance id`. */
function processesOf(cwd: string, role: string, instance: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmdline.includes(`${role} run --instance ${instance}`) && fs.readlinkSync(`/proc/${entry}/cwd`) === cwd) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

/** Waits until `holds()` is true, looking every 250 ms. */
const until = (what: string, holds: () => boolean, timeoutMs = 30_000) => waitFor(what, async () => holds() || undefined, timeoutMs, 250);

describe('local worker supervisor', () => {
  it('runs two processors and a sink on ports that do not collide; a SIGKILLed supervisor leaves no orphans and its successor runs each worker once', async () => {
    const { f, processorPort, sinkPort } = await newFixture();
    const run = await runCli(['phase', 'run', 'processing', '--workers', '2', '--json'], { cwd: f.cwd, timeoutMs: 180_000 });
    expect(run.exitCode, run.stderr + run.stdout).toBe(0);
    const status = jsonOf<WorkersJson>(await runCli(['workers', 'status', '--json'], { cwd: f.cwd }));
    expect(status.workers.map((w) => [w.name, w.pid !== null])).toEqual([['processor-w1', true], ['processor-w2', true], ['sink-s1', true]]);
    for (const port of [processorPort, processorPort + 1, sinkPort]) expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(200);

    const { config } = loadConfig({ cwd: f.cwd });
    const supervisor = supervisorPid(stackPaths(config, f.cwd));
    expect(supervisor).toBeDefined();
    process.kill(supervisor!, 'SIGKILL');
    // Workers notice within a second or two and stop on their own (finishing their transaction).
    await until('the orphaned workers to stop', () => ['w1', 'w2'].every((w) => processesOf(f.cwd, 'processor', w).length === 0) && processesOf(f.cwd, 'sink', 's1').length === 0);

    const again = await runCli(['phase', 'run', 'processing', '--workers', '2', '--json'], { cwd: f.cwd, timeoutMs: 180_000 });
    expect(again.exitCode, again.stderr + again.stdout).toBe(0);
    await new Promise((r) => setTimeout(r, 3_000));
    expect(processesOf(f.cwd, 'processor', 'w1')).toHaveLength(1);
    expect(processesOf(f.cwd, 'processor', 'w2')).toHaveLength(1);
    expect(processesOf(f.cwd, 'sink', 's1')).toHaveLength(1);
  }, 300_000);

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
      const T0 = Date.UTC(2026, 10, 25, 10, 0, 0);
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
