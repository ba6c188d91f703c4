import type pg from 'pg';
import { withPostgres, type PostgresTarget } from '../clients/postgres.ts';
import { formatMoney } from '../domain/money.ts';
import type { FraudAlert, ProcessedOrder } from '../domain/process-order.ts';
import { migrate, type MigrationResult } from '../state/migrator.ts';
import { STATE_SCHEMA } from '../state/state-store.ts';
import type { SummaryRow } from './transform.ts';
import type { BatchWindow } from './window.ts';

/** Rows per INSERT statement: one parameter array per column, so the statement size is bounded. */
export const INSERT_CHUNK = 10_000;

/** Every batch load takes this transaction lock, so two runs over overlapping windows never interleave. */
export const BATCH_LOAD_LOCK = 'stream-migrate:batch-load';

export type OutputTable = 'processed_orders' | 'order_summaries' | 'fraud_alerts';
export type RowCounts = Record<OutputTable, number>;

export function zeroCounts(): RowCounts {
  return { processed_orders: 0, order_summaries: 0, fraud_alerts: 0 };
}

/** Creates the batch output tables (migrations/warehouse) when missing; history beside the state set's. */
export async function ensureBatchOutputs(warehouse: PostgresTarget): Promise<MigrationResult> {
  return withPostgres(warehouse, 'warehouse', (client) => migrate(client, 'warehouse', STATE_SCHEMA));
}

// Timestamps travel as whole epoch milliseconds and become timestamptz by integer interval
// arithmetic in PostgreSQL: exact, and cheaper to send and parse than text timestamps.
const EPOCH_MS = (column: string) => `timestamptz 'epoch' + ${column} * interval '1 millisecond'`;

// ON CONFLICT: an order whose created_at moved into this window since an earlier run still has
// its row under the old window; the final state puts it here, so the row moves.
const INSERT_PROCESSED = `
INSERT INTO public.processed_orders
  (order_id, customer_id, customer_tier, product_id, product_category, quantity, amount, discount, tax, final_amount, status, created_at, processed_at)
SELECT u.order_id, u.customer_id, u.customer_tier, u.product_id, u.product_category, u.quantity, u.amount, u.discount, u.tax, u.final_amount, u.status,
       ${EPOCH_MS('u.created_ms')}, ${EPOCH_MS('$13::bigint')}
  FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::int[], $7::numeric[], $8::numeric[], $9::numeric[], $10::numeric[], $11::text[], $12::bigint[])
       AS u(order_id, customer_id, customer_tier, product_id, product_category, quantity, amount, discount, tax, final_amount, status, created_ms)
ON CONFLICT (order_id) DO UPDATE SET
  customer_id = EXCLUDED.customer_id, customer_tier = EXCLUDED.customer_tier, product_id = EXCLUDED.product_id,
  product_category = EXCLUDED.product_category, quantity = EXCLUDED.quantity, amount = EXCLUDED.amount,
  discount = EXCLUDED.discount, tax = EXCLUDED.tax, final_amount = EXCLUDED.final_amount, status = EXCLUDED.status,
  created_at = EXCLUDED.created_at, processed_at = EXCLUDED.processed_at`;

const INSERT_ALERTS = `
INSERT INTO public.fraud_alerts (order_id, customer_id, final_amount, severity, reason, created_at, alerted_at)
SELECT u.order_id, u.customer_id, u.final_amount, u.severity, u.reason, ${EPOCH_MS('u.created_ms')}, ${EPOCH_MS('$7::bigint')}
  FROM unnest($1::bigint[], $2::bigint[], $3::numeric[], $4::text[], $5::text[], $6::bigint[])
       AS u(order_id, customer_id, final_amount, severity, reason, created_ms)
ON CONFLICT (order_id) DO UPDATE SET
  customer_id = EXCLUDED.customer_id, final_amount = EXCLUDED.final_amount, severity = EXCLUDED.severity,
  reason = EXCLUDED.reason, created_at = EXCLUDED.created_at, alerted_at = EXCLUDED.alerted_at`;

const INSERT_SUMMARIES = `
INSERT INTO public.order_summaries (customer_id, window_start, window_end, order_count, total_amount, total_final_amount)
SELECT u.customer_id, ${EPOCH_MS('u.start_ms')}, ${EPOCH_MS('u.end_ms')}, u.order_count, u.total_amount, u.total_final_amount
  FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::int[], $5::numeric[], $6::numeric[])
       AS u(customer_id, start_ms, end_ms, order_count, total_amount, total_final_amount)`;

