import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { createClickHouse } from '../../src/clients/clickhouse.ts';
import { clickhouseAs } from '../../src/output/clickhouse-users.ts';
import { clickhouseService } from '../../src/local-stack/clickhouse-service.ts';
import { connectService } from '../../src/local-stack/connect-service.ts';
import { kafkaService } from '../../src/local-stack/kafka-service.ts';
import { isAlive } from '../../src/local-stack/processes.ts';
import { readRestarts } from '../../src/local-stack/supervisor-process.ts';
import { readDesired, supervisorPid, workerAnswers, workersDir, workerStatus } from '../../src/local-stack/workers.ts';
import { sleep, type EndMarks, type Observer } from './observe.ts';
import { stackUp, type FaultStack } from './stack.ts';

export type FaultName =
  | 'processor-sigkill'
  | 'sink-sigkill'
  | 'processor-and-sink-sigkill'
  | 'supervisor-sigkill'
  | 'kafka-sigkill'
  | 'connect-restart'
  | 'clickhouse-stop'
  | 'postgres-restart'
  | 'sink-access-revoked';

export function isFaultName(value: string): value is FaultName {
  return Object.hasOwn(FAULT_HOW, value);
}

/** How long the longer faults last; the test shortens them. */
export interface FaultTimings {
  /** SIGKILLs of a processor worker, at random moments, each once the previous one recovered. */
  readonly processorKills: number;
  readonly kafkaDownMs: number;
  readonly clickhouseDownMs: number;
  readonly revokedMs: number;
  /** How long the pipeline gets to recover on its own before the matrix looks for the product's advice. */
  readonly autoRecoveryMs: number;
}

export interface FaultEnv {
  readonly stack: FaultStack;
  readonly observer: Observer;
  readonly timings: FaultTimings;
  readonly random: () => number;
  readonly log: (line: string) => void;
}

/** One fault struck once, and what followed. */
export interface Attempt {
  /** `auto`: the pipeline recovered on its own; `command`: after the one command the product printed. */
  readonly recovery: 'auto' | 'command' | 'none';
  readonly command?: string;
  /** From the fault to committed output again (probe in ClickHouse, both groups past the fault). */
  readonly seconds: number | null;
  readonly maxLagProcessor: number;
  readonly maxLagSink: number;
  readonly notes: readonly string[];
}

export interface FaultResult {
  readonly fault: FaultName;
  readonly how: string;
  readonly attempts: readonly Attempt[];
}

export const FAULT_HOW: Readonly<Record<FaultName, string>> = {
  'processor-sigkill': 'SIGKILL a processor worker at random moments',
  'sink-sigkill': 'SIGKILL the sink worker',
  'processor-and-sink-sigkill': 'SIGKILL a processor worker and the sink together',
  'supervisor-sigkill': 'SIGKILL the worker supervisor',
  'kafka-sigkill': 'SIGKILL the Kafka broker, `dev up` after a pause',
  'connect-restart': 'stop Kafka Connect (SIGTERM), `dev up`',
  'clickhouse-stop': 'stop ClickHouse, `dev up` after a pause',
  'postgres-restart': '`pg_ctl stop -m fast` on the source cluster, `dev up`',
  'sink-access-revoked': "ClickHouse users.xml: the sink user's database access revoked (inserts refused), then restored",
};

