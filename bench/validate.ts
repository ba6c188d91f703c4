// `validate` at scale: 10 000 000 identical processed orders in a throwaway warehouse schema and a
// throwaway ClickHouse database (generated inside each database), validated through the real CLI;
// then 1 000 scattered differences (400 amounts a cent off in the batch, 300 orders deleted in the
// stream, 300 tiers changed in the stream) and validated again. Prints both durations, what the
// second run found, the CLI's peak RSS (VmHWM) and the engines' share; last line the clean run's
// seconds. Drops its data afterwards.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { createClickHouse } from '../src/clients/clickhouse.ts';
import { withPostgres } from '../src/clients/postgres.ts';
import { loadConfig } from '../src/config/load.ts';
import { migrateClickHouse } from '../src/output/clickhouse-migrations.ts';
import { readMigrations } from '../src/state/migrator.ts';

const ROWS = Number(process.env.BENCH_ROWS ?? 10_000_000);
const DIFFERENCES = 1_000;
const STRIDE = Math.floor(ROWS / DIFFERENCES) - 27;
const DAY_MS = Date.parse('2026-11-24T00:00:00Z');
const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const { config } = loadConfig({ cwd: repo });
const schema = `bench_validate_${process.pid}`;
const database = `bench_validate_${process.pid}`;
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-bench-validate-'));
const ch = createClickHouse(config.clickhouse, 'default');
const pg = <T>(fn: (c: import('pg').Client) => Promise<T>) => withPostgres(config.warehouse, 'warehouse', fn);
const seconds = (ms: number) => (ms / 1000).toFixed(1);

// Identical rows on both sides from integer arithmetic on n: cents exact, timestamps in whole milliseconds
// (the stream's DateTime truncates them to seconds, as the sink does).
const TIERS = `['NEW','BRONZE','SILVER','GOLD','PLATINUM']`;
const CATEGORIES = `['books','electronics','groceries','toys','garden','music']`;
const STATUSES = `['PLACED','PAID','SHIPPED']`;

async function generate(): Promise<void> {
  await pg(async (c) => {
    await c.query(`CREATE SCHEMA ${schema}`);
    for (const file of readMigrations('warehouse')) await c.query(file.sql.replaceAll('public.', `${schema}.`));
    await c.query(`INSERT INTO ${schema}.processed_orders
      SELECT n + 1, n % 50000 + 1, (ARRAY${TIERS})[n % 5 + 1], n % 1000, (ARRAY${CATEGORIES})[n % 6 + 1], (n % 3 + 1)::int,
             ((n * 7919) % 500000) / 100.0, (((n * 7919) % 500000) / 20) / 100.0, 0,
             (((n * 7919) % 500000) - ((n * 7919) % 500000) / 20) / 100.0,
             (ARRAY${STATUSES})[n % 3 + 1],
             timestamptz 'epoch' + (${DAY_MS} + n * 8640 / 1000) * interval '1 millisecond',
             timestamptz 'epoch' + (${DAY_MS} + n * 8640 / 1000 + 1500) * interval '1 millisecond'
        FROM generate_series(0::bigint, ${ROWS - 1}) AS n`);
    await c.query(`VACUUM ANALYZE ${schema}.processed_orders`);
  });
  await migrateClickHouse(ch, database);
  await ch.command(`INSERT INTO ${database}.processed_orders_versions
    SELECT toInt64(number + 1), toInt64(number % 50000 + 1), ${TIERS}[number % 5 + 1], toInt64(number % 1000), ${CATEGORIES}[number % 6 + 1], toInt32(number % 3 + 1),
           toDecimal64((number * 7919) % 500000, 2) / 100, toDecimal64(intDiv((number * 7919) % 500000, 20), 2) / 100, toDecimal64(0, 2),
           toDecimal64((number * 7919) % 500000 - intDiv((number * 7919) % 500000, 20), 2) / 100,
           ${STATUSES}[number % 3 + 1],
           toDateTime(intDiv(${DAY_MS} + intDiv(number * 8640, 1000), 1000)),
           toDateTime(intDiv(${DAY_MS} + intDiv(number * 8640, 1000) + 1500, 1000)),
           'web',
           toDateTime(intDiv(${DAY_MS} + intDiv(number * 8640, 1000), 1000)),
           toDateTime(intDiv(${DAY_MS} + intDiv(number * 8640, 1000), 1000) + number % 5),
           number + 1, 0
      FROM system.numbers LIMIT ${ROWS}`);
}

