import { randomInt as cryptoRandomInt } from 'node:crypto';
import type { Command } from 'commander';
import { createPostgresPool, unreachable } from '../clients/postgres.ts';
import { parseDuration } from '../core/duration.ts';
import { isRetriable, messageOf, UsageError } from '../core/errors.ts';
import { loadCatalogue, runLoad, type LoadCounts, type LoadReport } from '../source/load-generator.ts';
import { isLocalStackPostgres } from '../local-stack/local-target.ts';
import { ensureDemoSchema } from '../source/demo-schema.ts';
import { mulberry32 } from '../source/random.ts';
import { seedDemoSource, type SeedResult } from '../source/seed.ts';
import type { CommandContext, CommandResult } from './context.ts';
import type { Register } from './registry.ts';

export interface LoadOptions {
  readonly rate: string;
  readonly duration: string;
  readonly customers: string;
  readonly seed?: string;
  readonly allowRemote?: boolean;
}

/** The `load --json` contract; the window is what a later `batch run` processes. */
export interface LoadSummary {
  readonly requestedRate: number;
  /** Seconds actually run (the achieved rates divide by this). */
  readonly durationSeconds: number;
  readonly requestedDurationSeconds: number;
  readonly orders: { readonly inserted: number; readonly updated: number; readonly cancelled: number; readonly deleted: number; readonly moved: number };
  readonly tierChanges: number;
  readonly achievedOrdersPerSecond: number;
  readonly changesPerSecond: number;
  readonly window: { readonly from: string; readonly to: string } | null;
  readonly interrupted: boolean;
  readonly seed: number;
  readonly seeded: SeedResult;
  readonly connections: number;
  readonly batchSize: number;
}

const DEMO_PRODUCTS = 200;
const CONNECTIONS = 4;

/**
 * Generates the demo workload against the source database: creates the demo tables when missing,
 * seeds customers and products when empty, then inserts orders at `--rate` per second for
 * `--duration` with updates, cancellations, deletes and tier changes mixed in. Ctrl-C stops early
 * and still reports what was done.
 */
export async function load(options: LoadOptions, ctx: CommandContext): Promise<CommandResult<LoadSummary>> {
  const rate = Number(options.rate);
  if (!Number.isFinite(rate) || rate <= 0) throw new UsageError(`--rate ${options.rate}: expected a positive number of orders per second`);
  const durationMs = parseDuration(options.duration);
  if (durationMs === undefined || durationMs <= 0) throw new UsageError(`--duration ${options.duration}: expected a duration such as 30s, 5m or 1h`);
  const customers = Number(options.customers);
  if (!Number.isInteger(customers) || customers < 1) throw new UsageError(`--customers ${options.customers}: expected a positive whole number`);
  const seed = options.seed === undefined ? cryptoRandomInt(2 ** 31) : Number(options.seed);
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) throw new UsageError(`--seed ${options.seed}: expected a whole number from 0 to 4294967295`);

  const target = ctx.loaded().config.source;
  // A workload generator writes, updates and deletes rows: never against a real database by accident.
  if (!isLocalStackPostgres(target.url, ctx.loaded().config) && !options.allowRemote) {
    throw new UsageError('source is not the local stack: load would write, update and delete rows there; pass --allow-remote if that is really what you want');
  }
  await ensureDemoSchema(target);
  const pool = createPostgresPool(target, CONNECTIONS, 'stream-migrate-load');
  const abort = new AbortController();
  const onSignal = (): void => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const random = mulberry32(seed);
    const seeded = await seedDemoSource(pool, { customers, products: DEMO_PRODUCTS, random });
    if (seeded.customers + seeded.products > 0) ctx.logger.info(`seeded the source with ${seeded.customers} customers and ${seeded.products} products`);
    const catalogue = await loadCatalogue(pool);
    const showProgress = Boolean(process.stderr.isTTY) && !ctx.json;
    const report = await runLoad(pool, catalogue, {
      ratePerSecond: rate,
      durationMs,
      random,
      connections: CONNECTIONS,
      signal: abort.signal,
      ...(showProgress ? { onProgress: (p) => ctx.logger.info(progressLine(p.elapsedMs, p.counts)) } : {}),
    });
    const summary = summarize(report, { rate, durationMs, seed, seeded });
    return { data: summary, text: renderSummary(summary) };
  } catch (error) {
    throw isConnectionFailure(error) ? unreachable(target, 'source', error) : error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await pool.end().catch(() => undefined);
  }
}

