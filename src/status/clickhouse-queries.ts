/**
 * Every ClickHouse statement `status` issues, in the subset 18.16 and current releases both
 * accept: values inlined (no query parameters), Decimal read through toString so money stays
 * exact, DateTime read as Unix seconds (JSONEachRow prints it in the server's time zone
 * otherwise), and no alias equal to the name of a column it is computed from.
 */
import { quote } from '../clients/clickhouse.ts';
import { identifier } from '../output/clickhouse-sql.ts';

/** Rows of `businessTotalsSql`; Int64/UInt64 arrive as strings. */
export interface BusinessTotalsRow {
  readonly orders: string | number;
  readonly revenue_text: string;
}

/** Live orders created at or after `fromUnixSeconds` and their final amounts. */
export function businessTotalsSql(database: string, fromUnixSeconds: number): string {
  return `SELECT count() AS orders, toString(sum(final_amount)) AS revenue_text FROM ${identifier(database)}.processed_orders WHERE created_at >= toDateTime(${wholeSeconds(fromUnixSeconds)})`;
}

export interface AlertsBySeverityRow {
  readonly severity: string;
  readonly alert_count: string | number;
}

/** Active fraud alerts on orders created at or after `fromUnixSeconds`, per severity. */
export function alertsBySeveritySql(database: string, fromUnixSeconds: number): string {
  return `SELECT severity, count() AS alert_count FROM ${identifier(database)}.fraud_alerts WHERE created_at >= toDateTime(${wholeSeconds(fromUnixSeconds)}) GROUP BY severity ORDER BY severity`;
}

export interface LatestAlertRow {
  readonly order_id: string | number;
  readonly customer_id: string | number;
  readonly final_amount_text: string;
  readonly severity: string;
  readonly reason: string;
  readonly created_ts: string | number;
  readonly alerted_ts: string | number;
}

/** The newest active fraud alerts, newest first. */
export function latestAlertsSql(database: string, limit: number): string {
  return `SELECT order_id, customer_id, toString(final_amount) AS final_amount_text, severity, reason, toUnixTimestamp(created_at) AS created_ts, toUnixTimestamp(alerted_at) AS alerted_ts FROM ${identifier(database)}.fraud_alerts ORDER BY alerted_at DESC, order_id DESC LIMIT ${Math.max(1, Math.floor(limit))}`;
}

export interface OrdersPerMinuteRow {
  readonly minute_ts: string | number;
  readonly orders: string | number;
  readonly revenue_text: string;
}

/** Live orders and their final amounts per minute of `created_at`, from the current-state view. */
export function ordersPerMinuteSql(database: string, fromUnixSeconds: number): string {
  return `SELECT toUnixTimestamp(toStartOfMinute(created_at)) AS minute_ts, count() AS orders, toString(sum(final_amount)) AS revenue_text FROM ${identifier(database)}.processed_orders WHERE created_at >= toDateTime(${wholeSeconds(fromUnixSeconds)}) GROUP BY minute_ts ORDER BY minute_ts`;
}

export interface TopCustomerRow {
  readonly customer_id: string | number;
  readonly orders: string | number;
  readonly revenue_text: string;
}

/**
 * The customers with the largest final amounts over the summary windows starting at or after
 * `fromUnixSeconds`: read from the 5-minute pre-aggregate, not from every order.
 */
export function topCustomersSql(database: string, fromUnixSeconds: number, limit: number): string {
  return `SELECT customer_id, sum(order_count) AS orders, toString(sum(total_final_amount)) AS revenue_text FROM ${identifier(database)}.order_summaries WHERE window_start >= toDateTime(${wholeSeconds(fromUnixSeconds)}) GROUP BY customer_id ORDER BY sum(total_final_amount) DESC, customer_id LIMIT ${Math.max(1, Math.floor(limit))}`;
}

export interface ColumnCountRow {
  readonly n: string | number;
}

/** 1 when `table` has `column`, else 0: the fraud `pattern` column arrives with a later migration. */
export function hasColumnSql(database: string, table: string, column: string): string {
  return `SELECT count() AS n FROM system.columns WHERE database = ${quote(database)} AND table = ${quote(table)} AND name = ${quote(column)}`;
}

export interface AlertsByPatternRow {
  readonly pattern: string;
  readonly alert_count: string | number;
}

/** Active fraud alerts on orders created at or after `fromUnixSeconds`, per pattern (empty for the single-order rules). */
export function alertsByPatternSql(database: string, fromUnixSeconds: number): string {
  return `SELECT pattern, count() AS alert_count FROM ${identifier(database)}.fraud_alerts WHERE created_at >= toDateTime(${wholeSeconds(fromUnixSeconds)}) GROUP BY pattern ORDER BY pattern`;
}

function wholeSeconds(unixSeconds: number): number {
  if (!Number.isFinite(unixSeconds) || unixSeconds < 0) throw new RangeError(`not a Unix time: ${unixSeconds}`);
  return Math.floor(unixSeconds);
}
