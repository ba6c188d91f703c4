import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { isTier } from '../domain/rules.ts';
import { parseMoney } from '../domain/money.ts';
import type { Random } from './random.ts';
import { TokenBucket, batchSizeFor } from './token-bucket.ts';
import { WorkloadPlanner, type BatchPlan, type CatalogueCustomer, type CatalogueProduct, type InsertedOrder, type WorkloadMix } from './workload.ts';

export interface LoadCounts {
  readonly inserted: number;
  readonly updated: number;
  readonly cancelled: number;
  readonly deleted: number;
  readonly tierChanges: number;
  /** Orders moved to another customer. */
  readonly moved: number;
}

export interface LoadProgress {
  readonly elapsedMs: number;
  readonly counts: LoadCounts;
}

export interface LoadGeneratorOptions {
  /** New orders per second; the other changes come along in the mix's proportions. */
  readonly ratePerSecond: number;
  readonly durationMs: number;
  readonly random: Random;
  readonly mix?: WorkloadMix;
  /** Batches in flight at once, one connection each; the pool must allow this many. */
  readonly connections?: number;
  /** Upper bound on new orders per statement. */
  readonly maxBatch?: number;
  /** Batches per second aimed for at low rates, so the stream is steady rather than one burst a second. */
  readonly ticksPerSecond?: number;
  readonly recentCapacity?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: LoadProgress) => void;
  readonly progressIntervalMs?: number;
  /** Monotonic milliseconds; injectable for tests. */
  readonly now?: () => number;
}

export interface LoadReport {
  readonly counts: LoadCounts;
  readonly elapsedMs: number;
  readonly batches: number;
  readonly batchSize: number;
  readonly connections: number;
  /** Database time of the first and last insert, widened to whole milliseconds so it contains them; undefined when nothing was inserted. */
  readonly window: { readonly from: Date; readonly to: Date } | undefined;
  /** True when the signal stopped the run before its duration. */
  readonly interrupted: boolean;
}

export interface Catalogue {
  readonly products: readonly CatalogueProduct[];
  readonly customers: readonly CatalogueCustomer[];
}

/** Customers beyond this many are not drawn from; it bounds memory on a big foreign source. */
const MAX_CUSTOMERS_IN_MEMORY = 200_000;

/** Reads the products and (up to MAX_CUSTOMERS_IN_MEMORY) customers the workload draws from. */
export async function loadCatalogue(pool: pg.Pool): Promise<Catalogue> {
  const products = await pool.query<{ id: string; price: string }>('SELECT id, price::text AS price FROM public.products ORDER BY id');
  const customers = await pool.query<{ id: string; tier: unknown }>('SELECT id, tier FROM public.customers ORDER BY id LIMIT $1', [MAX_CUSTOMERS_IN_MEMORY]);
  return {
    products: products.rows.map((r) => ({ id: Number(r.id), priceCents: parseMoney(r.price) })),
    customers: customers.rows.flatMap((r) => (isTier(r.tier) ? [{ id: Number(r.id), tier: r.tier }] : [])),
  };
}

/**
 * One statement per batch: data-modifying CTEs insert the new orders, update, cancel and delete
 * recent ones and change tiers, all in one round trip and one transaction. Named, so each
 * connection parses and plans it once. New orders take created_at = now() from their defaults.
 */