function isConnectionFailure(error: unknown): boolean {
  return isRetriable(error) || /Connection terminated|connection timeout|terminating connection/i.test(messageOf(error));
}

function summarize(report: LoadReport, asked: { rate: number; durationMs: number; seed: number; seeded: SeedResult }): LoadSummary {
  const seconds = report.elapsedMs / 1_000;
  const c = report.counts;
  const changes = c.inserted + c.updated + c.cancelled + c.deleted + c.tierChanges + c.moved;
  return {
    requestedRate: asked.rate,
    durationSeconds: round(seconds, 3),
    requestedDurationSeconds: asked.durationMs / 1_000,
    orders: { inserted: c.inserted, updated: c.updated, cancelled: c.cancelled, deleted: c.deleted, moved: c.moved },
    tierChanges: c.tierChanges,
    achievedOrdersPerSecond: seconds > 0 ? round(c.inserted / seconds, 1) : 0,
    changesPerSecond: seconds > 0 ? round(changes / seconds, 1) : 0,
    window: report.window ? { from: report.window.from.toISOString(), to: report.window.to.toISOString() } : null,
    interrupted: report.interrupted,
    seed: asked.seed,
    seeded: asked.seeded,
    connections: report.connections,
    batchSize: report.batchSize,
  };
}

function round(value: number, places: number): number {
  const factor = 10 ** places;
  return Math.round(value * factor) / factor;
}

/** 60000 → "60 000": the thin grouping a person reads at a glance in a progress line. */
function grouped(value: number): string {
  return Math.round(value).toLocaleString('en-US').replace(/,/g, ' ');
}

function progressLine(elapsedMs: number, c: LoadCounts): string {
  const seconds = elapsedMs / 1_000;
  const perSecond = seconds > 0 ? c.inserted / seconds : 0;
  return `${Math.round(seconds)}s  inserted ${grouped(c.inserted)} orders  ${grouped(perSecond)}/s  updates ${grouped(c.updated)}  cancels ${grouped(c.cancelled)}  deletes ${grouped(c.deleted)}  moves ${grouped(c.moved)}  tier changes ${grouped(c.tierChanges)}`;
}

function renderSummary(s: LoadSummary): string {
  const lines = [
    `load ${s.interrupted ? 'interrupted after' : 'ran'} ${s.durationSeconds.toFixed(1)}s at a requested ${grouped(s.requestedRate)} orders/s (seed ${s.seed}, ${s.connections} connections, batches of ${s.batchSize})`,
    `orders     inserted ${grouped(s.orders.inserted)}  updated ${grouped(s.orders.updated)}  cancelled ${grouped(s.orders.cancelled)}  deleted ${grouped(s.orders.deleted)}  moved to another customer ${grouped(s.orders.moved)}`,
    `customers  tier changes ${grouped(s.tierChanges)}`,
    `achieved   ${grouped(s.achievedOrdersPerSecond)} orders/s, ${grouped(s.changesPerSecond)} changes/s`,
    s.window ? `window     ${s.window.from} .. ${s.window.to}` : 'window     no orders inserted',
  ];
  if (s.seeded.customers + s.seeded.products > 0) lines.unshift(`seeded     ${grouped(s.seeded.customers)} customers, ${grouped(s.seeded.products)} products`);
  return lines.join('\n');
}

export const registerLoad: Register = (program: Command, action) => {
  program
    .command('load')
    .description('workload generator against the source database: new orders at --rate per second, with updates, cancels, deletes and tier changes')
    .requiredOption('--rate <n>', 'new orders per second')
    .requiredOption('--duration <d>', 'how long to run, e.g. 30s, 5m')
    .option('--customers <n>', 'customers to seed when the customers table is empty', '1000')
    .option('--allow-remote', 'allow writing to a source database that is not the local stack', false)
    .option('--seed <n>', 'seed of the generator, for a reproducible workload (default: random, reported)')
    .action(action(load));
};
