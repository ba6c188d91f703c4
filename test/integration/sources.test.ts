import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsumedRecord } from '../../src/clients/kafka.ts';
import { orderIdFor } from '../../src/sources/order-input.ts';
import { PartnerApi, type PartnerOrder } from '../../src/sources/partner-api-server.ts';
import { ensureSourceTopics, sourceOffsetsTopic, sourceSpecs } from '../../src/sources/source-topics.ts';
import { connectPostgres } from '../../src/clients/postgres.ts';
import { BIN, jsonOf } from './cli.ts';
import { ConnectorFixture, runId, waitFor } from './connector-fixture.ts';

const id = `src${runId()}`;
const storeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-store-'));
const bulkDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-bulk-'));
// Fixed test ports below Linux's ephemeral range.
const partnerPort = 28_741;
const bulkPort = 28_742;
const token = `tok-${id}`;
// The API token is a secret reference every command of this working directory resolves.
process.env.SM_IT_PARTNER_TOKEN = token;
const f = new ConnectorFixture(id, {
  sources: {
    http: [
      { name: 'partner', url: `http://127.0.0.1:${partnerPort}/orders`, token: '${env:SM_IT_PARTNER_TOKEN}', pageSize: 5, pollInterval: '200ms' },
      { name: 'bulkapi', url: `http://127.0.0.1:${bulkPort}/orders`, token: '${env:SM_IT_PARTNER_TOKEN}', pageSize: 20, pollInterval: '200ms' },
    ],
    files: [
      { name: 'store', directory: storeDir, pollInterval: '200ms', settle: '300ms' },
      { name: 'bulkstore', directory: bulkDir, pollInterval: '200ms', settle: '300ms', batchLines: 40 },
    ],
  },
});
const partner = new PartnerApi({ port: partnerPort, token, ratePerSecond: 2, failEvery: 3 });
const bulk = new PartnerApi({ port: bulkPort, token, ratePerSecond: 20, failEvery: 7 });
const workers = new Map<string, ResultPromise>();
const topicOf = (name: string) => sourceSpecs(f.config).find((s) => s.name === name)!.topic;
let customerId = 0;
let productId = 0;

function startSource(name: string): ResultPromise {
  const child = execa(BIN, ['sources', 'run', '--name', name, '--metrics-port', '0'], { cwd: f.cwd, reject: false, all: true, env: { SM_IT_PARTNER_TOKEN: token } });
  child.all?.on('data', (chunk: Buffer) => {
    if (process.env.SM_TEST_VERBOSE) process.stderr.write(`[${name}] ${chunk.toString()}`);
  });
  workers.set(name, child);
  return child;
}

async function kill(name: string): Promise<void> {
  const child = workers.get(name);
  child?.kill('SIGKILL');
  await child;
  workers.delete(name);
}

/** A day of 2003 nobody else's orders fall in: this file owns its warehouse rows (batch run). */
const dayMs = Date.UTC(2003, 0, 1) + Math.floor(Math.random() * 360) * 86_400_000;
const day = new Date(dayMs).toISOString().slice(0, 10);
const created = (minute: number) => new Date(dayMs + 10 * 3_600_000 + minute * 60_000).toISOString();
const order = (n: number, amount: string, status = 'PLACED', minute = 0): PartnerOrder => ({ order_id: n, customer_id: customerId, product_id: productId, quantity: 1, amount, status, created_at: created(minute) });
const csvLine = (o: PartnerOrder) => [o.order_id, o.customer_id, o.product_id, o.quantity, o.amount, o.status, o.created_at].join(',');
const CSV_HEADER = 'order_id,customer_id,product_id,quantity,amount,status,created_at';

/** A store file as the point-of-sale system drops it: written aside, then renamed into place. */
function dropFile(dir: string, name: string, text: string): void {
  fs.writeFileSync(path.join(dir, `${name}.part`), text);
  fs.renameSync(path.join(dir, `${name}.part`), path.join(dir, name));
}

const ids = (records: readonly ConsumedRecord[]) => records.map((r) => (JSON.parse(r.value!.toString()) as { id: number }).id);
const dlqOf = async (source: string) => (await f.all(f.topics.deadLetter)).filter((r) => r.headers['dlq.source.name'] === source);

/** The latest processed-orders value of each order key. */
async function processed(): Promise<Map<number, Record<string, unknown> | null>> {
  const latest = new Map<number, Record<string, unknown> | null>();
  for (const r of await f.all(f.topics.processedOrders)) {
    const key = JSON.parse(r.key!.toString()) as { order_id: number };
    latest.set(key.order_id, r.value ? (JSON.parse(r.value.toString()) as Record<string, unknown>) : null);
  }
  return latest;
}

