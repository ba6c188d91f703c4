import type pg from 'pg';
import type { SourceOrder } from '../domain/process-order.ts';
import { formatMoney } from '../domain/money.ts';
import type { ExtractedCells } from './transform.ts';
import type { BatchWindow } from './window.ts';

/** Rows per FETCH: large enough to amortise round trips, small enough that two batches in flight stay a few MB. */
export const FETCH_SIZE = 10_000;

const CURSOR = 'stream_migrate_batch_orders';

/**
 * The window's orders with the tier and category they join, in the cell order transform.ts
 * decodes. Money as text and created_at as whole epoch milliseconds, so nothing passes through a
 * float; the milliseconds are truncated like the stream's Date.parse of Debezium's microsecond
 * timestamps, so both sides carry the same created_at (and tier_changed_at, for the escalation
 * pattern: NULL on a source without the column, as the stream reads its absence). LEFT JOINs let
 * the transform count orders whose customer or product is missing instead of losing them
 * silently. Ordered by created_at, so summary windows complete one after another and can be
 * written and forgotten (the orders_created_at index that selects the window already yields this
 * order: no sort).
 */
function extractSql(tierChangedAt: boolean): string {
  return `
SELECT o.id, o.customer_id, o.product_id, o.quantity, o.amount::text, o.status,
       floor(extract(epoch FROM o.created_at) * 1000)::bigint,
       c.tier, p.category,
       ${tierChangedAt ? 'floor(extract(epoch FROM c.tier_changed_at) * 1000)::bigint' : 'NULL::bigint'}
  FROM public.orders o
  LEFT JOIN public.customers c ON c.id = o.customer_id
  LEFT JOIN public.products p ON p.id = o.product_id
 WHERE o.created_at >= $1 AND o.created_at < $2
 ORDER BY o.created_at`;
}

/** Whether the source has customers.tier_changed_at (migrations/source/0002; a foreign source may not). */
async function hasTierChangedAt(client: pg.Client): Promise<boolean> {
  const { rows } = await client.query<{ n: string }>(
    `SELECT count(*) AS n FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'customers' AND column_name = 'tier_changed_at'`,
  );
  return Number(rows[0]?.n ?? 0) > 0;
}

/**
 * A server-side cursor over the window's orders in one REPEATABLE READ, READ ONLY transaction of
 * the source: every batch and the count come from one snapshot (the "final state" the legacy job
 * computes from), and the process holds at most one FETCH of rows at a time.
 */
export class OrderExtraction {
  private open = true;
  private readonly client: pg.Client;
  /** Orders in the window, counted in the same snapshot (for progress). */
  readonly total: number;
  private readonly tierChangedAt: boolean;

  private constructor(
    client: pg.Client,
    total: number,
    tierChangedAt: boolean,
  ) {
    this.client = client;
    this.total = total;
    this.tierChangedAt = tierChangedAt;
  }

  static async start(client: pg.Client, window: BatchWindow): Promise<OrderExtraction> {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      const from = new Date(window.fromMs);
      const to = new Date(window.toMs);
      const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM public.orders WHERE created_at >= $1 AND created_at < $2', [from, to]);
      const tierChangedAt = await hasTierChangedAt(client);
      await client.query(`DECLARE ${CURSOR} NO SCROLL CURSOR FOR ${extractSql(tierChangedAt)}`, [from, to]);
      return new OrderExtraction(client, Number(rows[0]?.n ?? 0), tierChangedAt);
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

  /**
   * Partner and store orders of the window (read from their API and files) as extracted cells,
   * joined with the tier and category of the same snapshot, in created_at order.
   */
  async joinExternal(orders: readonly SourceOrder[], window: BatchWindow): Promise<readonly ExtractedCells[]> {
    const inWindow = orders.filter((o) => o.createdAt >= window.fromMs && o.createdAt < window.toMs).sort((a, b) => a.createdAt - b.createdAt || a.id - b.id);
    if (inWindow.length === 0) return [];
    const changedAt = this.tierChangedAt ? 'floor(extract(epoch FROM tier_changed_at) * 1000)::bigint::text' : 'NULL::text';
    const tiers = await this.client.query<{ id: string; tier: string; changed_at: string | null }>(`SELECT id::text, tier, ${changedAt} AS changed_at FROM public.customers WHERE id = ANY($1::bigint[])`, [
      [...new Set(inWindow.map((o) => o.customerId))],
    ]);
    const categories = await this.client.query<{ id: string; category: string }>('SELECT id::text, category FROM public.products WHERE id = ANY($1::bigint[])', [[...new Set(inWindow.map((o) => o.productId))]]);
    const customer = new Map(tiers.rows.map((r) => [Number(r.id), r]));
    const category = new Map(categories.rows.map((r) => [Number(r.id), r.category]));
    return inWindow.map((o) => [o.id, o.customerId, o.productId, o.quantity, formatMoney(o.amountCents), o.status, o.createdAt, customer.get(o.customerId)?.tier ?? null, category.get(o.productId) ?? null, customer.get(o.customerId)?.changed_at ?? null]);
  }

  /** Ends the read transaction (nothing was written, so commit and rollback are the same). */
  async close(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    await this.client.query('ROLLBACK');
  }
}

/**
 * Merges extra rows (sorted by created_at) into the cursor's batches, which arrive in created_at
 * order: each batch takes the extra rows up to its last created_at, an empty batch (the cursor is
 * done) takes the rest, so summary windows still complete one after another. Pure.
 */
export class CreatedAtMerge {
  private next = 0;
  private readonly extra: readonly ExtractedCells[];

  constructor(extra: readonly ExtractedCells[]) {
    this.extra = extra;
  }

  merge(batch: readonly ExtractedCells[]): readonly ExtractedCells[] {
    if (this.next >= this.extra.length) return batch;
    const last = batch.length === 0 ? Number.POSITIVE_INFINITY : createdAtOf(batch[batch.length - 1]!);
    let end = this.next;
    while (end < this.extra.length && createdAtOf(this.extra[end]!) <= last) end++;
    if (end === this.next) return batch;
    const taken = this.extra.slice(this.next, end);
    this.next = end;
    const merged: ExtractedCells[] = [];
    let i = 0;
    let j = 0;
    while (i < batch.length || j < taken.length) {
      if (j >= taken.length || (i < batch.length && createdAtOf(batch[i]!) <= createdAtOf(taken[j]!))) merged.push(batch[i++]!);
      else merged.push(taken[j++]!);
    }
    return merged;
  }
}

function createdAtOf(cells: ExtractedCells): number {
  return Number(cells[6]);
}