const BATCH_STATEMENT = `
WITH new_orders AS (
  INSERT INTO public.orders (customer_id, product_id, quantity, amount, status)
  SELECT c, p, q, a, 'PLACED' FROM unnest($1::bigint[], $2::bigint[], $3::int[], $4::numeric[]) AS t(c, p, q, a)
  RETURNING id, product_id, quantity, created_at
), updated AS (
  UPDATE public.orders o SET status = u.status, quantity = u.quantity, amount = u.amount
  FROM unnest($5::bigint[], $6::text[], $7::int[], $8::numeric[]) AS u(id, status, quantity, amount)
  WHERE o.id = u.id AND o.status <> 'CANCELLED'
  RETURNING o.id
), cancelled AS (
  UPDATE public.orders o SET status = 'CANCELLED' WHERE o.id = ANY ($9::bigint[]) AND o.status <> 'CANCELLED'
  RETURNING o.id
), deleted AS (
  DELETE FROM public.orders o WHERE o.id = ANY ($10::bigint[])
  RETURNING o.id
), tiers AS (
  UPDATE public.customers c SET tier = t.tier FROM unnest($11::bigint[], $12::text[]) AS t(id, tier)
  WHERE c.id = t.id
  RETURNING c.id
), moved AS (
  UPDATE public.orders o SET customer_id = m.customer_id FROM unnest($13::bigint[], $14::bigint[]) AS m(id, customer_id)
  WHERE o.id = m.id AND o.status <> 'CANCELLED' AND o.customer_id <> m.customer_id
  RETURNING o.id
)
SELECT n.ids, n.products, n.quantities, n.first_us, n.last_us,
  (SELECT count(*) FROM updated)::int AS updated,
  (SELECT count(*) FROM cancelled)::int AS cancelled,
  (SELECT count(*) FROM deleted)::int AS deleted,
  (SELECT count(*) FROM tiers)::int AS tier_changes,
  (SELECT count(*) FROM moved)::int AS moved
FROM (
  SELECT array_agg(id ORDER BY id) AS ids, array_agg(product_id ORDER BY id) AS products, array_agg(quantity ORDER BY id) AS quantities,
    (extract(epoch FROM min(created_at)) * 1000000)::bigint::text AS first_us,
    (extract(epoch FROM max(created_at)) * 1000000)::bigint::text AS last_us
  FROM new_orders
) n`;

interface BatchRow {
  readonly ids: readonly string[] | null;
  readonly products: readonly string[] | null;
  readonly quantities: readonly number[] | null;
  readonly first_us: string | null;
  readonly last_us: string | null;
  readonly updated: number;
  readonly cancelled: number;
  readonly deleted: number;
  readonly tier_changes: number;
  readonly moved: number;
}

interface BatchOutcome {
  readonly inserted: readonly InsertedOrder[];
  readonly counts: LoadCounts;
  readonly firstUs: bigint | undefined;
  readonly lastUs: bigint | undefined;
}

/** Anything that runs a query: the pool, or one of its connections. */
export type Queryable = pg.Pool | pg.PoolClient;

const EMPTY_PLAN: BatchPlan = { inserts: [], updates: [], cancels: [], deletes: [], tierChanges: [], moves: [] };

/** Runs one planned batch in one round trip. */
export async function executeBatch(db: Queryable, plan: BatchPlan): Promise<BatchOutcome> {
  const { rows } = await db.query<BatchRow>({
    name: 'stream-migrate-load-batch',
    text: BATCH_STATEMENT,
    values: [
      plan.inserts.map((o) => o.customerId),
      plan.inserts.map((o) => o.productId),
      plan.inserts.map((o) => o.quantity),
      plan.inserts.map((o) => o.amount),
      plan.updates.map((u) => u.order.id),
      plan.updates.map((u) => u.order.status),
      plan.updates.map((u) => u.order.quantity),
      plan.updates.map((u) => u.amount),
      plan.cancels,
      plan.deletes,
      plan.tierChanges.map((t) => t.customerId),
      plan.tierChanges.map((t) => t.to),
      plan.moves.map((m) => m.order.id),
      plan.moves.map((m) => m.customerId),
    ],
  });
  const row = rows[0];
  if (!row) throw new Error('the load batch statement returned no row');
  const ids = row.ids ?? [];
  const inserted = ids.map((id, i) => ({ id: Number(id), productId: Number(row.products?.[i]), quantity: Number(row.quantities?.[i]) }));
  return {
    inserted,
    counts: { inserted: inserted.length, updated: row.updated, cancelled: row.cancelled, deleted: row.deleted, tierChanges: row.tier_changes, moved: row.moved },
    firstUs: row.first_us === null ? undefined : BigInt(row.first_us),
    lastUs: row.last_us === null ? undefined : BigInt(row.last_us),
  };
}

/**
 * Generates the demo workload: paced by a token bucket to `ratePerSecond` new orders, batches
 * planned by WorkloadPlanner, `connections` batches in flight. Stops at the duration or when the
 * signal aborts; batches already sent finish and count. A failed batch stops the run and throws.
 */
