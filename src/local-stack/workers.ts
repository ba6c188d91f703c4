import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { KafkaAdmin } from '../clients/kafka.ts';
import { lagToRead } from '../clients/consumer-lag.ts';
import type { Config } from '../config/schema.ts';
import type { Logger } from '../core/logger.ts';
import { Metrics } from '../core/metrics.ts';
import { startAutoscaler, scalingPolicyOf } from './autoscaler.ts';
import { WORKER_MALLOC_ENV, workerNodeArgs } from './worker-runtime.ts';
import type { StackPaths } from './paths.ts';
import { runningPid, stopProcess, tailFile } from './processes.ts';
import {
  appendRestart,
  awaitSupervisor,
  claimSupervisorLock,
  clearStop,
  ENTRY,
  readStop,
  recordStop,
  removeOldClaims,
  respawnOf,
  spawnSupervisor,
  SUPERVISOR_PID_ENV,
  supervisorPidIn,
  WORKER_NAME_ENV,
  WORKERS_DIR_ENV,
  writeSupervisorPid,
} from './supervisor-process.ts';

/** What the supervisor keeps running: N processor workers, one sink and one worker per order source. */
export interface DesiredWorkers {
  readonly processors: number;
  readonly sink: boolean;
  /** Order sources (sources.http / sources.files names), each run as `sources run --name N`. */
  readonly sources?: readonly string[];
  /** `--config` of the command that asked, so the workers read the same configuration. */
  readonly configFile?: string | undefined;
}

export interface WorkerStatus {
  readonly name: string;
  readonly pid: number | null;
  readonly logFile: string;
  /** When the running process was started (its pid file's time); null when it does not run. */
  readonly startedAt: Date | null;
  /** Set when the supervisor gave up on the worker because it can never start as configured. */
  readonly failed?: string;
}

/** Exits with code 2 (bad usage or configuration) this many times in a row, quickly: the supervisor stops retrying. */
const HOPELESS_STARTS = 3;

export function workersDir(paths: StackPaths): string {
  return path.join(paths.root, 'workers');
}

/** The supervisor's pid when it runs. */
export function supervisorPid(paths: StackPaths): number | undefined {
  return supervisorPidIn(workersDir(paths));
}

export function readDesired(paths: StackPaths): DesiredWorkers | undefined {
  return readDesiredIn(workersDir(paths));
}