/** Strikes one fault (with its repetitions) and measures the recovery of each strike. */
export async function strike(fault: FaultName, env: FaultEnv): Promise<FaultResult> {
  const attempts: Attempt[] = [];
  switch (fault) {
    case 'processor-sigkill':
      for (let i = 0; i < env.timings.processorKills; i++) {
        // A random moment: with a transaction committed every 100 ms under load, most land inside an open one.
        await sleep(1_000 + env.random() * 5_000);
        const name = env.random() < 0.5 ? 'processor-w1' : 'processor-w2';
        attempts.push(await measure(env, async (struck) => [`killed ${name} (pid ${killWorker(env, name, struck)})`]));
      }
      break;
    case 'sink-sigkill':
      attempts.push(await measure(env, async (struck) => [`killed sink-s1 (pid ${killWorker(env, 'sink-s1', struck)})`]));
      break;
    case 'processor-and-sink-sigkill':
      attempts.push(
        await measure(env, async (struck) => {
          const name = env.random() < 0.5 ? 'processor-w1' : 'processor-w2';
          const processor = killWorker(env, name, struck);
          const sink = killWorker(env, 'sink-s1', struck);
          return [`killed ${name} (pid ${processor}) and sink-s1 (pid ${sink})`];
        }),
      );
      break;
    case 'supervisor-sigkill':
      attempts.push(await measure(env, (struck) => killSupervisor(env, struck), env.timings.autoRecoveryMs, (struck) => afterSupervisorKill(env, struck)));
      break;
    case 'kafka-sigkill':
      attempts.push(
        await measure(env, async () => {
          const pid = kafkaService(env.stack.serviceContext).pid();
          if (pid === undefined) throw new Error('Kafka of the fault stack is not running');
          process.kill(pid, 'SIGKILL');
          await waitGone(pid);
          await sleep(env.timings.kafkaDownMs);
          await stackUp(env.stack);
          return [`broker pid ${pid} killed, started again by \`dev up\` after ${env.timings.kafkaDownMs / 1000} s`];
        }),
      );
      break;
    case 'connect-restart':
      attempts.push(
        await measure(env, async () => {
          await connectService(env.stack.serviceContext).stop();
          await stackUp(env.stack);
          return ['Connect stopped (SIGTERM) and started again by `dev up`'];
        }),
      );
      break;
    case 'clickhouse-stop':
      attempts.push(
        await measure(env, async () => {
          await clickhouseService(env.stack.serviceContext).stop();
          await sleep(env.timings.clickhouseDownMs);
          await stackUp(env.stack);
          return [`ClickHouse down ${env.timings.clickhouseDownMs / 1000} s, started again by \`dev up\``];
        }),
      );
      break;
    case 'postgres-restart':
      attempts.push(await measure(env, () => restartPostgres(env)));
      break;
    case 'sink-access-revoked':
      attempts.push(await measure(env, () => revokeSinkWrites(env)));
      break;
    default:
      return assertNever(fault);
  }
  return { fault, how: FAULT_HOW[fault], attempts };
}

/**
 * Marks where the groups' inputs end, strikes, samples both groups' lag every second, and
 * waits for recovery (see `recovered`). When that does not come within autoRecoveryMs, the
 * product is asked what to do (the first command it prints in backticks), that one command is
 * run, and the wait goes on. `inject` adds the pids it killed to `struck`: the processes that
 * must be replaced, not merely seen alive for the moment they take to die.
 */
async function measure(
  env: FaultEnv,
  inject: (struck: Set<number>) => Promise<readonly string[]>,
  autoRecoveryMs = env.timings.autoRecoveryMs,
  after?: (struck: ReadonlySet<number>) => Promise<readonly string[]>,
): Promise<Attempt> {
  const { observer } = env;
  const marks = await observer.endMarks();
  const t0 = Date.now();
  const probes: Probe[] = [];
  const struck = new Set<number>();
  let maxLagProcessor = 0n;
  let maxLagSink = 0n;
  let done = false;
  const sampling = (async () => {
    while (!done) {
      const lag = await observer.lagNow();
      if (lag) {
        if (lag.processor > maxLagProcessor) maxLagProcessor = lag.processor;
        if (lag.sink > maxLagSink) maxLagSink = lag.sink;
      }
      await sleep(1_000);
    }
  })();
  const probing = (async () => {
    while (!done) {
      const id = await observer.insertProbe();
      if (id !== undefined) probes.push({ id, committedAtMs: Date.now() });
      await sleep(1_000);
    }
  })();
  try {
    const notes = [...(await inject(struck))];
    let recovery: Attempt['recovery'] = 'auto';
    let command: string | undefined;
    const first = await recovered(env, marks, probes, struck, t0, Date.now() + autoRecoveryMs);
    let seconds = first.seconds;
    if (seconds === null) {
      notes.push(`not recovered on its own within ${autoRecoveryMs / 1000} s: ${first.missing}`);
      command = await productAdvice(env);
      if (command === undefined) {
        recovery = 'none';
        notes.push(`no recovery within ${autoRecoveryMs / 1000} s and no command printed by workers status, dev status or phase verify`);
      } else {
        recovery = 'command';
        env.log(`  not recovered on its own within ${autoRecoveryMs / 1000} s; running the command the product prints: ${command}`);
        const run = await env.stack.cli(command.split(/\s+/).slice(1), 600_000);
        if (run.exitCode !== 0) notes.push(`\`${command}\` exited ${run.exitCode}: ${lastLine(run.stderr)}`);
        const second = await recovered(env, marks, probes, struck, t0, Date.now() + env.timings.autoRecoveryMs);
        seconds = second.seconds;
        if (seconds === null) {
          recovery = 'none';
          notes.push(`not recovered after \`${command}\` either: ${second.missing}`);
        }
      }
    }
    if (after) notes.push(...(await after(struck)));
    // A few more samples: lag may peak as the backlog is read after the first commit.
    await sleep(3_000);
    return { recovery, ...(command ? { command } : {}), seconds, maxLagProcessor: Number(maxLagProcessor), maxLagSink: Number(maxLagSink), notes };
  } finally {
    done = true;
    await Promise.all([sampling, probing]);
  }
}

