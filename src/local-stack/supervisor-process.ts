import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runningPid } from './processes.ts';

/**
 * The worker supervisor as a process: how it is started, how at most one runs per stack, how an
 * intentional stop is recorded, and how a worker whose supervisor died starts the next one.
 *
 * Recovery after a SIGKILL: every supervised worker watches its parent; when the parent is gone
 * and nobody stopped the workers on purpose, the first worker to claim the dead supervisor's pid
 * starts a new detached supervisor (same working directory, same configuration file), then stops
 * itself. The new supervisor stops whatever workers are still running and starts the desired set.
 * Three guards keep it to one supervisor: a live supervisor is never replaced, one claim file per
 * dead pid lets one worker act, and the supervisor holds a kernel lock for its life (an abstract
 * Unix socket, released even on SIGKILL), so a second one exits at once.
 */

// The JS entry, run with `process.execPath` (the pinned runtime bin/stream-migrate started this
// process on), so a pid file names the process itself, not a launcher in front of it.
export const ENTRY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/stream-migrate.js');

const SUPERVISOR_MARKER = 'workers supervise';

/** Tells a worker which supervisor started it, so it notices when that supervisor is gone. */
export const SUPERVISOR_PID_ENV = 'STREAM_MIGRATE_SUPERVISOR_PID';
/** The supervisor's directory (pid files, desired state), so a worker can start the next supervisor. */
export const WORKERS_DIR_ENV = 'STREAM_MIGRATE_WORKERS_DIR';
/** The worker's name (`processor-w1`), recorded as the one that restarted the supervisor. */
export const WORKER_NAME_ENV = 'STREAM_MIGRATE_WORKER_NAME';
/** Set on a supervisor that a worker started: a JSON `Respawn` (which pid was gone, who noticed). */
export const RESPAWN_ENV = 'STREAM_MIGRATE_SUPERVISOR_RESPAWN';

/** Automatic restarts allowed within RESPAWN_WINDOW_MS; past that a human looks (a supervisor that keeps dying). */
export const MAX_RESPAWNS = 5;
export const RESPAWN_WINDOW_MS = 10 * 60_000;

/** Why the workers were stopped on purpose; while this is recorded nothing restarts them on its own. */
export interface StopRecord {
  readonly at: string;
  readonly by: string;
}

/** One automatic restart of the supervisor, as the new supervisor recorded it. */
export interface RestartRecord {
  readonly at: string;
  /** The supervisor that was gone. */
  readonly previousPid: number;
  /** The new supervisor. */
  readonly pid: number;
  /** The worker that noticed and started it. */
  readonly by: string;
}

/** What a worker passes to the supervisor it starts. */
export interface Respawn {
  readonly previousPid: number;
  readonly by: string;
}

const files = (dir: string) => ({
  pid: path.join(dir, 'supervisor.pid'),
  log: path.join(dir, 'supervisor.log'),
  desired: path.join(dir, 'desired.json'),
  stopped: path.join(dir, 'stopped.json'),
  restarts: path.join(dir, 'supervisor-restarts.jsonl'),
  refused: path.join(dir, 'respawn-refused.json'),
  claim: (deadPid: number) => path.join(dir, `respawn-${deadPid}.claim`),
});

/** The supervisor's pid when it runs (its pid file names a live `workers supervise` process). */
export function supervisorPidIn(dir: string): number | undefined {
  return runningPid(files(dir).pid, SUPERVISOR_MARKER);
}

/** Written by the supervisor itself once it holds the lock, so the file never names a loser. */
export function writeSupervisorPid(dir: string): void {
  fs.writeFileSync(files(dir).pid, `${process.pid}\n`);
}

/** When the running supervisor started (its pid file's time). */
export function supervisorStartedAt(dir: string): Date | null {
  return fs.statSync(files(dir).pid, { throwIfNoEntry: false })?.mtime ?? null;
}

/**
 * Starts `workers supervise` detached (its own session, so it outlives the caller) in `cwd`,
 * output appended to supervisor.log. Returns the spawned pid; that process may still find
 * another supervisor holding the lock and exit.
 */
export function spawnSupervisor(dir: string, configFile: string | undefined, cwd: string, respawn?: Respawn): number {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // A worker starting it must not pass on what describes the worker.
  for (const key of [SUPERVISOR_PID_ENV, WORKERS_DIR_ENV, WORKER_NAME_ENV, RESPAWN_ENV]) delete env[key];
  if (respawn) env[RESPAWN_ENV] = JSON.stringify(respawn);
  const log = fs.openSync(files(dir).log, 'a');
  const child = spawn(process.execPath, [ENTRY, 'workers', 'supervise', ...(configFile ? ['--config', configFile] : [])], { detached: true, stdio: ['ignore', log, log], cwd, env });
  fs.closeSync(log);
  if (child.pid === undefined) throw new Error('could not start the worker supervisor');
  child.unref();
  return child.pid;
}

/**
 * The supervisor's lock for its whole life: an abstract Unix socket named after the stack's
 * workers directory. The kernel frees it when the process ends, even by SIGKILL, so there is no
 * stale lock to judge. Undefined when another supervisor of this directory holds it.
 */
export function claimSupervisorLock(dir: string): Promise<net.Server | undefined> {
  const id = crypto.createHash('sha256').update(fs.realpathSync(dir)).digest('hex').slice(0, 32);
  return new Promise((resolve, reject) => {
    const server = net.createServer((socket) => socket.destroy());
    server.once('error', (error: NodeJS.ErrnoException) => (error.code === 'EADDRINUSE' ? resolve(undefined) : reject(error)));
    server.listen({ path: `\0stream-migrate-supervisor-${id}` }, () => resolve(server));
  });
}