beforeAll(async () => {
  await f.ensureSourceSchema();
  await f.createTopics();
  await ensureSourceTopics(f.admin, f.config, f.topics.orders);
  const run = await f.cli(['phase', 'run', 'ingestion', '--json']);
  expect(jsonOf<{ status: string }>(run).status, run.stderr).toBe('succeeded');
  const [c] = await f.source((sql) => sql(`INSERT INTO public.customers (name, tier) VALUES ('src ${id}', 'SILVER') RETURNING id`));
  const [p] = await f.source((sql) => sql(`INSERT INTO public.products (name, category, price) VALUES ('src ${id}', 'books', 10.00) RETURNING id`));
  customerId = Number(c!.id);
  productId = Number(p!.id);
  f.rows.push(`DELETE FROM public.customers WHERE id = ${customerId}`, `DELETE FROM public.products WHERE id = ${productId}`);
  await partner.start();
  await bulk.start();
  f.startProcessor('w1');
}, 300_000);

afterAll(async () => {
  for (const name of [...workers.keys()]) await kill(name);
  await partner.stop();
  await bulk.stop();
  await f.admin.deleteTopics([...sourceSpecs(f.config).map((s) => s.topic), sourceOffsetsTopic(f.config)]).catch(() => undefined);
  const warehouse = await connectPostgres(f.config.warehouse, 'warehouse');
  const range = [new Date(dayMs), new Date(dayMs + 86_400_000)];
  for (const table of ['processed_orders', 'fraud_alerts']) await warehouse.query(`DELETE FROM public.${table} WHERE created_at >= $1 AND created_at < $2`, range).catch(() => undefined);
  await warehouse.query('DELETE FROM public.order_summaries WHERE window_start >= $1 AND window_start < $2', range).catch(() => undefined);
  await warehouse.end();
  await f.cleanup();
  fs.rmSync(storeDir, { recursive: true, force: true });
  fs.rmSync(bulkDir, { recursive: true, force: true });
});

describe('store files', () => {
  it('ingests complete files, dead-letters a malformed line with file and line, applies a later correcting file, and the processor emits channel store', async () => {
    startSource('store');
    dropFile(storeDir, '2026-11-25T10-00.csv', [CSV_HEADER, csvLine(order(1, '10.00')), csvLine(order(2, '20.00')), '3,oops', csvLine(order(4, '40.00'))].join('\n') + '\n');
    // Still being written: never read while it has the .part suffix.
    fs.writeFileSync(path.join(storeDir, 'next.csv.part'), CSV_HEADER + '\n');
    const first = await waitFor('the first file', async () => {
      const records = await f.all(topicOf('store'));
      return records.length >= 3 ? records : undefined;
    });
    // Partitions are read one after another: compare as sets (a key's versions stay in one partition, in order).
    expect(ids(first).sort()).toEqual([1, 2, 4].map((n) => orderIdFor('store', n)));
    const [letter] = await dlqOf('store');
    expect(letter?.headers).toMatchObject({ 'dlq.source.file': '2026-11-25T10-00.csv', 'dlq.source.line': '4', 'dlq.stage': 'source' });
    expect(letter?.headers['dlq.reason']).toContain('CSV fields');
    await waitFor('the file moved to done/', async () => (fs.existsSync(path.join(storeDir, 'done', '2026-11-25T10-00.csv')) ? true : undefined));

    // A later file corrects order 2 and cancels order 4 (JSON Lines this time).
    dropFile(storeDir, '2026-11-25T11-00.jsonl', [JSON.stringify(order(2, '25.00', 'PAID')), JSON.stringify(order(4, '40.00', 'CANCELLED'))].join('\n') + '\n');
    const rows = await waitFor('the corrections in processed-orders', async () => {
      const latest = await processed();
      const two = latest.get(orderIdFor('store', 2));
      return two?.amount === '25.00' && latest.get(orderIdFor('store', 4)) === null ? latest : undefined;
    }, 90_000);
    expect(rows.get(orderIdFor('store', 1))).toMatchObject({ channel: 'store', customer_id: customerId, amount: '10.00', customer_tier: 'SILVER', product_category: 'books' });
    expect(rows.get(orderIdFor('store', 2))).toMatchObject({ channel: 'store', status: 'PAID', amount: '25.00' });
  });

  it('a worker killed mid-file (SIGKILL) resumes at its committed line: every line exactly once', async () => {
    const n = 4_000;
    const lines = [CSV_HEADER, ...Array.from({ length: n }, (_, i) => csvLine(order(10_000 + i, '1.00')))];
    dropFile(bulkDir, 'big.csv', lines.join('\n') + '\n');
    startSource('bulkstore');
    await waitFor('some transactions committed', async () => ((await f.all(topicOf('bulkstore'))).length >= 400 ? true : undefined));
    await kill('bulkstore');
    const atKill = (await f.all(topicOf('bulkstore'))).length;
    expect(atKill).toBeLessThan(n);
    startSource('bulkstore');
    const all = await waitFor('the whole file', async () => {
      const records = await f.all(topicOf('bulkstore'));
      return records.length >= n && fs.existsSync(path.join(bulkDir, 'done', 'big.csv')) ? records : undefined;
    }, 90_000);
    const seen = ids(all);
    expect(seen).toHaveLength(n);
    expect(new Set(seen).size).toBe(n);
  });
});