function readDesiredIn(dir: string): DesiredWorkers | undefined {
  return readJson<DesiredWorkers>(path.join(dir, 'desired.json'));
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/**
 * Starts the supervisor (or tells a running one to adopt the new desired state). It runs
 * detached, so workers outlive the command; `dev down` and `workers stop` stop it and its
 * workers. Asked for by a human, it ends an earlier intentional stop.
 */
export async function ensureWorkers(paths: StackPaths, desired: DesiredWorkers, cwd: string): Promise<{ readonly started: boolean; readonly pid: number }> {
  const dir = workersDir(paths);
  fs.mkdirSync(dir, { recursive: true });
  // Written aside and renamed: a supervisor starting meanwhile reads the old state or the new, never half of one.
  const tmp = path.join(dir, `desired.json.${process.pid}.tmp`);
  fs.writeFileSync(tmp, JSON.stringify(desired, null, 2) + '\n');
  fs.renameSync(tmp, path.join(dir, 'desired.json'));
  clearStop(dir);
  const running = supervisorPid(paths);
  if (running !== undefined) {
    process.kill(running, 'SIGHUP');
    return { started: false, pid: running };
  }
  const spawned = spawnSupervisor(dir, desired.configFile, cwd);
  // The supervisor records its own pid once it holds the lock (a racing start may win instead).
  return { started: true, pid: (await awaitSupervisor(dir, 15_000)) ?? spawned };
}

/**
 * Whether the running supervisor can start source workers: one started by an earlier build
 * cannot (it runs the code it started with), so a phase that wants them replaces it.
 */
export async function supervisorStartsSources(paths: StackPaths, timeoutMs = 5_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (readEffective(paths)?.kinds?.includes('source')) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * An intentional stop (`by` says who): recorded first, so no worker restarts a supervisor after
 * it; then the supervisor (which stops its workers first) and any worker a SIGKILLed supervisor
 * left. A supervisor a worker was just starting reads the record and exits by itself. True when
 * something was running.
 */
export async function stopWorkers(paths: StackPaths, by = 'stopped'): Promise<boolean> {
  const dir = workersDir(paths);
  if (!fs.existsSync(dir)) return false;
  recordStop(dir, by);
  let stopped = false;
  for (let pass = 0; pass < 2; pass++) {
    const pid = supervisorPidIn(dir);
    if (pid !== undefined) {
      await stopProcess(pid, 'SIGTERM', 40_000);
      stopped = true;
    }
    if ((await stopStrayWorkers(dir)) > 0) stopped = true;
  }
  return stopped;
}

function workerNames(desired: DesiredWorkers): readonly string[] {
  return [...Array.from({ length: desired.processors }, (_, i) => `processor-w${i + 1}`), ...(desired.sink ? ['sink-s1'] : []), ...(desired.sources ?? []).map((n) => `source-${n}`)];
}

/** A worker name (`processor-w2`, `sink-s1`, `source-store`) read once: its kind and its instance or source name. */
interface WorkerSpec {
  readonly kind: 'processor' | 'sink' | 'source';
  readonly instance: string;
}

function workerSpec(name: string): WorkerSpec {
  const dash = name.indexOf('-');
  const kind = name.slice(0, dash);
  if (kind !== 'processor' && kind !== 'sink' && kind !== 'source') throw new Error(`not a worker name: ${name}`);
  return { kind, instance: name.slice(dash + 1) };
}

/** What a running supervisor keeps running now: the desired workers with the processor count it scaled to. */
export interface EffectiveWorkers extends DesiredWorkers {
  /** The worker kinds the running supervisor's build can start (absent: a build before source workers). */
  readonly kinds?: readonly string[];
  readonly scaling?: { readonly minWorkers: number; readonly maxWorkers: number; readonly lastDecision?: { readonly at: string; readonly from: number; readonly to: number; readonly reason: string; readonly lag: number } };
}

export function readEffective(paths: StackPaths): EffectiveWorkers | undefined {
  if (supervisorPid(paths) === undefined) return undefined;
  try {
    return JSON.parse(fs.readFileSync(path.join(workersDir(paths), 'effective.json'), 'utf8')) as EffectiveWorkers;
  } catch {
    return undefined;
  }
}

/** Each desired worker and its pid when alive. */
export function workerStatus(paths: StackPaths): readonly WorkerStatus[] {
  const desired = readEffective(paths) ?? readDesired(paths);
  if (!desired) return [];
  const dir = workersDir(paths);
  return workerNames(desired).map((name) => {
    const failed = readFailure(dir, name);
    const pidFile = path.join(dir, `${name}.pid`);
    const pid = runningPid(pidFile, workerMarker(name)) ?? null;
    return {
      name,
      pid,
      logFile: path.join(dir, `${name}.log`),
      startedAt: pid === null ? null : fs.statSync(pidFile, { throwIfNoEntry: false })?.mtime ?? null,
      ...(failed ? { failed } : {}),
    };
  });
}

function readFailure(dir: string, name: string): string | undefined {
  try {
    return fs.readFileSync(path.join(dir, `${name}.failed`), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The /metrics port of a supervised worker: one per processor from processorMetricsPort up (the
 * schema keeps the sink's out of that range); a source worker takes a free one (0), having no range.
 */
function workerMetricsPort(config: Config, { kind, instance }: WorkerSpec): number {
  if (kind === 'source') return 0;
  return kind === 'processor' ? config.monitoring.processorMetricsPort + Number(instance.slice(1)) - 1 : config.monitoring.sinkMetricsPort;
}

/** Where a supervised processor or sink worker (`processor-w1`, `sink-s1`) serves /metrics. */
export function workerMetricsUrl(config: Config, name: string): string {
  return `http://127.0.0.1:${workerMetricsPort(config, workerSpec(name))}/metrics`;
}

/** True when the worker's own /metrics answers: it started, bound its port and runs (a live pid alone may be one about to fail). */
export async function workerAnswers(config: Config, name: string, timeoutMs = 2_000): Promise<boolean> {
  const spec = workerSpec(name);
  // Without a known port a live source worker's pid is the answer (workerStatus checks its command line).
  if (spec.kind === 'source') return true;
  try {
    const response = await fetch(workerMetricsUrl(config, name), { signal: AbortSignal.timeout(timeoutMs) });
    return response.ok;
  } catch {
    return false;
  }
}

/** The subcommand a worker runs; its text also recognises the process in /proc (against pid reuse). */
function workerRun({ kind, instance }: WorkerSpec): readonly string[] {
  return kind === 'source' ? ['sources', 'run', '--name', instance] : [kind, 'run', '--instance', instance];
}

function workerMarker(name: string): string {
  return workerRun(workerSpec(name)).join(' ');
}

/** The arguments the supervisor starts a worker with, on its own runtime (`process.execPath`). */
function workerArgs(config: Config, name: string, configFile: string | undefined): readonly string[] {
  const spec = workerSpec(name);
  // A bounded heap keeps a processor's or sink's RSS predictable; V8 would otherwise grow lazily towards its large default.
  const heap = spec.kind === 'source' ? [] : workerNodeArgs(config);
  return [...heap, ENTRY, ...workerRun(spec), '--metrics-port', String(workerMetricsPort(config, spec)), '--json-logs', ...(configFile ? ['--config', configFile] : [])];
}

/**
 * The supervisor process itself: keeps the desired workers running, restarting one that dies
 * with a growing delay, re-reads the desired state on SIGHUP, and stops them all on SIGTERM.
 */
export async function superviseWorkers(paths: StackPaths, config: Config, logger: Logger, signal: AbortSignal): Promise<void> {
  const dir = workersDir(paths);
  // Every start writes desired.json first; without it the stack was purged (`dev down --purge`)
  // after a worker started this supervisor, and nothing is to run.
  const initial = readDesiredIn(dir);
  if (!initial) {
    logger.warn(`no desired workers recorded in ${dir} (purged?); the supervisor exits (\`stream-migrate phase run processing\` starts the workers)`);
    return;
  }
  const lock = await claimSupervisorLock(dir);
  if (!lock) {
    // Two starts raced (a worker's and a human's, or two workers'): the one running adopts the desired state.
    const other = await awaitSupervisor(dir, 5_000);
    if (other !== undefined) process.kill(other, 'SIGHUP');
    logger.warn(`another supervisor${other !== undefined ? ` (pid ${other})` : ''} runs for ${dir}; pid ${process.pid} exits`);
    return;
  }
  try {
    writeSupervisorPid(dir);
    // Read after the pid file is written: a stop recorded before this is seen here, and one recorded after finds the pid.
    const stop = readStop(dir);
    if (stop) {
      logger.warn(`the workers were stopped on purpose (${stop.by}, ${stop.at}); not starting them (\`stream-migrate phase run processing\` starts them again)`);
      return;
    }
    await supervise(dir, initial, config, logger, signal);
  } finally {
    lock.close();
  }
}

async function supervise(dir: string, initial: DesiredWorkers, config: Config, logger: Logger, signal: AbortSignal): Promise<void> {
  const respawn = respawnOf(process.env);
  if (respawn) {
    const record = { at: new Date().toISOString(), previousPid: respawn.previousPid, pid: process.pid, by: respawn.by };
    appendRestart(dir, record);
    logger.warn(`supervisor restarted on its own: pid ${respawn.previousPid} was gone, ${respawn.by} started pid ${process.pid}`);
    void audit(config, 'workers supervisor-restart', record, logger);
  }
  removeOldClaims(dir);
  const children = new Map<string, { child: ChildProcess; startedAt: number }>();
  const failures = new Map<string, number>();
  const usageFailures = new Map<string, number>();
  const givenUp = new Set<string>();
  const timers = new Set<NodeJS.Timeout>();
  let desired = initial;
  const policy = scalingPolicyOf(config);
  // With scaling on, the count moves between the bounds; the desired count is where it starts.
  const clamp = (n: number) => (policy ? Math.min(policy.maxWorkers, Math.max(policy.minWorkers, n)) : n);
  // A restarted supervisor resumes at the count its predecessor had scaled to.
  const previous = respawn && policy ? readJson<EffectiveWorkers>(path.join(dir, 'effective.json'))?.processors : undefined;
  let processors = clamp(typeof previous === 'number' ? previous : desired.processors);
  let lastDecision: NonNullable<EffectiveWorkers['scaling']>['lastDecision'];
  const current = (): EffectiveWorkers => ({
    ...desired,
    kinds: ['processor', 'sink', 'source'],
    processors,
    ...(policy ? { scaling: { minWorkers: policy.minWorkers, maxWorkers: policy.maxWorkers, ...(lastDecision ? { lastDecision } : {}) } } : {}),
  });
  const publish = () => fs.writeFileSync(path.join(dir, 'effective.json'), JSON.stringify(current(), null, 2) + '\n');
  const metrics = new Metrics();
  const workersGauge = metrics.gauge('stream_migrate_supervisor_processor_workers', 'Processor workers the supervisor keeps running');
  const lagGauge = metrics.gauge('stream_migrate_supervisor_processor_lag', 'The processor group lag the autoscaler last read');
  const decisions = metrics.counter('stream_migrate_supervisor_scaling_decisions_total', 'Scaling decisions applied, by action');
  const metricsServer = await metrics.serve(config.monitoring.supervisorMetricsPort).catch((error: unknown) => {
    logger.warn(`supervisor metrics not served on port ${config.monitoring.supervisorMetricsPort}: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  });

  const start = (name: string): void => {
    if (signal.aborted || children.has(name) || givenUp.has(name)) return;
    const log = fs.openSync(path.join(dir, `${name}.log`), 'a');
    const env = { ...WORKER_MALLOC_ENV, ...process.env, [SUPERVISOR_PID_ENV]: String(process.pid), [WORKERS_DIR_ENV]: dir, [WORKER_NAME_ENV]: name };
    const child = spawn(process.execPath, [...workerArgs(config, name, desired.configFile)], { stdio: ['ignore', log, log], cwd: process.cwd(), env });
    fs.closeSync(log);
    if (child.pid === undefined) return;
    const startedAt = Date.now();
    fs.writeFileSync(path.join(dir, `${name}.pid`), `${child.pid}\n`);
    children.set(name, { child, startedAt });
    logger.info(`started ${name} (pid ${child.pid})`);
    child.once('exit', (code, sig) => {
      children.delete(name);
      if (signal.aborted || !workerNames(current()).includes(name)) return;
      // A worker that ran a minute is healthy again: its next crash restarts quickly.
      const ranMs = Date.now() - startedAt;
      // Exit 2 soon after start is a usage or configuration error (a taken port, a bad file): retrying cannot help.
      const hopeless = code === 2 && ranMs < 30_000 ? (usageFailures.get(name) ?? 0) + 1 : 0;
      usageFailures.set(name, hopeless);
      if (hopeless >= HOPELESS_STARTS) {
        const reason = lastLine(path.join(dir, `${name}.log`)) || `exited with code 2 ${hopeless} times`;
        givenUp.add(name);
        fs.writeFileSync(path.join(dir, `${name}.failed`), `${reason}\n`);
        logger.error(`${name} cannot start (exit code 2, ${hopeless} times in a row): ${reason}; not retrying until the desired workers change (phase run processing)`);
        return;
      }
      const attempt = ranMs > 60_000 ? 1 : (failures.get(name) ?? 0) + 1;
      failures.set(name, attempt);
      const delay = restartDelayMs(attempt);
      const why = ranOutOfHeap(tailFile(path.join(dir, `${name}.log`), 40))
        ? `ran out of heap at processor.heapMiB ${config.processor.heapMiB} MiB: raise processor.heapMiB or run more workers (processor.workers)`
        : `exited (${sig ?? `code ${code}`})`;
      logger.warn(`${name} ${why}; restarting in ${delay} ms`, { attempt });
      const timer = setTimeout(() => {
        timers.delete(timer);
        start(name);
      }, delay);
      timers.add(timer);
    });
  };

  const reconcile = (): void => {
    const names = workerNames(current());
    publish();
    workersGauge(processors);
    // A new desired state (or a new supervisor) gives workers that could not start another chance.
    for (const name of [...givenUp]) {
      givenUp.delete(name);
      usageFailures.delete(name);
      fs.rmSync(path.join(dir, `${name}.failed`), { force: true });
    }
    for (const name of names) start(name);
    for (const [name, { child }] of children) if (!names.includes(name)) child.kill('SIGTERM');
  };

  const onHup = () => {
    const before = desired.configFile;
    desired = readDesiredIn(dir) ?? desired;
    // Workers read their configuration at start: another file restarts them (their exit handler starts them again).
    if (desired.configFile !== before) for (const { child } of children.values()) child.kill('SIGTERM');
    processors = clamp(desired.processors);
    logger.info(`desired workers: ${workerNames(current()).join(', ')}`);
    reconcile();
  };
  process.on('SIGHUP', onHup);
  await stopStrayWorkers(dir, logger);
  reconcile();
  const lag = processorLagReader(config);
  const stopScaling = policy
    ? startAutoscaler({
        policy,
        logger,
        signal,
        sampleLag: () => lag.read(),
        onSample: (lag) => lagGauge(lag),
        workers: () => processors,
        scaleTo: async (to, decision) => {
          const from = processors;
          processors = to;
          lastDecision = { at: new Date().toISOString(), from, to, reason: decision.reason, lag: decision.lag };
          decisions(1, { action: decision.action });
          reconcile();
          await audit(config, 'workers scale', lastDecision, logger);
        },
      })
    : undefined;
  await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  // Stopped on purpose (a signal, not a crash): the workers must not start it again when they see it gone.
  recordStop(dir, `supervisor pid ${process.pid} stopped by ${String(signal.reason ?? 'a signal')}`);
  stopScaling?.();
  await lag.close();
  metricsServer?.close();
  process.off('SIGHUP', onHup);
  for (const timer of timers) clearTimeout(timer);
  await Promise.all([...children.values()].map(({ child }) => (child.pid ? stopProcess(child.pid, 'SIGTERM', 30_000) : Promise.resolve())));
  logger.info('supervisor stopped its workers');
}

/**
 * Workers a previous supervisor left running (it was SIGKILLed, and they are still finishing
 * their work): stopped before new ones start, so no worker ever runs twice or unsupervised.
 * Returns how many were running.
 */
async function stopStrayWorkers(dir: string, logger?: Logger): Promise<number> {
  let files: string[];
  try {
    files = fs.readdirSync(dir).filter((f) => /^(processor|sink|source)-[^.]+\.pid$/.test(f));
  } catch {
    return 0;
  }
  const stopped = await Promise.all(
    files.map(async (file) => {
      const name = file.slice(0, -'.pid'.length);
      const pid = runningPid(path.join(dir, file), workerMarker(name));
      if (pid === undefined) return 0;
      logger?.warn(`stopping ${name} (pid ${pid}) left running by an earlier supervisor`);
      await stopProcess(pid, 'SIGTERM', 30_000);
      return 1;
    }),
  );
  return stopped.reduce<number>((a, b) => a + b, 0);
}

/** Whether a worker's last log lines hold V8's fatal out-of-heap message. */
export function ranOutOfHeap(logTail: string): boolean {
  return /JavaScript heap out of memory|Reached heap limit/.test(logTail);
}

function lastLine(file: string): string {
  return tailFile(file, 5).split('\n').map((l) => l.trim()).filter(Boolean).at(-1) ?? '';
}

/**
 * Reads the processor group's lag, records still to read (a transactional partition's marker left
 * out), through one admin client for the supervisor's life rather than one per sample.
 */
function processorLagReader(config: Config): { read(): Promise<number>; close(): Promise<void> } {
  let admin: KafkaAdmin | undefined;
  return {
    async read() {
      const { createKafkaAdmin } = await import('../clients/kafka.ts');
      admin ??= createKafkaAdmin(config.kafka, 'supervisor-lag', { retries: 1 });
      return Number(lagToRead(await admin.groupLag(config.processor.groupId)));
    },
    close: async () => admin?.close().catch(() => undefined),
  };
}

/**
 * The wait before restarting a worker that exited on its own, by its failures in a row: the first
 * at once (a healthy worker's crash should cost only its recovery: the demo's SIGKILL read ~3 s
 * when it waited 1 s here), then 1, 2, 4 ... up to 30 s for one that keeps failing.
 */
export function restartDelayMs(attempt: number): number {
  return attempt <= 1 ? FIRST_RESTART_DELAY_MS : Math.min(30_000, 1_000 * 2 ** (attempt - 2));
}

const FIRST_RESTART_DELAY_MS = 100;

/** Scaling decisions and automatic restarts go to the audit log, like every other change; a warehouse that is down only costs the entry. */
async function audit(config: Config, command: string, detail: Readonly<Record<string, unknown>>, logger: Logger): Promise<void> {
  try {
    const { openStateStore } = await import('../state/state-store.ts');
    const { AuditLog } = await import('../state/audit-log.ts');
    const store = await openStateStore(config.warehouse);
    try {
      await new AuditLog(store.pool).append({ actor: 'supervisor', command, target: config.processor.groupId, outcome: 'succeeded', detail });
    } finally {
      await store.close();
    }
  } catch (error) {
    logger.warn(`${command} not written to the audit log: ${error instanceof Error ? error.message : String(error)}`);
  }
}