export function readStop(dir: string): StopRecord | undefined {
  return readJson<StopRecord>(files(dir).stopped);
}

/** Records an intentional stop (the first reason is kept: `dev down` rather than the SIGTERM it sends). */
export function recordStop(dir: string, by: string, now = new Date()): void {
  if (readStop(dir)) return;
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(files(dir).stopped, JSON.stringify({ at: now.toISOString(), by } satisfies StopRecord) + '\n');
}

/** A start asked for by a human (`phase run processing`): an earlier stop or refusal no longer holds. */
export function clearStop(dir: string): void {
  fs.rmSync(files(dir).stopped, { force: true });
  fs.rmSync(files(dir).refused, { force: true });
}

export function readRestarts(dir: string): readonly RestartRecord[] {
  let text: string;
  try {
    text = fs.readFileSync(files(dir).restarts, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').flatMap((line) => {
    try {
      return line.trim() ? [JSON.parse(line) as RestartRecord] : [];
    } catch {
      return [];
    }
  });
}

export function appendRestart(dir: string, record: RestartRecord): void {
  fs.appendFileSync(files(dir).restarts, JSON.stringify(record) + '\n');
}

/** Why the last automatic restart was refused (too many); cleared by the next `phase run processing`. */
export function readRefusal(dir: string): StopRecord | undefined {
  return readJson<StopRecord>(files(dir).refused);
}

/** The respawn a supervisor was started for, when a worker started it. */
export function respawnOf(env: NodeJS.ProcessEnv): Respawn | undefined {
  const text = env[RESPAWN_ENV];
  if (!text) return undefined;
  try {
    const value = JSON.parse(text) as Partial<Respawn>;
    return typeof value.previousPid === 'number' && typeof value.by === 'string' ? { previousPid: value.previousPid, by: value.by } : undefined;
  } catch {
    return undefined;
  }
}

/** Claim files of incidents long past (a pid can come round again). */
export function removeOldClaims(dir: string, olderThanMs = 60_000, now = Date.now()): void {
  for (const file of fs.readdirSync(dir).filter((f) => /^respawn-\d+\.claim$/.test(f))) {
    const full = path.join(dir, file);
    const mtime = fs.statSync(full, { throwIfNoEntry: false })?.mtimeMs;
    if (mtime !== undefined && now - mtime > olderThanMs) fs.rmSync(full, { force: true });
  }
}

export type RespawnVerdict =
  | { readonly action: 'respawn' }
  | { readonly action: 'stopped'; readonly stop: StopRecord }
  | { readonly action: 'running'; readonly pid: number }
  | { readonly action: 'refused'; readonly reason: string };

/**
 * Whether a worker that found its supervisor gone should start a new one: not when the workers
 * were stopped on purpose, not when another supervisor runs already, and not after MAX_RESPAWNS
 * restarts within RESPAWN_WINDOW_MS (a supervisor that keeps dying needs a human).
 */
export function respawnVerdict(state: { readonly stop: StopRecord | undefined; readonly livePid: number | undefined; readonly restarts: readonly RestartRecord[]; readonly nowMs: number }): RespawnVerdict {
  if (state.stop) return { action: 'stopped', stop: state.stop };
  if (state.livePid !== undefined) return { action: 'running', pid: state.livePid };
  const recent = state.restarts.filter((r) => state.nowMs - Date.parse(r.at) < RESPAWN_WINDOW_MS);
  if (recent.length >= MAX_RESPAWNS) {
    return { action: 'refused', reason: `the supervisor was restarted on its own ${recent.length} times in the last ${RESPAWN_WINDOW_MS / 60_000} minutes (last: pid ${recent.at(-1)!.previousPid} gone); not again without a human` };
  }
  return { action: 'respawn' };
}

/** What a worker did about its gone supervisor: started one, or why not (`claimed`: another worker did). */
export type RespawnOutcome = Exclude<RespawnVerdict, { readonly action: 'respawn' }> | { readonly action: 'respawned'; readonly pid: number } | { readonly action: 'claimed' };

/**
 * Called by a worker whose supervisor `deadPid` is gone: starts the next supervisor unless the
 * verdict says otherwise or another worker of the same supervisor claimed the job first.
 */
export function respawnSupervisor(dir: string, deadPid: number, by: string, cwd = process.cwd(), now = new Date()): RespawnOutcome {
  const state = () => ({ stop: readStop(dir), livePid: supervisorPidIn(dir), restarts: readRestarts(dir), nowMs: now.getTime() });
  const first = respawnVerdict(state());
  // A refusal is decided under the claim too, so one worker records it.
  if (first.action === 'stopped' || first.action === 'running') return first;
  try {
    // O_EXCL: of all the workers of the dead supervisor, exactly one gets past this line.
    fs.closeSync(fs.openSync(files(dir).claim(deadPid), 'wx'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return { action: 'claimed' };
    throw error;
  }
  // Looked at again under the claim: a stop or a start may have come in between.
  const verdict = respawnVerdict(state());
  if (verdict.action === 'refused') fs.writeFileSync(files(dir).refused, JSON.stringify({ at: now.toISOString(), by: verdict.reason } satisfies StopRecord) + '\n');
  if (verdict.action !== 'respawn') return verdict;
  const configFile = readJson<{ readonly configFile?: string }>(files(dir).desired)?.configFile;
  return { action: 'respawned', pid: spawnSupervisor(dir, configFile, cwd, { previousPid: deadPid, by }) };
}

/** Waits for the supervisor's own pid file to name a live supervisor (it writes it once it holds the lock). */
export async function awaitSupervisor(dir: string, timeoutMs: number): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pid = supervisorPidIn(dir);
    if (pid !== undefined || Date.now() > deadline) return pid;
    await new Promise((r) => setTimeout(r, 100));
  }
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}