/**
 * One window's replacement in the warehouse, as ONE transaction held open while the rows stream
 * in: the window's old rows are deleted first, each chunk is inserted as it is transformed, and
 * nothing is visible to readers until commit. A crash or error before commit leaves the old rows;
 * a re-run replaces them with the same rows.
 */
export class WindowLoad {
  readonly deleted: RowCounts;
  readonly inserted: RowCounts = zeroCounts();
  private finished = false;

  private constructor(
    private readonly client: pg.Client,
    deleted: RowCounts,
  ) {
    this.deleted = deleted;
  }

  /** BEGIN, wait for the batch-load lock, delete the window's rows from the three tables. */
  static async begin(client: pg.Client, window: BatchWindow): Promise<WindowLoad> {
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [BATCH_LOAD_LOCK]);
      const range = [new Date(window.fromMs), new Date(window.toMs)];
      const processed = await client.query('DELETE FROM public.processed_orders WHERE created_at >= $1 AND created_at < $2', range);
      const summaries = await client.query('DELETE FROM public.order_summaries WHERE window_start >= $1 AND window_start < $2', range);
      const alerts = await client.query('DELETE FROM public.fraud_alerts WHERE created_at >= $1 AND created_at < $2', range);
      return new WindowLoad(client, {
        processed_orders: processed.rowCount ?? 0,
        order_summaries: summaries.rowCount ?? 0,
        fraud_alerts: alerts.rowCount ?? 0,
      });
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }

  async insertProcessed(rows: readonly ProcessedOrder[], processedAtMs: number): Promise<void> {
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
      const chunk = rows.slice(i, i + INSERT_CHUNK);
      await this.client.query(INSERT_PROCESSED, [
        chunk.map((r) => r.orderId),
        chunk.map((r) => r.customerId),
        chunk.map((r) => r.customerTier),
        chunk.map((r) => r.productId),
        chunk.map((r) => r.productCategory),
        chunk.map((r) => r.quantity),
        chunk.map((r) => formatMoney(r.amountCents)),
        chunk.map((r) => formatMoney(r.discountCents)),
        chunk.map((r) => formatMoney(r.taxCents)),
        chunk.map((r) => formatMoney(r.finalCents)),
        chunk.map((r) => r.status),
        chunk.map((r) => r.createdAt),
        processedAtMs,
      ]);
      this.inserted.processed_orders += chunk.length;
    }
  }

  async insertAlerts(rows: readonly FraudAlert[], alertedAtMs: number): Promise<void> {
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
      const chunk = rows.slice(i, i + INSERT_CHUNK);
      await this.client.query(INSERT_ALERTS, [
        chunk.map((r) => r.orderId),
        chunk.map((r) => r.customerId),
        chunk.map((r) => formatMoney(r.finalCents)),
        chunk.map((r) => r.severity),
        chunk.map((r) => r.reason),
        chunk.map((r) => r.createdAt),
        alertedAtMs,
      ]);
      this.inserted.fraud_alerts += chunk.length;
    }
  }

  /** Inserts summary rows from an iterator, a chunk at a time, so no second copy of them is built. */
  async insertSummaries(rows: Iterable<SummaryRow>): Promise<void> {
    let chunk: SummaryRow[] = [];
    for (const row of rows) {
      chunk.push(row);
      if (chunk.length === INSERT_CHUNK) {
        await this.insertSummaryChunk(chunk);
        chunk = [];
      }
    }
    if (chunk.length > 0) await this.insertSummaryChunk(chunk);
  }

  private async insertSummaryChunk(chunk: readonly SummaryRow[]): Promise<void> {
    await this.client.query(INSERT_SUMMARIES, [
      chunk.map((r) => r.customerId),
      chunk.map((r) => r.windowStartMs),
      chunk.map((r) => r.windowEndMs),
      chunk.map((r) => r.orderCount),
      chunk.map((r) => formatMoney(r.totalAmountCents)),
      chunk.map((r) => formatMoney(r.totalFinalCents)),
    ]);
    this.inserted.order_summaries += chunk.length;
  }

  /**
   * Commits the window. `beforeCommit` runs inside the same transaction, so the run's record
   * (status succeeded, row counts) becomes visible exactly when the rows do.
   */
  async commit(beforeCommit?: (db: Pick<pg.Client, 'query'>) => Promise<void>): Promise<void> {
    if (beforeCommit) await beforeCommit(this.client);
    await this.client.query('COMMIT');
    this.finished = true;
  }

  async rollback(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    await this.client.query('ROLLBACK');
  }
}
