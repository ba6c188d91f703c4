import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { loadConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { isPlainObject } from '../config/secrets.ts';
import type { Logger } from '../core/logger.ts';
import { sleep } from '../core/time.ts';
import type { Random } from '../source/random.ts';
import type { CatalogueCustomer, CatalogueProduct } from '../source/workload.ts';
import { PartnerApi } from '../sources/partner-api-server.ts';
import { ExternalOrderBook, externalIdBase, type ExternalOrderRecord } from './external-order-book.ts';

/**
 * The demo's two order sources besides PostgreSQL: a partner API (a real HTTP server in the demo's
 * process standing in for the partner's system: paged, rate-limited, an occasional 500) and a
 * directory the point-of-sale system drops CSV and JSON Lines files into. Both are declared in a
 * configuration of the demo's own (the user's file plus `sources`), which the phases, the
 * supervised workers, the batch and validation all read, so the user's file is never edited.
 */

export const PARTNER_SOURCE = 'partner';
export const STORE_SOURCE = 'store';
/** Requests per second the partner API answers before it says 429, and every how many a 500 comes. */
const PARTNER_RATE_PER_SECOND = 3;
const PARTNER_FAIL_EVERY = 7;
const CSV_HEADER = 'order_id,customer_id,product_id,quantity,amount,status,created_at';

/** Where the demo keeps its channels: under the stack's directory, so `dev down` and a fresh dir start clean alike. */
export interface DemoChannelPaths {
  readonly dir: string;
  readonly storeDir: string;
  /** The partner API's port and cursor base, kept so a re-run serves the same cursors. */
  readonly partnerState: string;
  /** Every change the partner API ever served, one JSON per line: the partner's own system of record. */
  readonly partnerChanges: string;
}

export function demoChannelPaths(config: Config, cwd: string): DemoChannelPaths {
  const dir = path.resolve(cwd, config.dev.dir, 'demo');
  return { dir, storeDir: path.join(dir, 'store-drops'), partnerState: path.join(dir, 'partner-api.json'), partnerChanges: path.join(dir, 'partner-changes.jsonl') };
}

export interface DemoChannels {
  readonly config: Config;
  /** The demo's configuration file: the phases hand it to the supervised workers. */
  readonly configFile: string;
  readonly partner: PartnerApi;
  readonly partnerUrl: string;
  readonly paths: DemoChannelPaths;
  /** Changes the partner API held from earlier runs (it serves them again, as the partner's system would). */
  readonly partnerHistory: number;
  stop(): Promise<void>;
}

/**
 * The partner API's port: the one after the dashboard's, so each stack (the user's, the tests')
 * has its own, and outside the kernel's ephemeral range (32768-60999 on Linux). The source worker
 * outlives the demo and keeps polling this port; an ephemeral port, once the demo had ended, could
 * be handed to any other process (a test's HTTP server answered it 404, and the worker exited).
 */
export function demoPartnerPort(config: Pick<Config, 'monitoring'>): number {
  const dashboard = config.monitoring.dashboardPort;
  return dashboard > 0 && dashboard < 65_535 ? dashboard + 1 : 0;
}

/**
 * Starts the partner API (on the demo's own port when it is free, with the earlier
 * runs' changes, so the partner worker's committed cursor stays valid and the nightly read sees
 * every day it covers) and writes the demo's configuration with both sources.
 */
export async function openDemoChannels(userFile: string | undefined, cwd: string, userConfig: Config, logger: Logger): Promise<DemoChannels> {
  const paths = demoChannelPaths(userConfig, cwd);
  fs.mkdirSync(paths.storeDir, { recursive: true });
  const saved = readPartnerState(paths.partnerState);
  const cursorBase = saved?.cursorBase ?? Date.now();
  const history = readHistory(paths.partnerChanges);
  const start = async (port: number): Promise<{ api: PartnerApi; port: number }> => {
    const api = new PartnerApi({ port, ratePerSecond: PARTNER_RATE_PER_SECOND, failEvery: PARTNER_FAIL_EVERY, cursorBase });
    for (const change of history) api.change(change);
    return { api, port: await api.start() };
  };
  const port = demoPartnerPort(userConfig);
  let started: { api: PartnerApi; port: number };
  try {
    started = await start(port);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port === 0) throw error;
    logger.info(`partner API port ${port} is taken; using another (the source workers restart with the new URL)`);
    started = await start(0);
  }
  fs.writeFileSync(paths.partnerState, JSON.stringify({ port: started.port, cursorBase }) + '\n');
  const partnerUrl = `http://127.0.0.1:${started.port}/orders`;
  const configFile = writeDemoConfig(userFile, paths, partnerUrl);
  const { config } = loadConfig({ cwd, explicitPath: configFile });
  return { config, configFile, partner: started.api, partnerUrl, paths, partnerHistory: history.length, stop: () => started.api.stop() };
}