/** 1 000 keys 9 973 apart: 400 batch amounts +0.01, 300 stream tombstones, 300 stream tier changes. */
async function injectDifferences(): Promise<void> {
  const ids = Array.from({ length: DIFFERENCES }, (_, k) => 1 + k * STRIDE);
  const [amounts, deletes, tiers] = [ids.slice(0, 400), ids.slice(400, 700), ids.slice(700)];
  await pg((c) => c.query(`UPDATE ${schema}.processed_orders SET amount = amount + 0.01 WHERE order_id = ANY($1::bigint[])`, [amounts]));
  const later = `version + ${ROWS * 2}`;
  const columns = 'order_id, customer_id, customer_tier, product_id, product_category, quantity, amount, discount, tax, final_amount, status, created_at, processed_at, channel, source_ts, ingested_at';
  await ch.command(`INSERT INTO ${database}.processed_orders_versions SELECT ${columns}, ${later}, 1 FROM ${database}.processed_orders_versions WHERE order_id IN (${deletes.join(',')})`);
  const tierChanged = columns.replace('customer_tier', "if(customer_tier = 'GOLD', 'SILVER', 'GOLD')");
  await ch.command(`INSERT INTO ${database}.processed_orders_versions SELECT ${tierChanged}, ${later}, 0 FROM ${database}.processed_orders_versions WHERE order_id IN (${tiers.join(',')})`);
}

interface Run {
  readonly seconds: number;
  readonly peakRssMb: number;
  readonly report: {
    verdict: string;
    tables: { batchRows: number; streamRows: number; missingInStream: number; missingInBatch: number; mismatched: number; buckets: { count: number; differing: number; drilledBatchRows: number }; timings: Record<string, number> }[];
  };
}

/** The real CLI as a child; VmHWM sampled from /proc until it exits. */
async function validate(): Promise<Run> {
  const from = new Date(DAY_MS).toISOString();
  const to = new Date(DAY_MS + 86_400_000).toISOString();
  const started = performance.now();
  const child = execa(path.join(repo, 'bin/stream-migrate'), ['validate', '--from', from, '--to', to, '--tables', 'processed_orders', '--batch-schema', schema, '--stream-database', database, '--out', out, '--json'], { reject: false, cwd: repo });
  let peakKb = 0;
  const sample = setInterval(() => {
    try {
      const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
      peakKb = Math.max(peakKb, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0));
    } catch {
      // The process has exited between two samples.
    }
  }, 50);
  const result = await child;
  clearInterval(sample);
  const elapsed = (performance.now() - started) / 1000;
  if (result.exitCode !== 0 && result.exitCode !== 1) throw new Error(`validate exited ${result.exitCode}: ${String(result.stderr)}`);
  return { seconds: elapsed, peakRssMb: Math.round(peakKb / 1024), report: JSON.parse(String(result.stdout)) as Run['report'] };
}

function describe(label: string, run: Run): void {
  const t = run.report.tables[0]!;
  const tm = t.timings;
  console.log(
    `${label}: ${run.report.verdict} in ${run.seconds.toFixed(1)} s (CLI, peak RSS ${run.peakRssMb} MB); batch ${t.batchRows} stream ${t.streamRows}; ` +
      `first pass ${seconds(tm.firstPassMs ?? 0)} s (PostgreSQL ${seconds(tm.firstPassPostgresMs ?? 0)} s, ClickHouse ${seconds(tm.firstPassClickHouseMs ?? 0)} s, concurrently), ` +
      `plan ${seconds(tm.planMs ?? 0)} s, drill ${seconds(tm.drillMs ?? 0)} s into ${t.buckets.differing}/${t.buckets.count} buckets (${t.buckets.drilledBatchRows} rows), detail ${seconds(tm.detailMs ?? 0)} s`,
  );
}

try {
  const g0 = performance.now();
  await generate();
  console.log(`generated ${ROWS} rows on each side in ${seconds(performance.now() - g0)} s`);
  const clean = await validate();
  describe('identical', clean);
  await injectDifferences();
  const dirty = await validate();
  describe('1000 differences', dirty);
  const t = dirty.report.tables[0]!;
  console.log(`found ${t.missingInStream + t.missingInBatch + t.mismatched} of ${DIFFERENCES}: missing in stream ${t.missingInStream}, missing in batch ${t.missingInBatch}, mismatched ${t.mismatched}`);
  console.log(`validate seconds with differences ${dirty.seconds.toFixed(1)}`);
  console.log(`peak RSS MB ${clean.peakRssMb} / ${dirty.peakRssMb}`);
  console.log(`validate seconds ${clean.seconds.toFixed(1)}`);
} finally {
  await pg((c) => c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)).catch(() => undefined);
  await ch.command(`DROP DATABASE IF EXISTS ${database}`).catch(() => undefined);
  await ch.close();
  fs.rmSync(out, { recursive: true, force: true });
}
