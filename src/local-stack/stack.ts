import fs from 'node:fs';
import path from 'node:path';
import { DependencyError, messageOf } from '../core/errors.ts';
import { formatDuration } from '../core/duration.ts';
import { withTimeout } from '../core/time.ts';
import { clickhouseService } from './clickhouse-service.ts';
import { connectService } from './connect-service.ts';
import { kafkaService } from './kafka-service.ts';
import type { ServiceName } from './paths.ts';
import { postgresService } from './postgres-service.ts';
import { schemaRegistryService } from './schema-registry-service.ts';
import { ExitedError, isPortFree, tailFile, waitFor } from './processes.ts';
import type { LocalService, ServiceContext } from './service.ts';
import { stopDashboard } from './background-dashboard.ts';
import { stopWorkers } from './workers.ts';

export interface ServiceStatus {
  readonly name: ServiceName;
  readonly healthy: boolean;
  readonly endpoint: string;
  readonly detail: string;
  readonly pid: number | null;
  readonly logFile: string;
}

export interface UpResult {
  readonly services: readonly (ServiceStatus & { readonly action: 'started' | 'already running'; readonly seconds: number })[];
  readonly seconds: number;
}

/** The five services in start order; Connect needs Kafka, the others start in parallel. */
export function localServices(ctx: ServiceContext): readonly LocalService[] {
  return [postgresService(ctx), kafkaService(ctx), connectService(ctx), clickhouseService(ctx), schemaRegistryService(ctx)];
}

/**
 * Installs what is missing, starts what is not running (independent services in parallel) and
 * waits until each answers its probe. Idempotent: running services keep their pids.
 */
export async function stackUp(ctx: ServiceContext, services = localServices(ctx)): Promise<UpResult> {
  const started = Date.now();
  fs.mkdirSync(ctx.paths.root, { recursive: true });
  for (const service of services) await service.install();

  const done = new Map<ServiceName, Promise<UpResult['services'][number]>>();
  const bring = (service: LocalService): Promise<UpResult['services'][number]> => {
    const existing = done.get(service.name);
    if (existing) return existing;
    const promise = (async () => {
      const deps = services.filter((s) => service.dependsOn.includes(s.name));
      await Promise.all(deps.map(bring));
      return bringUp(ctx, service);
    })();
    done.set(service.name, promise);
    return promise;
  };
  const results = await Promise.allSettled(services.map(bring));
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
  return {
    services: results.map((r) => (r as PromiseFulfilledResult<UpResult['services'][number]>).value),
    seconds: (Date.now() - started) / 1000,
  };
}

async function bringUp(ctx: ServiceContext, service: LocalService): Promise<UpResult['services'][number]> {
  const t0 = Date.now();
  const logFile = ctx.paths.logFile(service.name);
  let pid = service.pid();
  let action: 'started' | 'already running' = 'already running';
  if (pid === undefined) {
    for (const claim of service.ports) {
      if (!(await isPortFree(claim.port))) {
        throw new DependencyError(
          `${service.name}: port ${claim.port} on 127.0.0.1 is taken by another process; free it or set ${claim.key} in stream-migrate.yaml`,
          { retriable: false, details: { service: service.name, port: claim.port, key: claim.key } },
        );
      }
    }
    fs.mkdirSync(ctx.paths.serviceDir(service.name), { recursive: true });
    ctx.logger.info(`${service.name}: starting`);
    pid = await service.start();
    action = 'started';
  }
  const startedPid = pid;
  let detail: string;
  try {
    detail = await waitFor(() => service.probe(), service.startTimeoutMs, 250, () => service.pid() === startedPid);
  } catch (error) {
    const why = error instanceof ExitedError ? `exited during start-up (${messageOf(error.lastProbeError)})` : `did not become healthy in ${formatDuration(service.startTimeoutMs)} (${messageOf(error)})`;
    const lastLine = tailFile(logFile, 40).split('\n').reverse().find((l) => /error|exception|fatal/i.test(l));
    throw new DependencyError(`${service.name} ${why}${lastLine ? `: ${lastLine.trim().slice(0, 300)}` : ''}; see ${logFile}`, {
      details: { service: service.name, logFile },
      cause: error,
    });
  }
  await service.afterHealthy?.();
  const seconds = (Date.now() - t0) / 1000;
  ctx.logger.info(`${service.name}: ${action === 'started' ? `healthy in ${seconds.toFixed(1)}s` : 'already running'} at ${service.endpoint} (pid ${startedPid})`);
  return { name: service.name, healthy: true, endpoint: service.endpoint, detail, pid: startedPid, logFile, action, seconds };
}

/** Stops the processes this stack started (by recorded pid), Connect before Kafka. */
export async function stackDown(ctx: ServiceContext, options: { readonly purge: boolean }, services = localServices(ctx)): Promise<readonly { name: ServiceName; stopped: boolean }[]> {
  const results: { name: ServiceName; stopped: boolean }[] = [];
  // Workers first: they would otherwise log errors, and restart, as their services go away.
  if (await stopWorkers(ctx.paths, '`dev down`')) ctx.logger.info('workers: stopped');
  if (await stopDashboard(ctx.paths)) ctx.logger.info('dashboard: stopped');
  for (const service of [...services].reverse()) {
    const pid = service.pid();
    if (pid !== undefined) {
      ctx.logger.info(`${service.name}: stopping (pid ${pid})`);
      await service.stop();
    }
    results.push({ name: service.name, stopped: pid !== undefined });
  }
  if (options.purge) {
    // The PostgreSQL cluster may live elsewhere behind a symlink (a working directory its user cannot enter).
    const pgData = ctx.paths.dataDir('postgres');
    if (fs.existsSync(pgData) && fs.lstatSync(pgData).isSymbolicLink()) fs.rmSync(path.dirname(fs.realpathSync(pgData)), { recursive: true, force: true });
    fs.rmSync(ctx.paths.root, { recursive: true, force: true });
  }
  return results.reverse();
}

/** Probes each service for real; a stopped or unhealthy service is reported, never thrown. */
export async function stackStatus(ctx: ServiceContext, services = localServices(ctx)): Promise<readonly ServiceStatus[]> {
  return Promise.all(
    services.map(async (service): Promise<ServiceStatus> => {
      const pid = service.pid() ?? null;
      const base = { name: service.name, endpoint: service.endpoint, pid, logFile: ctx.paths.logFile(service.name) };
      try {
        const detail = await withTimeout(service.probe(), 10_000);
        return { ...base, healthy: true, detail: pid === null ? `${detail} (not started by this stack)` : detail };
      } catch (error) {
        const detail = pid === null ? 'not running; start it with `stream-migrate dev up`' : `process ${pid} running but unhealthy: ${messageOf(error)}`;
        return { ...base, healthy: false, detail };
      }
    }),
  );
}

