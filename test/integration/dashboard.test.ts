import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouse, type ClickHouse } from '../../src/clients/clickhouse.ts';
import { migrateClickHouse } from '../../src/output/clickhouse-migrations.ts';
import { BIN, REPO_ROOT } from './cli.ts';
import { freePort } from './ports.ts';
import { TEST_HOME, testConfig, writeTestConfig } from './test-env.ts';

/**
 * The dashboard in a real browser (Debian's chromium driven by playwright-core): its figures
 * against ClickHouse's own answers to SQL written here (on the versioned storage tables, not the
 * views the dashboard reads), an update after new rows, a service that is down, and the token
 * of an exposed dashboard. Rows go into this test's own ClickHouse database.
 */
const { config } = testConfig();
const id = `${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
const database = `it_dashboard_${id}`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-dashboard-'));
const OUTPUT = path.join(REPO_ROOT, 'test', 'integration', '.output');
const CHROMIUM = '/usr/bin/chromium';
const MINUTE = 60_000;

const chTime = (msAgo: number): string => new Date(Date.now() - msAgo).toISOString().slice(0, 19).replace('T', ' ');
/** JSONEachRow with Decimal columns as bare numbers: 18.16 rejects quoted decimals. */
const line = (row: Record<string, unknown>): string => JSON.stringify(row).replace(/"(amount|discount|tax|final_amount|total_amount|total_final_amount)":"(-?[0-9.]+)"/g, '"$1":$2');

function order(orderId: number, customerId: number, finalAmount: string, msAgo: number, version: number, isDeleted = 0): string {
  const at = chTime(msAgo);
  return line({ order_id: orderId, customer_id: customerId, customer_tier: 'GOLD', product_id: 1, product_category: 'books', quantity: 1, amount: finalAmount, discount: '0.00', tax: '0.00', final_amount: finalAmount, status: 'PAID', created_at: at, processed_at: at, source_ts: at, ingested_at: at, version, is_deleted: isDeleted });
}

function alert(orderId: number, customerId: number, finalAmount: string, severity: string, msAgo: number): string {
  return line({ order_id: orderId, customer_id: customerId, final_amount: finalAmount, severity, reason: `${severity} rule`, created_at: chTime(msAgo), alerted_at: chTime(msAgo - 1_000), version: 1, is_deleted: 0 });
}

/** The 5-minute window holding the instant `msAgo` before now. */
function summary(customerId: number, orders: number, total: string, msAgo: number, version: number, isDeleted = 0): string {
  const start = Math.floor((Date.now() - msAgo) / (5 * MINUTE)) * 5 * MINUTE;
  const text = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
  return line({ customer_id: customerId, window_start: text(start), window_end: text(start + 5 * MINUTE), order_count: orders, total_amount: total, total_final_amount: total, version, is_deleted: isDeleted });
}

async function insert(ch: ClickHouse, table: string, rows: readonly string[]): Promise<void> {
  await ch.command(`INSERT INTO ${database}.${table} FORMAT JSONEachRow\n${rows.join('\n')}`);
}

interface Expected {
  readonly orders: number;
  readonly revenue: string;
  readonly aov: string | null;
  readonly high: number;
  readonly medium: number;
  readonly top: readonly string[];
}

/**
 * The figures from the storage tables, written independently of the dashboard's queries: the
 * latest version of each key by LIMIT 1 BY (not the views' argMax), tombstones dropped, then the
 * last hour; the average order value rounded half-even here, in integer cents.
 */
async function expected(ch: ClickHouse): Promise<Expected> {
  const latest = (table: string, key: string) => `(SELECT * FROM ${database}.${table} ORDER BY version DESC LIMIT 1 BY ${key})`;
  const [totals] = await ch.query<{ n: string; cents: string }>(
    `SELECT toString(count()) AS n, toString(sum(toInt64(final_amount * 100))) AS cents FROM ${latest('processed_orders_versions', 'order_id, customer_id')} WHERE is_deleted = 0 AND created_at >= now() - 3600`,
  );
  const severities = await ch.query<{ severity: string; n: string }>(
    `SELECT severity, toString(count()) AS n FROM ${latest('fraud_alerts_versions', 'order_id, customer_id')} WHERE is_deleted = 0 AND created_at >= now() - 3600 GROUP BY severity`,
  );
  const top = await ch.query<{ c: string; n: string; cents: string }>(
    `SELECT toString(customer_id) AS c, toString(sum(order_count)) AS n, toString(sum(toInt64(total_final_amount * 100))) AS cents FROM ${latest('order_summaries_versions', 'customer_id, window_start')} WHERE is_deleted = 0 AND window_start >= now() - 3600 GROUP BY customer_id ORDER BY sum(total_final_amount) DESC, customer_id`,
  );
  const orders = Number(totals?.n ?? 0);
  const cents = BigInt(totals?.cents ?? '0');
  const money = (c: bigint) => `${c / 100n}.${String(c % 100n).padStart(2, '0')}`;
  const halfEven = (n: bigint, d: bigint) => {
    const q = n / d;
    const twice = 2n * (n % d);
    return twice > d || (twice === d && q % 2n === 1n) ? q + 1n : q;
  };
  const bySeverity = new Map(severities.map((s) => [s.severity, Number(s.n)]));
  return {
    orders,
    revenue: money(cents),
    aov: orders > 0 ? money(halfEven(cents, BigInt(orders))) : null,
    high: bySeverity.get('HIGH') ?? 0,
    medium: bySeverity.get('MEDIUM') ?? 0,
    top: top.map((t) => `${t.c} ${t.n} ${money(BigInt(t.cents))}`),
  };
}

interface Running {
  readonly child: ResultPromise<{ cwd: string; reject: false; buffer: true }>;
  /** The line the command printed: its URL, with ?token= when it has one. */
  readonly url: string;
}

/** Starts the real command in the test stack's home and waits for the URL it prints. */
async function startDashboard(configFile: string, args: readonly string[] = []): Promise<Running> {
  const child = execa(BIN, ['--config', configFile, 'dashboard', '--port', '0', ...args], { cwd: TEST_HOME, reject: false, buffer: true });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`dashboard printed no URL within 30 s: ${out}`)), 30_000);
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /dashboard on (http:\/\/\S+)/.exec(out);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    void child.then((r) => reject(new Error(`dashboard exited ${r.exitCode} before printing its URL: ${String(r.stderr)}`)));
  });
  return { child, url };
}

async function stop(running: Running, signal: 'SIGINT' | 'SIGTERM'): Promise<{ exitCode: number | undefined; stdout: string; stderr: string }> {
  running.child.kill(signal);
  const result = await running.child;
  return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
}

const text = async (page: Page, selector: string): Promise<string> => ((await page.textContent(selector)) ?? '').trim();
const amount = async (page: Page, selector: string): Promise<string> => (await text(page, selector)).replace(/,/g, '');

let ch: ClickHouse;
let browser: BrowserContext;
let mainConfig: string;
let clickhouseDownConfig: string;

beforeAll(async () => {
  ch = createClickHouse(config.clickhouse, 'default');
  await migrateClickHouse(ch, database);
  // Orders 1-4 live and recent (2 updated to its latest amount), 5 deleted, 6 two hours old.
  await insert(ch, 'processed_orders_versions', [
    order(1, 101, '100.00', 5 * MINUTE, 1),
    order(2, 102, '999.00', 10 * MINUTE, 1),
    order(2, 102, '12000.50', 10 * MINUTE, 2),
    order(3, 103, '1500.25', 20 * MINUTE, 1),
    order(4, 101, '0.26', 30 * MINUTE, 1),
    order(5, 102, '700.00', 15 * MINUTE, 1),
    order(5, 102, '0.00', 15 * MINUTE, 2, 1),
    order(6, 101, '5000.00', 120 * MINUTE, 1),
  ]);
  await insert(ch, 'fraud_alerts_versions', [alert(2, 102, '12000.50', 'HIGH', 10 * MINUTE), alert(3, 103, '1500.25', 'MEDIUM', 20 * MINUTE), alert(6, 101, '5000.00', 'MEDIUM', 120 * MINUTE)]);
  await insert(ch, 'order_summaries_versions', [
    summary(101, 1, '100.00', 5 * MINUTE, 1),
    summary(101, 1, '0.26', 30 * MINUTE, 1),
    summary(102, 1, '999.00', 10 * MINUTE, 1),
    summary(102, 1, '12000.50', 10 * MINUTE, 2),
    summary(102, 1, '700.00', 15 * MINUTE, 1),
    summary(102, 0, '0.00', 15 * MINUTE, 2, 1),
    summary(103, 1, '1500.25', 20 * MINUTE, 1),
    summary(101, 1, '5000.00', 120 * MINUTE, 1),
  ]);
  // Kafka Connect "stopped": nothing listens where this configuration finds it.
  const connectPort = await freePort();
  mainConfig = writeTestConfig(tmp, { clickhouse: { database }, dev: { ports: { connect: connectPort } } }, 'main.yaml');
  clickhouseDownConfig = writeTestConfig(tmp, { clickhouse: { database, url: `http://127.0.0.1:${await freePort()}` } }, 'clickhouse-down.yaml');

  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
  browser = await chromium.launchPersistentContext(fs.mkdtempSync(path.join(os.tmpdir(), 'sm-chromium-')), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1400, height: 1200 },
  });
});