/**
 * The user's configuration file as written (secret references stay references) with `sources`
 * replaced by the demo's two, in a file named by its content: when the content changes (another
 * port), the path does too, and the processing phase restarts the workers with it.
 */
export function writeDemoConfig(userFile: string | undefined, paths: DemoChannelPaths, partnerUrl: string): string {
  const document: unknown = userFile === undefined ? {} : (parseYaml(fs.readFileSync(userFile, 'utf8')) ?? {});
  const base = isPlainObject(document) ? document : {};
  const text = [
    '# Written by `stream-migrate demo`: your stream-migrate.yaml plus the demo\'s partner API and store',
    '# file directory (sources). The demo\'s phases and workers read it; your file is not changed.',
    stringifyYaml({
      ...base,
      sources: {
        http: [{ name: PARTNER_SOURCE, url: partnerUrl, pageSize: 100, pollInterval: '1s' }],
        files: [{ name: STORE_SOURCE, directory: paths.storeDir, pollInterval: '500ms', settle: '1s', batchLines: 200 }],
      },
    }),
  ].join('\n');
  const file = path.join(paths.dir, `stream-migrate.demo-${createHash('sha256').update(text).digest('hex').slice(0, 10)}.yaml`);
  if (!fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== text) fs.writeFileSync(file, text);
  return file;
}

export interface ChannelLoadRequest {
  readonly ratePerSecond: number;
  readonly durationMs: number;
  readonly random: Random;
  readonly catalogue: { readonly customers: readonly CatalogueCustomer[]; readonly products: readonly CatalogueProduct[] };
}

/** What one external channel sent during the load, and what the stream must end up holding of it. */
export interface ChannelLoadFigure {
  readonly created: number;
  readonly corrected: number;
  readonly cancelled: number;
  /** This run's own ids of the channel, [from, to) (the output key adds the channel's base). */
  readonly idRange: { readonly from: number; readonly to: number };
  /** The last version of each of this run's orders that is not cancelled: rows, and their quantities summed. */
  readonly live: { readonly orders: number; readonly quantity: number };
}

export interface ChannelLoadReport {
  readonly partner: ChannelLoadFigure & { readonly changes: number };
  readonly store: ChannelLoadFigure & {
    readonly files: readonly string[];
    readonly lines: number;
    /** The last file: it corrects an order of the first file and cancels one of the second. */
    readonly correctingFile: string | null;
    readonly correctedOrderId: number | null;
    readonly cancelledOrderId: number | null;
  };
}

const TICK_MS = 250;

/**
 * The partner and store orders of a demo run, alongside the PostgreSQL workload: partner changes
 * appear in the API as they happen (about one new order per 40 web orders, some corrected or
 * cancelled later); store orders (one per 20 web orders) are written a file at a time, about
 * every fifth of the run, alternating CSV and JSON Lines, each written aside and renamed into
 * place once complete. The last file, written as the load ends, corrects an order of the first
 * file and cancels one of the second: a late correction.
 */
