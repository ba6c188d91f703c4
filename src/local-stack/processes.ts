import { spawn, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { sleep } from '../core/time.ts';

/** True when `pid` is alive and its command line mentions `marker` (guards against pid reuse). */
function isOurProcess(pid: number, marker: string): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
    return cmdline.includes(marker);
  } catch {
    return false;
  }
}

/** The pid recorded in `pidFile` when that process is still ours and alive. */
export function runningPid(pidFile: string, marker: string): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(pidFile, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number.parseInt(text.split('\n')[0] ?? '', 10);
  return Number.isInteger(pid) && pid > 0 && isOurProcess(pid, marker) ? pid : undefined;
}

export interface DetachedOptions {
  readonly command: string;
  readonly args: readonly string[];
  readonly logFile: string;
  readonly pidFile: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly uid?: number;
  readonly gid?: number;
}

/** Starts a long-lived process in its own session, output appended to its log, pid recorded. */
export function startDetached(options: DetachedOptions): number {
  const log = fs.openSync(options.logFile, 'a');
  const spawnOptions: SpawnOptions = {
    detached: true,
    stdio: ['ignore', log, log],
    env: options.env ?? process.env,
    ...(options.cwd ? { cwd: options.cwd } : {}),
    ...(options.uid !== undefined ? { uid: options.uid, gid: options.gid } : {}),
  };
  const child = spawn(options.command, [...options.args], spawnOptions);
  fs.closeSync(log);
  if (child.pid === undefined) throw new Error(`could not start ${options.command}`);
  child.unref();
  fs.writeFileSync(options.pidFile, `${child.pid}\n`);
  return child.pid;
}

/** Sends `signal`, then SIGKILL if the process outlives `graceMs`. Resolves once it is gone. */
export async function stopProcess(pid: number, signal: NodeJS.Signals = 'SIGTERM', graceMs = 20_000): Promise<void> {
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return;
    await sleep(100);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  while (isAlive(pid)) await sleep(50);
}

/** True while `pid` runs; a zombie (exited, not yet reaped by its parent) counts as gone. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie (exited, not yet reaped by its parent) counts as gone.
  try {
    return !/^\d+ \([^)]*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** True when nothing listens on 127.0.0.1:port (we can bind it ourselves). */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}


/** Polls `probe` until it resolves or `timeoutMs` passes; rethrows the last probe error on timeout. */
export async function waitFor<T>(probe: () => Promise<T>, timeoutMs: number, intervalMs = 250, stillAlive?: () => boolean): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      return await probe();
    } catch (error) {
      lastError = error;
    }
    if (stillAlive && !stillAlive()) throw new ExitedError(lastError);
    await sleep(intervalMs);
  }
  throw lastError ?? new Error('timed out');
}

/** The process being waited for exited before it became healthy. */
export class ExitedError extends Error {
  readonly lastProbeError: unknown;
  constructor(lastProbeError: unknown) {
    super('process exited');
    this.lastProbeError = lastProbeError;
  }
}

/** The last `lines` lines of a log file, for error messages and `dev logs`. */
export function tailFile(file: string, lines: number): string {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.split('\n').slice(-lines - 1).join('\n').trimEnd();
  } catch {
    return '';
  }
}