afterAll(async () => {
  await browser?.close();
  await ch?.command(`DROP DATABASE IF EXISTS ${database}`).catch(() => undefined);
  await ch?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('stream-migrate dashboard', () => {
  it('shows ClickHouse’s figures, updates when orders arrive, shows a stopped service as DOWN, and stops cleanly on SIGINT', async () => {
    const running = await startDashboard(mainConfig);
    try {
      expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const page = await browser.newPage();
      const pageErrors: string[] = [];
      page.on('pageerror', (error) => pageErrors.push(error.message));
      await page.goto(running.url);
      await page.waitForSelector('[data-connection="live"]', { timeout: 15_000 });

      const before = await expected(ch);
      // Orders 1-4: 100.00 + 12000.50 + 1500.25 + 0.26; the SQL above must agree with the arithmetic.
      expect(before).toMatchObject({ orders: 4, revenue: '13601.01', aov: '3400.25', high: 1, medium: 1 });
      await expect.poll(() => text(page, '[data-figure="orders"]'), { timeout: 15_000 }).toBe(String(before.orders));
      expect(await amount(page, '[data-figure="revenue"]')).toBe(before.revenue);
      expect(await amount(page, '[data-figure="aov"]')).toBe(before.aov);
      expect(await text(page, '[data-figure="fraud-alerts"]')).toBe(String(before.high + before.medium));
      expect(await text(page, '[data-count="HIGH"]')).toBe(String(before.high));
      expect(await text(page, '[data-count="MEDIUM"]')).toBe(String(before.medium));
      const topRows = async () => (await page.$$eval('#top-customers tr', (rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent ?? '').join(' ')))).map((r) => r.replace(/,/g, ''));
      expect(await topRows()).toEqual(before.top);
      expect(before.top[0]).toBe('102 1 12000.50');
      // uPlot drew the per-minute chart from node_modules' copy.
      expect(await page.locator('#orders-chart canvas').count()).toBeGreaterThan(0);

      // Connect is down: its badge says so with the error line, and the rest of the page still works.
      await expect.poll(() => page.getAttribute('[data-panel="connector"]', 'data-state'), { timeout: 15_000 }).toBe('down');
      expect(await text(page, '[data-panel="connector"] > .panel-head > .badge')).toBe('DOWN');
      expect(await text(page, '[data-panel="connector"] > .error')).toMatch(/127\.0\.0\.1:\d+ is unreachable/);
      expect(await page.getAttribute('[data-service="connect"]', 'data-state')).toBe('DOWN');
      expect(await page.getAttribute('[data-service="clickhouse"]', 'data-state')).toBe('UP');
      expect(await text(page, '[data-panel="phases"] [data-phase="infrastructure"] .name')).toBe('infrastructure');

      // New orders (and a HIGH alert, and their summaries) arrive: the page follows without a reload.
      const shownAt = await page.getAttribute('body', 'data-taken-at');
      await insert(ch, 'processed_orders_versions', [order(7, 103, '20000.00', 1 * MINUTE, 1), order(8, 104, '50.00', 2 * MINUTE, 1)]);
      await insert(ch, 'fraud_alerts_versions', [alert(7, 103, '20000.00', 'HIGH', 1 * MINUTE)]);
      await insert(ch, 'order_summaries_versions', [summary(103, 1, '20000.00', 1 * MINUTE, 5), summary(104, 1, '50.00', 2 * MINUTE, 6)]);
      const after = await expected(ch);
      expect(after).toMatchObject({ orders: 6, revenue: '33651.01', high: 2 });
      await expect.poll(() => text(page, '[data-figure="orders"]'), { timeout: 10_000 }).toBe(String(after.orders));
      expect(await page.getAttribute('body', 'data-taken-at')).not.toBe(shownAt);
      expect(await amount(page, '[data-figure="revenue"]')).toBe(after.revenue);
      expect(await amount(page, '[data-figure="aov"]')).toBe(after.aov);
      expect(await text(page, '[data-count="HIGH"]')).toBe(String(after.high));
      await expect.poll(topRows, { timeout: 10_000 }).toEqual(after.top);
      expect(after.top[0]).toMatch(/^103 /);

      // Updates keep coming at least every 2 s.
      const t1 = await page.getAttribute('body', 'data-taken-at');
      await expect.poll(() => page.getAttribute('body', 'data-taken-at'), { timeout: 6_000, interval: 200 }).not.toBe(t1);
      const t2 = await page.getAttribute('body', 'data-taken-at');
      expect(Date.parse(t2 ?? '') - Date.parse(t1 ?? '')).toBeLessThanOrEqual(4_000);

      fs.mkdirSync(OUTPUT, { recursive: true });
      await page.screenshot({ path: path.join(OUTPUT, 'dashboard.png'), fullPage: true });
      expect(pageErrors).toEqual([]);
      await page.close();
    } finally {
      const result = await stop(running, 'SIGINT');
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stdout).toContain('dashboard stopped (SIGINT)');
    }
  });

  it('exposed with --host, requires its token (401 without), and shows ClickHouse down as DOWN rather than a blank page', async () => {
    const running = await startDashboard(clickhouseDownConfig, ['--host', '127.0.0.1']);
    try {
      const printed = new URL(running.url);
      const token = printed.searchParams.get('token');
      expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/);
      const base = `${printed.origin}/`;
      for (const route of ['', 'events', 'app.js', 'api/snapshot']) expect((await fetch(`${base}${route}`)).status, route).toBe(401);
      expect((await fetch(base, { headers: { authorization: 'Bearer not-the-token' } })).status).toBe(401);
      expect((await fetch(`${base}?token=${token}x`)).status).toBe(401);
      const bearer = await fetch(base, { headers: { authorization: `Bearer ${token}` } });
      expect(bearer.status).toBe(200);
      expect(await bearer.text()).toContain('<title>stream-migrate dashboard</title>');

      // The printed URL sets a cookie and drops the token from the address bar; the stream then authenticates by the cookie.
      const page = await browser.newPage();
      await page.goto(running.url);
      expect(page.url()).toBe(base);
      await page.waitForSelector('[data-connection="live"]', { timeout: 15_000 });
      await expect.poll(() => page.getAttribute('[data-panel="business"]', 'data-state'), { timeout: 15_000 }).toBe('down');
      expect(await text(page, '[data-panel="business"] > .panel-head > .badge')).toBe('DOWN');
      expect(await text(page, '[data-panel="business"] > .error')).toMatch(/ClickHouse at http:\/\/127\.0\.0\.1:\d+ is unreachable/);
      expect(await text(page, '[data-figure="orders"]')).toBe('–');
      expect(await page.getAttribute('[data-service="postgres"]', 'data-state')).toBe('UP');
      await page.screenshot({ path: path.join(OUTPUT, 'dashboard-clickhouse-down.png'), fullPage: true });
      await page.close();
    } finally {
      const result = await stop(running, 'SIGTERM');
      expect(result.exitCode, result.stderr).toBe(0);
      // The token is printed once, at start, and nowhere else.
      expect(result.stderr).not.toContain(new URL(running.url).searchParams.get('token') ?? '<none>');
    }
  });
});
