import { createClickHouse } from '../clients/clickhouse.ts';
import { createPostgresPool } from '../clients/postgres.ts';
import type { Config } from '../config/schema.ts';
import { sleep } from '../core/time.ts';

export interface LatencyFigure {
  readonly probes: number;
  readonly unseen: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
}

/**
 * Measures end-to-end latency with probe orders: one inserted every `everyMs` into the source
 * (committed), then ClickHouse's processed_orders view is polled every 20 ms until each appears.
 * Runs until `signal` aborts, then waits up to 30 s for the last probes.
 */
export async function probeLatency(config: Config, signal: AbortSignal, everyMs = 100): Promise<LatencyFigure> {
  const pool = createPostgresPool(config.source, 2, 'stream-migrate-latency-probe');
  const ch = createClickHouse(config.clickhouse);
  const latencies: number[] = [];
  const pending = new Map<number, number>();
  try {
    const { rows } = await pool.query<{ customer_id: string | null; product_id: string | null }>(
      'SELECT (SELECT min(id) FROM public.customers) AS customer_id, (SELECT min(id) FROM public.products) AS product_id',
    );
    const ref = rows[0];
    if (!ref?.customer_id || !ref.product_id) return { probes: 0, unseen: 0, p50: NaN, p95: NaN, p99: NaN };
    const inserting = (async () => {
      while (!signal.aborted) {
        const inserted = await pool.query<{ id: string }>(
          "INSERT INTO public.orders (customer_id, product_id, quantity, amount, status) VALUES ($1, $2, 1, 12.34, 'PLACED') RETURNING id",
          [ref.customer_id, ref.product_id],
        );
        pending.set(Number(inserted.rows[0]?.id), Date.now());
        await sleep(everyMs);
      }
    })();
    const stopAt = () => (signal.aborted ? stoppedAt : Infinity);
    let stoppedAt = Infinity;
    signal.addEventListener('abort', () => (stoppedAt = Date.now() + 30_000), { once: true });
    while (!signal.aborted || (pending.size > 0 && Date.now() < stopAt())) {
      if (pending.size > 0) {
        const seen = await ch.query<{ order_id: string }>(`SELECT order_id FROM ${config.clickhouse.database}.processed_orders WHERE order_id IN (${[...pending.keys()].join(',')})`);
        const now = Date.now();
        for (const { order_id } of seen) {
          const sent = pending.get(Number(order_id));
          if (sent === undefined) continue;
          latencies.push(now - sent);
          pending.delete(Number(order_id));
        }
      }
      await sleep(20);
    }
    await inserting;
  } finally {
    await pool.end().catch(() => undefined);
    await ch.close();
  }
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
  return { probes: latencies.length, unseen: pending.size, p50: pct(50), p95: pct(95), p99: pct(99) };
}