/** A probe order and when its insert was committed. */
interface Probe {
  readonly id: number;
  readonly committedAtMs: number;
}

/**
 * Seconds from t0 until the pipeline runs as configured again, or null at the deadline with what
 * was still missing. Recovered means all of: the supervisor and each configured worker run, once,
 * in live processes that were not struck, each worker answering on its /metrics port; a probe
 * order committed after that is visible in ClickHouse (output carried by those workers, not the
 * last transaction of workers on their way out); and both groups committed past where their
 * inputs ended at the fault.
 */
async function recovered(env: FaultEnv, marks: EndMarks, probes: readonly Probe[], struck: ReadonlySet<number>, t0: number, deadline: number): Promise<{ readonly seconds: number | null; readonly missing: string }> {
  let upSince: number | undefined;
  let probeSeen = false;
  let missing = 'nothing checked yet';
  while (Date.now() < deadline) {
    if (upSince === undefined) {
      const down = await workersDown(env, struck);
      if (down === undefined) upSince = Date.now();
      else missing = down;
    }
    if (upSince !== undefined) {
      const since = upSince;
      if (!probeSeen) probeSeen = (await env.observer.visible(probes.filter((p) => p.committedAtMs >= since).map((p) => p.id))).size > 0;
      if (!probeSeen) missing = 'no probe order written after the workers came back is in ClickHouse';
      else if (!(await env.observer.committedPast(marks))) missing = 'a group has not committed past the fault';
      else {
        const down = await workersDown(env, struck);
        if (down === undefined) return { seconds: (Date.now() - t0) / 1000, missing: '' };
        // Down again: start over.
        missing = down;
        upSince = undefined;
        probeSeen = false;
      }
    }
    await sleep(250);
  }
  return { seconds: null, missing };
}

/**
 * Undefined when the configured workers run again, else what is missing: a live supervisor that
 * was not struck, and each desired worker once, in a live process that was not struck, whose
 * /metrics answers.
 */
async function workersDown(env: FaultEnv, struck: ReadonlySet<number>): Promise<string | undefined> {
  const supervisor = supervisorPid(env.stack.paths);
  if (supervisor === undefined || struck.has(supervisor)) return 'no supervisor runs';
  const desired = readDesired(env.stack.paths);
  const workers = workerStatus(env.stack.paths);
  const expected = (desired?.processors ?? 0) + (desired?.sink ? 1 : 0) + (desired?.sources?.length ?? 0);
  if (workers.length !== expected) return `${workers.length} workers configured by the running supervisor, ${expected} desired`;
  for (const w of workers) {
    if (w.pid === null || !isAlive(w.pid)) return `${w.name} is not running`;
    if (struck.has(w.pid)) return `${w.name} is still the struck process ${w.pid}`;
    const running = processesOf(env.stack.cwd, workerMarker(w.name)).length;
    if (running !== 1) return `${w.name} runs ${running} times`;
    if (!(await workerAnswers(env.stack.config, w.name))) return `${w.name} (pid ${w.pid}) does not answer on its /metrics port`;
  }
  return undefined;
}

/** The command-line text that recognises a worker's process (`processor run --instance w1`). */
function workerMarker(name: string): string {
  const dash = name.indexOf('-');
  const kind = name.slice(0, dash);
  return kind === 'source' ? `sources run --name ${name.slice(dash + 1)}` : `${kind} run --instance ${name.slice(dash + 1)}`;
}

