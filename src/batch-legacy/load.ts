import type pg from 'pg';
import { withPostgres, type PostgresTarget } from '../clients/postgres.ts';
import { formatMoney } from '../domain/money.ts';
import { channelOfOrderId } from '../sources/order-input.ts';
import { OUTPUT_TABLES, type ColumnType, type OutputTable, type OutputTableName } from '../domain/output-tables.ts';
import type { FraudAlert, ProcessedOrder } from '../domain/process-order.ts';
import { migrate, type MigrationResult } from '../state/migrator.ts';
import { STATE_SCHEMA } from '../state/state-store.ts';
import type { SummaryRow } from './transform.ts';
import type { BatchWindow } from './window.ts';

/** Rows per INSERT statement: one parameter array per column, so the statement size is bounded. */
export const INSERT_CHUNK = 10_000;

/** Every batch load takes this transaction lock, so two runs over overlapping windows never interleave. */
export const BATCH_LOAD_LOCK = 'stream-migrate:batch-load';

export type RowCounts = Record<OutputTableName, number>;

export function zeroCounts(): RowCounts {
  return { processed_orders: 0, order_summaries: 0, fraud_alerts: 0 };
}

/** Creates the batch output tables (migrations/warehouse) when missing; history beside the state set's. */
export async function ensureBatchOutputs(warehouse: PostgresTarget): Promise<MigrationResult> {
  return withPostgres(warehouse, 'warehouse', (client) => migrate(client, 'warehouse', STATE_SCHEMA));
}

/** Where each column's value comes from in the batch's rows (timestamps as epoch ms, money as decimal text); run-time columns take the run's time. */
export type CellSources<R> = Readonly<Record<string, (row: R) => string | number>>;

const PROCESSED_CELLS: CellSources<ProcessedOrder> = {
  order_id: (r) => r.orderId,
  customer_id: (r) => r.customerId,
  customer_tier: (r) => r.customerTier,
  product_id: (r) => r.productId,
  product_category: (r) => r.productCategory,
  quantity: (r) => r.quantity,
  amount: (r) => formatMoney(r.amountCents),
  discount: (r) => formatMoney(r.discountCents),
  tax: (r) => formatMoney(r.taxCents),
  final_amount: (r) => formatMoney(r.finalCents),
  status: (r) => r.status,
  created_at: (r) => r.createdAt,
  // Partner and store orders carry their channel in their key's reserved range (src/sources/order-input.ts).
  channel: (r) => channelOfOrderId(r.orderId),
};

const ALERT_CELLS: CellSources<FraudAlert> = {
  order_id: (r) => r.orderId,
  customer_id: (r) => r.customerId,
  final_amount: (r) => formatMoney(r.finalCents),
  severity: (r) => r.severity,
  reason: (r) => r.reason,
  created_at: (r) => r.createdAt,
  pattern: (r) => r.pattern,
  matched_order_ids: (r) => r.matchedOrderIds,
  window_start: (r) => r.windowStartMs,
  window_end: (r) => r.windowEndMs,
};

const SUMMARY_CELLS: CellSources<SummaryRow> = {
  customer_id: (r) => r.customerId,
  window_start: (r) => r.windowStartMs,
  window_end: (r) => r.windowEndMs,
  order_count: (r) => r.orderCount,
  total_amount: (r) => formatMoney(r.totalAmountCents),
  total_final_amount: (r) => formatMoney(r.totalFinalCents),
};

const ARRAY_TYPE: Readonly<Record<ColumnType, string>> = {
  id: 'bigint[]',
  int: 'int[]',
  count: 'int[]',
  money: 'numeric[]',
  'wide-money': 'numeric[]',
  text: 'text[]',
  // Epoch milliseconds, made timestamptz by integer interval arithmetic: exact, and cheaper to send and parse than text.
  timestamp: 'bigint[]',
};

const fromEpochMs = (expr: string) => `timestamptz 'epoch' + ${expr} * interval '1 millisecond'`;

/** A prepared load of one table: its INSERT and how a chunk of rows becomes its parameters. */
export interface TableInsert<R> {
  readonly sql: string;
  params(rows: readonly R[], runAtMs: number): unknown[];
}

/**
 * The INSERT of one output table from its definition: one parameter array per column the batch
 * computes, unnested into rows; run-time columns take one value, the run's time. ON CONFLICT: an
 * order whose created_at moved into this window since an earlier run still has its row under the
 * old window; the final state puts it here, so the row moves.
 */
