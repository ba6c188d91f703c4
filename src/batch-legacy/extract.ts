import type pg from 'pg';
import type { ExtractedCells } from './transform.ts';
import type { BatchWindow } from './window.ts';

/** Rows per FETCH: large enough to amortise round trips, small enough that two batches in flight stay a few MB. */
export const FETCH_SIZE = 10_000;

const CURSOR = 'stream_migrate_batch_orders';

/**
 * The window's orders with the tier and category they join, in the cell order transform.ts
 * decodes. Money as text and created_at as whole epoch milliseconds, so nothing passes through a
 * float; the milliseconds are truncated like the stream's Date.parse of Debezium's microsecond
 * timestamps, so both sides carry the same created_at. LEFT JOINs let the transform count orders
 * whose customer or product is missing instead of losing them silently. Ordered by created_at, so
 * summary windows complete one after another and can be written and forgotten (the orders_created_at
 * index that selects the window already yields this order: no sort).
 */
const EXTRACT_SQL = `
SELECT o.id, o.customer_id, o.product_id, o.quantity, o.amount::text, o.status,
       floor(extract(epoch FROM o.created_at) * 1000)::bigint,
       c.tier, p.category
  FROM public.orders o
  LEFT JOIN public.customers c ON c.id = o.customer_id
  LEFT JOIN public.products p ON p.id = o.product_id
 WHERE o.created_at >= $1 AND o.created_at < $2
 ORDER BY o.created_at`;

/**
 * A server-side cursor over the window's orders in one REPEATABLE READ, READ ONLY transaction of
 * the source: every batch and the count come from one snapshot (the "final state" the legacy job
 * computes from), and the process holds at most one FETCH of rows at a time.
 */
export class OrderExtraction {
  private open = true;

  private constructor(
    private readonly client: pg.Client,
    /** Orders in the window, counted in the same snapshot (for progress). */
    readonly total: number,
  ) {}

  static async start(client: pg.Client, window: BatchWindow): Promise<OrderExtraction> {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      const from = new Date(window.fromMs);
      const to = new Date(window.toMs);
      const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM public.orders WHERE created_at >= $1 AND created_at < $2', [from, to]);
      await client.query(`DECLARE ${CURSOR} NO SCROLL CURSOR FOR ${EXTRACT_SQL}`, [from, to]);
      return new OrderExtraction(client, Number(rows[0]?.n ?? 0));
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }

  /** The next batch of up to FETCH_SIZE rows; empty when the cursor is exhausted. */
  async next(): Promise<readonly ExtractedCells[]> {
    if (!this.open) return [];
    const result = await this.client.query<unknown[]>({ text: `FETCH ${FETCH_SIZE} FROM ${CURSOR}`, rowMode: 'array' });
    return result.rows;
  }

  /** Ends the read transaction (nothing was written, so commit and rollback are the same). */
  async close(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    await this.client.query('ROLLBACK');
  }
}
