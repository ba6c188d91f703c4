/**
 * End-to-end latency: a steady `load` of 1 000 orders/s for 60 s on the local stack, while probe
 * orders are inserted every 100 ms and ClickHouse's processed_orders view is polled until each
 * shows up. Latency = commit in the source → row visible in the view (poll resolution ~20 ms).
 * Prints p50 and p99; the last line is `e2e p99 ms N`.
 *
 *   npx tsx bench/e2e-latency.ts [--rate 1000] [--seconds 60]
 */
import { execa } from 'execa';
import { createClickHouse } from '../src/clients/clickhouse.ts';
import { createPostgresPool } from '../src/clients/postgres.ts';
import { loadConfig } from '../src/config/load.ts';
import { BIN, REPO_ROOT } from '../test/integration/cli.ts';

const arg = (name: string, fallback: number) => Number(process.argv[process.argv.indexOf(`--${name}`) + 1] || fallback) || fallback;
const rate = arg('rate', 1000);
const seconds = arg('seconds', 60);
// BENCH_CWD points at another local stack's working directory (its stream-migrate.yaml).
const cwd = process.env.BENCH_CWD ?? REPO_ROOT;
const { config } = loadConfig({ cwd });

for (const phase of ['infrastructure', 'ingestion', 'processing', 'output']) {
  const run = await execa(BIN, ['phase', 'run', phase], { cwd, reject: false });
  if (run.exitCode !== 0) throw new Error(`phase ${phase} failed: ${run.stderr}`);
}

const pool = createPostgresPool(config.source, 2, 'bench-e2e');
const ch = createClickHouse(config.clickhouse);
const { rows: [ref] } = await pool.query<{ customer_id: string; product_id: string }>('SELECT (SELECT min(id) FROM customers) AS customer_id, (SELECT min(id) FROM products) AS product_id');
const load = execa(BIN, ['load', '--rate', String(rate), '--duration', `${seconds}s`], { cwd, reject: false });

const latencies: number[] = [];
const pending = new Map<number, number>();
const deadline = Date.now() + seconds * 1000;
const probing = (async () => {
  while (Date.now() < deadline) {
    const { rows } = await pool.query<{ id: string }>(
      "INSERT INTO orders (customer_id, product_id, quantity, amount, status) VALUES ($1, $2, 1, 12.34, 'PLACED') RETURNING id",
      [ref?.customer_id, ref?.product_id],
    );
    pending.set(Number(rows[0]?.id), Date.now());
    await new Promise((r) => setTimeout(r, 100));
  }
})();
const polling = (async () => {
  while (Date.now() < deadline + 30_000 && (Date.now() < deadline || pending.size > 0)) {
    if (pending.size > 0) {
      const ids = [...pending.keys()];
      const seen = await ch.query<{ order_id: string }>(`SELECT order_id FROM ${config.clickhouse.database}.processed_orders WHERE order_id IN (${ids.join(',')})`);
      const now = Date.now();
      for (const { order_id } of seen) {
        const sent = pending.get(Number(order_id));
        if (sent !== undefined) {
          latencies.push(now - sent);
          pending.delete(Number(order_id));
        }
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
})();
await Promise.all([probing, polling]);
const loadResult = await load;
await pool.end();
await ch.close();

latencies.sort((a, b) => a - b);
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
console.log(String(loadResult.stdout).split('\n').find((l) => l.includes('achieved')) ?? '');
console.log(`${latencies.length} probes seen, ${pending.size} never seen`);
console.log(`e2e p50 ms ${pct(50)}`);
console.log(`e2e p99 ms ${pct(99)}`);