export async function runChannelLoad(channels: DemoChannels, request: ChannelLoadRequest): Promise<ChannelLoadReport> {
  const base = externalIdBase(Date.now());
  const partnerBook = new ExternalOrderBook(request.catalogue, request.random, base);
  const storeBook = new ExternalOrderBook(request.catalogue, request.random, base);
  const partnerRate = Math.max(1, request.ratePerSecond / 40);
  const storeRate = Math.max(1, request.ratePerSecond / 20);
  const fileEveryMs = Math.max(5_000, request.durationMs / 5);
  const partner = { changes: 0, created: 0, corrected: 0, cancelled: 0 };
  const store = { created: 0, corrected: 0, cancelled: 0, lines: 0, files: [] as string[] };
  const fileOrders: number[][] = [];
  let pending: ExternalOrderRecord[] = [];
  let partnerDue = 0;
  let storeDue = 0;
  const started = Date.now();
  let lastFileAt = started;
  const writeFile = (records: readonly ExternalOrderRecord[]) => {
    const name = storeFileName(Date.now(), store.files.length);
    writeStoreFile(channels.paths.storeDir, name, records);
    store.files.push(name);
    store.lines += records.length;
    fileOrders.push(records.map((r) => r.order_id));
  };
  const serve = (records: readonly (ExternalOrderRecord | undefined)[]) => {
    const served = records.filter((r): r is ExternalOrderRecord => r !== undefined);
    if (served.length === 0) return;
    fs.appendFileSync(channels.paths.partnerChanges, served.map((r) => JSON.stringify(r) + '\n').join(''));
    for (const r of served) channels.partner.change(r);
    partner.changes += served.length;
  };
  while (Date.now() - started < request.durationMs) {
    await sleep(TICK_MS);
    partnerDue += (partnerRate * TICK_MS) / 1000;
    storeDue += (storeRate * TICK_MS) / 1000;
    const now = Date.now();
    const changes: (ExternalOrderRecord | undefined)[] = [];
    for (; partnerDue >= 1; partnerDue--) {
      const roll = request.random();
      const change = roll < 0.85 ? partnerBook.create(now) : roll < 0.95 ? partnerBook.correct() : partnerBook.cancel();
      if (change) partner[roll < 0.85 ? 'created' : roll < 0.95 ? 'corrected' : 'cancelled']++;
      changes.push(change);
    }
    serve(changes);
    for (; storeDue >= 1; storeDue--) {
      const order = storeBook.create(now);
      if (order) {
        pending.push(order);
        store.created++;
      }
    }
    if (now - lastFileAt >= fileEveryMs && pending.length > 0) {
      writeFile(pending);
      pending = [];
      lastFileAt = now;
    }
  }
  // The late file: what is left, a correction of the first file's first order, and a cancellation of the second's.
  const correctedOrderId = fileOrders[0]?.[0] ?? null;
  const cancelledOrderId = fileOrders[1]?.[0] ?? null;
  const correction = correctedOrderId === null ? undefined : storeBook.correct(correctedOrderId);
  const cancellation = cancelledOrderId === null ? undefined : storeBook.cancel(cancelledOrderId);
  if (correction) store.corrected++;
  if (cancellation) store.cancelled++;
  const late = [...pending, ...(correction ? [correction] : []), ...(cancellation ? [cancellation] : [])];
  if (late.length > 0) writeFile(late);
  return {
    partner: { ...partner, idRange: partnerBook.idRange, live: partnerBook.live() },
    store: {
      ...store,
      idRange: storeBook.idRange,
      live: storeBook.live(),
      correctingFile: correction || cancellation ? store.files.at(-1)! : null,
      correctedOrderId: correction ? correctedOrderId : null,
      cancelledOrderId: cancellation ? cancelledOrderId : null,
    },
  };
}

/** Point-of-sale files are named by time (so name order is arrival order) and never reuse a name. */
export function storeFileName(nowMs: number, index: number): string {
  const stamp = new Date(nowMs).toISOString().replace(/[-:.]/g, '');
  return `pos-${stamp}-${String(index + 1).padStart(3, '0')}.${index % 2 === 0 ? 'csv' : 'jsonl'}`;
}

/** Written aside and renamed into place, so the source never sees half a file. */
function writeStoreFile(directory: string, name: string, records: readonly ExternalOrderRecord[]): void {
  const lines = name.endsWith('.csv')
    ? [CSV_HEADER, ...records.map((r) => [r.order_id, r.customer_id, r.product_id, r.quantity, r.amount, r.status, r.created_at].join(','))]
    : records.map((r) => JSON.stringify(r));
  const file = path.join(directory, name);
  fs.writeFileSync(`${file}.part`, lines.join('\n') + '\n');
  fs.renameSync(`${file}.part`, file);
}

function readPartnerState(file: string): { readonly port: number; readonly cursorBase: number } | undefined {
  try {
    const value: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    const port: unknown = isPlainObject(value) ? value.port : undefined;
    const cursorBase: unknown = isPlainObject(value) ? value.cursorBase : undefined;
    return typeof port === 'number' && typeof cursorBase === 'number' ? { port, cursorBase } : undefined;
  } catch {
    return undefined;
  }
}

function readHistory(file: string): readonly unknown[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as unknown);
}