/** The first `stream-migrate ...` command the product prints in backticks when asked how things stand. */
async function productAdvice(env: FaultEnv): Promise<string | undefined> {
  for (const args of [['workers', 'status'], ['dev', 'status'], ['phase', 'verify', 'ingestion'], ['phase', 'verify', 'processing'], ['phase', 'verify', 'output']]) {
    const run = await env.stack.cli(args, 120_000);
    if (run.exitCode === 0) continue;
    const command = /`(stream-migrate [^`]+)`/.exec(`${run.stdout}\n${run.stderr}`)?.[1];
    if (command) return command.trim();
  }
  return undefined;
}

function pidOf(env: FaultEnv, name: string): number {
  const pid = workerStatus(env.stack.paths).find((w) => w.name === name)?.pid;
  if (pid === null || pid === undefined) throw new Error(`${name} is not running on the fault stack`);
  return pid;
}

function killWorker(env: FaultEnv, name: string, struck: Set<number>): number {
  const pid = pidOf(env, name);
  struck.add(pid);
  process.kill(pid, 'SIGKILL');
  return pid;
}

/**
 * SIGKILLs the supervisor. Its workers must all be replaced (they start the next supervisor and
 * stop), so they count as struck too; none may outlive the recovery (no orphans).
 */
async function killSupervisor(env: FaultEnv, struck: Set<number>): Promise<readonly string[]> {
  const pid = supervisorPid(env.stack.paths);
  if (pid === undefined) throw new Error('the supervisor of the fault stack is not running');
  const workers = workerStatus(env.stack.paths).flatMap((w) => (w.pid === null ? [] : [w.pid]));
  for (const p of [pid, ...workers]) struck.add(p);
  process.kill(pid, 'SIGKILL');
  // Each finishes the transaction in hand; the new supervisor gives them 30 s before a SIGKILL.
  const deadline = Date.now() + 35_000;
  while (Date.now() < deadline && workers.some(isAlive)) await sleep(200);
  const orphans = workers.filter(isAlive);
  return [`supervisor pid ${pid} killed; ${orphans.length === 0 ? `its ${workers.length} workers stopped (no orphans)` : `ORPHANED workers still running: ${orphans.join(', ')}`}`];
}

/** After the recovery: who restarted the supervisor, and one supervisor and each worker exactly once in the stack's directory. */
async function afterSupervisorKill(env: FaultEnv, struck: ReadonlySet<number>): Promise<readonly string[]> {
  await sleep(3_000);
  const restart = readRestarts(workersDir(env.stack.paths)).findLast((r) => struck.has(r.previousPid));
  const markers = ['workers supervise', ...workerStatus(env.stack.paths).map((w) => workerMarker(w.name))];
  const counts = markers.map((marker) => [marker, processesOf(env.stack.cwd, marker).length] as const);
  const doubled = counts.filter(([, n]) => n !== 1);
  return [
    restart ? `supervisor restarted on its own: pid ${restart.previousPid} → ${restart.pid}, started by ${restart.by} at ${restart.at.slice(11, 19)}` : 'supervisor NOT restarted on its own (no restart recorded)',
    doubled.length === 0 ? `one supervisor and each of ${markers.length - 1} workers once after the restart (no doubles)` : `NOT RUNNING ONCE: ${doubled.map(([m, n]) => `${m} x${n}`).join(', ')}`,
  ];
}

/**
 * Live processes (zombies left out) of `cwd` whose command line contains `marker`. A child forked
 * by one of them and not yet exec'd carries its parent's command line for that moment; it is the
 * start of another program (a worker, a supervisor), not a second one, and is left out.
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

/** `pg_ctl stop -m fast` (as the cluster's owner), then the stack's own start. */
async function restartPostgres(env: FaultEnv): Promise<readonly string[]> {
  const dataDir = fs.realpathSync(env.stack.paths.dataDir('postgres'));
  const bin = path.join('/usr/lib/postgresql', fs.readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a))[0] ?? '', 'bin', 'pg_ctl');
  const args = ['stop', '-D', dataDir, '-m', 'fast', '-w'];
  const asRoot = process.getuid?.() === 0;
  const stop = asRoot ? await execa('runuser', ['-u', 'postgres', '--', bin, ...args], { reject: false }) : await execa(bin, args, { reject: false });
  if (stop.exitCode !== 0) throw new Error(`pg_ctl stop failed: ${stop.stderr}`);
  await stackUp(env.stack);
  return ['source cluster stopped by `pg_ctl stop -m fast`, started again by `dev up`'];
}

/**
 * A permission fault on the sink's target tables, made the way a DBA would on 18.16 (no SQL
 * GRANT there): the running server's users.xml takes the output database away from the sink's
 * user (its allow_databases names a database that does not exist; ClickHouse reloads the file on
 * its own), so every insert is refused with "Access denied" (code 291). After the pause the file
 * is restored. The sink must keep the batch, log each refusal and retry with backoff: nothing is
 * dead-lettered or read past it. On a stack without a sink user, every profile is made
 * read-only instead (inserts refused with code 164).
 */
async function revokeSinkWrites(env: FaultEnv): Promise<readonly string[]> {
  const file = path.join(env.stack.paths.serviceDir('clickhouse'), 'users.xml');
  const original = fs.readFileSync(file, 'utf8');
  const sinkUser = clickhouseAs(env.stack.config, 'sink');
  const database = env.stack.config.clickhouse.database;
  const revoked = sinkUser.username !== 'default' && original.includes(`<${sinkUser.username}>`) ? revokeDatabase(original, sinkUser.username) : readonlyProfiles(original);
  if (revoked === original) throw new Error(`${file}: found nothing to revoke`);
  const ch = createClickHouse(sinkUser, 'default');
  // The revocation covers reads too: an empty SELECT as the sink's user shows it without touching a row.
  const canWrite = async () => {
    try {
      await ch.query(`SELECT count() FROM ${database}.processed_orders_versions WHERE 0`);
      return true;
    } catch {
      return false;
    }
  };
  const notes: string[] = [];
  try {
    fs.writeFileSync(file, revoked);
    const applied = await until(async () => !(await canWrite()), 30_000);
    notes.push(applied ? `${sinkUser.username} lost access to ${database}` : `revocation NOT in effect after 30 s`);
    const sinkLog = path.join(env.stack.paths.root, 'workers', 'sink-s1.log');
    const before = fs.existsSync(sinkLog) ? fs.statSync(sinkLog).size : 0;
    await sleep(env.timings.revokedMs);
    const refused = readFrom(sinkLog, before).split('\n').filter((l) => /rows failed/.test(l)).length;
    notes.push(`${refused} refused-insert warnings in the sink log in ${env.timings.revokedMs / 1000} s`);
  } finally {
    fs.writeFileSync(file, original);
    await until(canWrite, 30_000);
    await ch.close();
  }
  return notes;
}

/** users.xml with `user`'s allow_databases naming only a database that does not exist. */
export function revokeDatabase(xml: string, user: string): string {
  return xml.replace(new RegExp(`(<${user}>[\\s\\S]*?<allow_databases>)[\\s\\S]*?(</allow_databases>)`), '$1<database>faults_revoked</database>$2');
}

/** users.xml with `<readonly>2</readonly>` first in every profile (each element directly under <profiles>). */
export function readonlyProfiles(xml: string): string {
  return xml.replace(/<profiles>([\s\S]*?)<\/profiles>/, (_, body: string) => {
    let depth = 0;
    const out = body.replace(/<(\/?)([A-Za-z_][\w-]*)(\s*\/?)>/g, (tag, closing: string, _name: string, selfClosing: string) => {
      if (closing) {
        depth--;
        return tag;
      }
      if (selfClosing.includes('/')) return tag;
      depth++;
      return depth === 1 ? `${tag}<readonly>2</readonly>` : tag;
    });
    return `<profiles>${out}</profiles>`;
  });
}

async function until(probe: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if (await probe()) return true;
    } catch {
      // Not answering yet.
    }
    await sleep(500);
  }
  return false;
}

function readFrom(file: string, offset: number): string {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const buffer = Buffer.alloc(Math.max(0, size - offset));
      fs.readSync(fd, buffer, 0, buffer.length, offset);
      return buffer.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
}

async function waitGone(pid: number): Promise<void> {
  while (isAlive(pid)) await sleep(100);
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? '';
}

function assertNever(value: never): never {
  throw new Error(`unexpected ${String(value)}`);
}