export function tableInsert<R>(table: OutputTable, cells: CellSources<R>, schema = 'public'): TableInsert<R> {
  const computed = table.columns.filter((c) => c.role === 'value');
  const missing = computed.filter((c) => !cells[c.name]).map((c) => c.name);
  const unknown = Object.keys(cells).filter((name) => !computed.some((c) => c.name === name));
  if (missing.length > 0 || unknown.length > 0) {
    throw new Error(`the batch load of ${table.name} lacks a source for ${missing.join(', ') || '-'} and has one for no such column ${unknown.join(', ') || '-'}`);
  }
  const runTimeParam = computed.length + 1;
  const select = table.columns.map((c) => {
    if (c.role === 'run-time') return fromEpochMs(`$${runTimeParam}::bigint`);
    return c.type === 'timestamp' ? fromEpochMs(`u.${c.name}`) : `u.${c.name}`;
  });
  const arrays = computed.map((c, i) => `$${i + 1}::${ARRAY_TYPE[c.type]}`);
  const updates = table.columns.filter((c) => !table.key.includes(c.name)).map((c) => `${c.name} = EXCLUDED.${c.name}`);
  const hasRunTime = table.columns.some((c) => c.role === 'run-time');
  const sql = `INSERT INTO ${schema}.${table.name} (${table.columns.map((c) => c.name).join(', ')})
SELECT ${select.join(', ')}
  FROM unnest(${arrays.join(', ')}) AS u(${computed.map((c) => c.name).join(', ')})
ON CONFLICT (${table.key.join(', ')}) DO UPDATE SET ${updates.join(', ')}`;
  const sources = computed.map((c) => cells[c.name]!);
  return {
    sql,
    params: (rows, runAtMs) => [...sources.map((source) => rows.map(source)), ...(hasRunTime ? [runAtMs] : [])],
  };
}

/** The batch's value of each output column, per table. */
export const BATCH_CELLS = { processed_orders: PROCESSED_CELLS, fraud_alerts: ALERT_CELLS, order_summaries: SUMMARY_CELLS } as const;

const INSERT_PROCESSED = tableInsert(OUTPUT_TABLES.processed_orders, PROCESSED_CELLS);
const INSERT_ALERTS = tableInsert(OUTPUT_TABLES.fraud_alerts, ALERT_CELLS);
const INSERT_SUMMARIES = tableInsert(OUTPUT_TABLES.order_summaries, SUMMARY_CELLS);

/** The statement that deletes (or, as `count(*)`, counts) one table's rows of a window, by its event-time column. */
export function windowRowsSql(table: OutputTable, what: 'DELETE' | 'SELECT count(*)', schema = 'public'): string {
  return `${what} FROM ${schema}.${table.name} WHERE ${table.eventTime} >= $1 AND ${table.eventTime} < $2`;
}

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
  private readonly client: pg.Client;

  private constructor(
    client: pg.Client,
    deleted: RowCounts,
  ) {
    this.client = client;
    this.deleted = deleted;
  }

  /** BEGIN, wait for the batch-load lock, delete the window's rows from the three tables. */
  static async begin(client: pg.Client, window: BatchWindow): Promise<WindowLoad> {
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [BATCH_LOAD_LOCK]);
      const range = [new Date(window.fromMs), new Date(window.toMs)];
      const processed = await client.query(windowRowsSql(OUTPUT_TABLES.processed_orders, 'DELETE'), range);
      const summaries = await client.query(windowRowsSql(OUTPUT_TABLES.order_summaries, 'DELETE'), range);
      const alerts = await client.query(windowRowsSql(OUTPUT_TABLES.fraud_alerts, 'DELETE'), range);
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
      await this.client.query(INSERT_PROCESSED.sql, INSERT_PROCESSED.params(chunk, processedAtMs));
      this.inserted.processed_orders += chunk.length;
    }
  }

  async insertAlerts(rows: readonly FraudAlert[], alertedAtMs: number): Promise<void> {
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
      const chunk = rows.slice(i, i + INSERT_CHUNK);
      await this.client.query(INSERT_ALERTS.sql, INSERT_ALERTS.params(chunk, alertedAtMs));
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
    await this.client.query(INSERT_SUMMARIES.sql, INSERT_SUMMARIES.params(chunk, 0));
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
