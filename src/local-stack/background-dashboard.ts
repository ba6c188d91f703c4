import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config/schema.ts';
import type { StackPaths } from './paths.ts';
import { isPortFree, runningPid, startDetached, stopProcess, waitFor } from './processes.ts';

const ENTRY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/stream-migrate.js');
const MARKER = 'stream-migrate.js dashboard';

function dashboardDir(paths: StackPaths): string {
  return path.join(paths.root, 'dashboard');
}

/**
 * The dashboard the demo leaves running on the local stack (loopback only, no token), so its
 * last line can be a URL to open. Reused when it already runs; `dev down` stops it.
 */
export async function ensureDashboard(paths: StackPaths, config: Config, cwd: string, configFile: string | undefined): Promise<{ readonly url: string; readonly started: boolean } | { readonly unavailable: string }> {
  const dir = dashboardDir(paths);
  const pidFile = path.join(dir, 'dashboard.pid');
  const port = config.monitoring.dashboardPort;
  const url = `http://127.0.0.1:${port}/`;
  if (runningPid(pidFile, MARKER) !== undefined) return { url, started: false };
  if (!(await isPortFree(port))) return { unavailable: `port ${port} is taken (set monitoring.dashboardPort, or run \`stream-migrate dashboard --port N\`)` };
  fs.mkdirSync(dir, { recursive: true });
  const pid = startDetached({
    command: process.execPath,
    args: [ENTRY, 'dashboard', ...(configFile ? ['--config', configFile] : [])],
    logFile: path.join(dir, 'dashboard.log'),
    pidFile,
    cwd,
  });
  const alive = () => runningPid(pidFile, MARKER) === pid;
  try {
    await waitFor(async () => {
      if (!(await fetch(url, { signal: AbortSignal.timeout(1_000) })).ok) throw new Error('not serving yet');
    }, 30_000, 250, alive);
  } catch {
    return { unavailable: `the dashboard did not start; see ${path.join(dir, 'dashboard.log')}` };
  }
  return { url, started: true };
}

/** Stops the background dashboard; false when none ran. */
export async function stopDashboard(paths: StackPaths): Promise<boolean> {
  const pid = runningPid(path.join(dashboardDir(paths), 'dashboard.pid'), MARKER);
  if (pid === undefined) return false;
  await stopProcess(pid, 'SIGTERM', 10_000);
  return true;
}