export async function runLoad(pool: pg.Pool, catalogue: Catalogue, options: LoadGeneratorOptions): Promise<LoadReport> {
  const now = options.now ?? (() => performance.now());
  const connections = options.connections ?? 4;
  const batchSize = batchSizeFor(options.ratePerSecond, options.ticksPerSecond ?? 20, options.maxBatch ?? 500);
  const planner = new WorkloadPlanner(catalogue, options.random, {
    ...(options.mix ? { mix: options.mix } : {}),
    ...(options.recentCapacity ? { recentCapacity: options.recentCapacity } : {}),
  });
  await warmUp(pool, connections);
  const start = now();
  const deadline = start + options.durationMs;
  const bucket = new TokenBucket(options.ratePerSecond, batchSize, start);
  const totals = { inserted: 0, updated: 0, cancelled: 0, deleted: 0, tierChanges: 0, moved: 0 };
  let batches = 0;
  let firstUs: bigint | undefined;
  let lastUs: bigint | undefined;
  // Set when a batch fails; the deadline alone stops each worker, since others may hold earlier slots.
  let stopped = false;
  let failure: unknown;

  const snapshot = (): LoadProgress => ({ elapsedMs: now() - start, counts: { ...totals } });
  const timer = options.onProgress ? setInterval(() => options.onProgress?.(snapshot()), options.progressIntervalMs ?? 1_000) : undefined;

  const worker = async (): Promise<void> => {
    while (!stopped && !options.signal?.aborted) {
      const at = now();
      const wait = bucket.reserve(batchSize, at);
      if (at + wait >= deadline) break;
      if (wait > 0) {
        const slept = await sleep(wait, true, options.signal ? { signal: options.signal } : {}).catch(() => false);
        if (!slept || stopped) break;
      }
      const plan = planner.plan(batchSize);
      const outcome = await executeBatch(pool, plan);
      planner.complete(plan, outcome.inserted);
      batches += 1;
      totals.inserted += outcome.counts.inserted;
      totals.updated += outcome.counts.updated;
      totals.cancelled += outcome.counts.cancelled;
      totals.deleted += outcome.counts.deleted;
      totals.tierChanges += outcome.counts.tierChanges;
      totals.moved += outcome.counts.moved;
      if (outcome.firstUs !== undefined && (firstUs === undefined || outcome.firstUs < firstUs)) firstUs = outcome.firstUs;
      if (outcome.lastUs !== undefined && (lastUs === undefined || outcome.lastUs > lastUs)) lastUs = outcome.lastUs;
    }
  };

  try {
    await Promise.all(
      Array.from({ length: connections }, () =>
        worker().catch((error: unknown) => {
          stopped = true;
          failure ??= error;
        }),
      ),
    );
  } finally {
    if (timer) clearInterval(timer);
  }
  if (failure !== undefined) throw failure;
  // The last slot before the deadline was taken; the run still lasts its duration, so the rate divides by it.
  const remaining = deadline - now();
  if (remaining > 0 && !options.signal?.aborted) await sleep(remaining, undefined, options.signal ? { signal: options.signal } : {}).catch(() => undefined);
  const interrupted = Boolean(options.signal?.aborted);
  const elapsed = now() - start;
  return {
    counts: { ...totals },
    // A timer may fire a hair early; a full run lasted its duration.
    elapsedMs: interrupted ? elapsed : Math.max(elapsed, options.durationMs),
    batches,
    batchSize,
    connections,
    window:
      firstUs === undefined || lastUs === undefined
        ? undefined
        : { from: new Date(Number(firstUs / 1000n)), to: new Date(Number((lastUs + 999n) / 1000n)) },
    interrupted,
  };
}

/**
 * Opens every connection and prepares the batch statement on each (an empty batch changes
 * nothing) before the clock starts, so connection set-up does not eat into the first seconds.
 */
async function warmUp(pool: pg.Pool, connections: number): Promise<void> {
  const clients = await Promise.all(Array.from({ length: connections }, () => pool.connect()));
  try {
    await Promise.all(clients.map((client) => executeBatch(client, EMPTY_PLAN)));
  } finally {
    for (const client of clients) client.release();
  }
}