describe('partner API', () => {
  it('pages through rate limits and 500s, dead-letters a malformed record with page and position, and the processor emits channel partner', async () => {
    for (let i = 1; i <= 12; i++) partner.change(order(i, `${i}.00`));
    partner.change({ order_id: 13, customer_id: 'nobody' });
    partner.change(order(3, '33.00', 'PAID'));
    startSource('partner');
    const records = await waitFor('every partner change', async () => {
      const r = await f.all(topicOf('partner'));
      return r.length >= 13 ? r : undefined;
    });
    expect(ids(records).sort()).toEqual([...Array.from({ length: 12 }, (_, i) => orderIdFor('partner', i + 1)), orderIdFor('partner', 3)].sort());
    // Order 3's two versions, in the order the API returned them.
    expect(records.filter((r) => ids([r])[0] === orderIdFor('partner', 3)).map((r) => (JSON.parse(r.value!.toString()) as { amount: string }).amount)).toEqual(['3.00', '33.00']);
    expect(partner.stats.failed).toBeGreaterThan(0);
    expect(partner.stats.rateLimited).toBeGreaterThan(0);
    const [letter] = await dlqOf('partner');
    expect(letter?.headers).toMatchObject({ 'dlq.source.page': '10', 'dlq.source.position': '2' });
    const rows = await waitFor('partner orders processed', async () => {
      const latest = await processed();
      return latest.get(orderIdFor('partner', 3))?.amount === '33.00' ? latest : undefined;
    }, 90_000);
    expect(rows.get(orderIdFor('partner', 12))).toMatchObject({ channel: 'partner', amount: '12.00' });
  });

  it('killed mid-run (SIGKILL) resumes at its committed cursor, rides out an outage with backoff, then catches up: every change exactly once', async () => {
    const n = 600;
    for (let i = 0; i < n; i++) bulk.change(order(50_000 + i, '2.00'));
    startSource('bulkapi');
    await waitFor('some pages committed', async () => ((await f.all(topicOf('bulkapi'))).length >= 100 ? true : undefined));
    await kill('bulkapi');
    expect((await f.all(topicOf('bulkapi'))).length).toBeLessThan(n);
    bulk.down = true;
    startSource('bulkapi');
    await new Promise((r) => setTimeout(r, 4_000));
    const duringOutage = (await f.all(topicOf('bulkapi'))).length;
    for (let i = n; i < n + 50; i++) bulk.change(order(50_000 + i, '3.00'));
    bulk.down = false;
    const all = await waitFor('the catch-up', async () => {
      const r = await f.all(topicOf('bulkapi'));
      return r.length >= n + 50 ? r : undefined;
    }, 120_000);
    const seen = ids(all);
    expect(duringOutage).toBeLessThan(n);
    expect(seen).toHaveLength(n + 50);
    expect(new Set(seen).size).toBe(n + 50);
    expect(bulk.stats.failed).toBeGreaterThan(3);
  });
});

describe('the legacy batch', () => {
  it('extracts the day\'s partner orders from the API and the store files (waiting and done), final versions, with their channel', async () => {
    const run = await f.cli(['batch', 'run', '--date', day, '--json'], 300_000);
    expect(run.exitCode, run.stderr).toBe(0);
    const warehouse = await connectPostgres(f.config.warehouse, 'warehouse');
    try {
      const { rows } = await warehouse.query<{ channel: string; n: string }>(
        'SELECT channel, count(*) AS n FROM public.processed_orders WHERE created_at >= $1 AND created_at < $2 GROUP BY channel ORDER BY channel',
        [new Date(dayMs), new Date(dayMs + 86_400_000)],
      );
      // Store: orders 1 and 2 (4 cancelled by the later file) and the 4 000-line file; partner: 12 and the 650 of the bulk API.
      expect(rows.map((r) => [r.channel, Number(r.n)])).toEqual([
        ['partner', 12 + 650],
        ['store', 2 + 4_000],
      ]);
      const { rows: corrected } = await warehouse.query<{ amount: string; status: string; channel: string }>('SELECT amount::text, status, channel FROM public.processed_orders WHERE order_id = $1', [orderIdFor('store', 2)]);
      expect(corrected).toEqual([{ amount: '25.00', status: 'PAID', channel: 'store' }]);
      const { rows: partner3 } = await warehouse.query<{ amount: string }>('SELECT amount::text FROM public.processed_orders WHERE order_id = $1', [orderIdFor('partner', 3)]);
      expect(partner3).toEqual([{ amount: '33.00' }]);
    } finally {
      await warehouse.end();
    }
  }, 300_000);
});
