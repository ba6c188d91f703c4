/**
 * The business figures of the stream side, read from ClickHouse's current-state views and the
 * summary pre-aggregate (never from every stored version). `status` and `dashboard` both read
 * them through these functions, so the two always show the same numbers.
 */
import type { ClickHouse } from '../clients/clickhouse.ts';
import { formatMoney, parseMoney } from '../domain/money.ts';
import {
  alertsByPatternSql,
  alertsBySeveritySql,
  businessTotalsSql,
  hasColumnSql,
  latestAlertsSql,
  ordersPerMinuteSql,
  topCustomersSql,
  type AlertsByPatternRow,
  type AlertsBySeverityRow,
  type BusinessTotalsRow,
  type ColumnCountRow,
  type LatestAlertRow,
  type OrdersPerMinuteRow,
  type TopCustomerRow,
} from './clickhouse-queries.ts';

/** The span the business figures cover, ending now. */
export const BUSINESS_WINDOW_MS = 60 * 60 * 1000;

type Reader = Pick<ClickHouse, 'query'>;

export interface BusinessFigures {
  readonly windowFrom: string;
  readonly windowTo: string;
  readonly orders: number;
  /** Sum of final amounts, a decimal string with two places. */
  readonly revenue: string;
  /** revenue / orders rounded half-even to cents; null without orders. */
  readonly averageOrderValue: string | null;
  readonly fraudAlerts: number;
  /** alerts / orders as a fraction; null without orders. */
  readonly fraudRate: number | null;
  readonly alertsBySeverity: Readonly<Record<string, number>>;
}

export interface AlertRow {
  readonly orderId: number;
  readonly customerId: number;
  readonly finalAmount: string;
  readonly severity: string;
  readonly reason: string;
  readonly createdAt: string;
  readonly alertedAt: string;
}

export interface MinuteRow {
  /** Start of the minute, ISO-8601 UTC. */
  readonly minute: string;
  readonly orders: number;
  readonly revenue: string;
}

export interface TopCustomer {
  readonly customerId: number;
  readonly orders: number;
  readonly revenue: string;
}

/** The start of the business window ending at `at`, in whole seconds. */
export function businessWindowStart(at: Date): Date {
  return new Date(Math.floor((at.getTime() - BUSINESS_WINDOW_MS) / 1000) * 1000);
}

/** Orders, revenue, average order value and active alerts per severity since `from`. */
export async function readBusinessFigures(ch: Reader, database: string, from: Date, to: Date): Promise<BusinessFigures> {
  const fromSeconds = from.getTime() / 1000;
  const [totals, severities] = await Promise.all([
    ch.query<BusinessTotalsRow>(businessTotalsSql(database, fromSeconds)),
    ch.query<AlertsBySeverityRow>(alertsBySeveritySql(database, fromSeconds)),
  ]);
  return businessFigures(totals[0], severities, from, to);
}

/** The newest active fraud alerts, newest first. */
export async function readLatestAlerts(ch: Reader, database: string, limit: number): Promise<AlertRow[]> {
  return (await ch.query<LatestAlertRow>(latestAlertsSql(database, limit))).map(alertRow);
}

/** Orders and revenue per minute since `from`; minutes without orders are absent. */
export async function readOrdersPerMinute(ch: Reader, database: string, from: Date): Promise<MinuteRow[]> {
  const rows = await ch.query<OrdersPerMinuteRow>(ordersPerMinuteSql(database, from.getTime() / 1000));
  return rows.map((r) => ({ minute: new Date(Number(r.minute_ts) * 1000).toISOString(), orders: Number(r.orders), revenue: formatMoney(parseMoney(normaliseMoney(r.revenue_text))) }));
}

/** The customers with the largest final amounts in the summary windows starting at or after `from`. */
export async function readTopCustomers(ch: Reader, database: string, from: Date, limit: number): Promise<TopCustomer[]> {
  const rows = await ch.query<TopCustomerRow>(topCustomersSql(database, from.getTime() / 1000, limit));
  return rows.map((r) => ({ customerId: Number(r.customer_id), orders: Number(r.orders), revenue: formatMoney(parseMoney(normaliseMoney(r.revenue_text))) }));
}

/**
 * Active fraud alerts since `from` per pattern, or null while `fraud_alerts` has no `pattern`
 * column (the patterns arrive with a later migration; the dashboard then hides the chart).
 */
export async function readAlertsByPattern(ch: Reader, database: string, from: Date): Promise<Record<string, number> | null> {
  const [column] = await ch.query<ColumnCountRow>(hasColumnSql(database, 'fraud_alerts', 'pattern'));
  if (Number(column?.n ?? 0) === 0) return null;
  const rows = await ch.query<AlertsByPatternRow>(alertsByPatternSql(database, from.getTime() / 1000));
  const byPattern: Record<string, number> = {};
  // The single-order rules (HIGH, MEDIUM) leave the pattern empty.
  for (const row of rows) byPattern[row.pattern === '' ? 'single order' : row.pattern] = Number(row.alert_count);
  return byPattern;
}

/** The figures from the raw query rows; money stays in integer cents throughout. */
export function businessFigures(totals: BusinessTotalsRow | undefined, severities: readonly AlertsBySeverityRow[], from: Date, to: Date): BusinessFigures {
  const orders = Number(totals?.orders ?? 0);
  const revenueCents = parseMoney(normaliseMoney(totals?.revenue_text ?? '0'));
  const alertsBySeverity: Record<string, number> = { HIGH: 0, MEDIUM: 0 };
  for (const row of severities) alertsBySeverity[row.severity] = (alertsBySeverity[row.severity] ?? 0) + Number(row.alert_count);
  const fraudAlerts = Object.values(alertsBySeverity).reduce((a, b) => a + b, 0);
  return {
    windowFrom: from.toISOString(),
    windowTo: to.toISOString(),
    orders,
    revenue: formatMoney(revenueCents),
    averageOrderValue: orders > 0 ? formatMoney(divideHalfEven(revenueCents, orders)) : null,
    fraudAlerts,
    fraudRate: orders > 0 ? fraudAlerts / orders : null,
    alertsBySeverity,
  };
}

/** ClickHouse prints a Decimal sum with its scale ("12.50") but an empty sum may come as "0". */
function normaliseMoney(text: string): string {
  const [whole = '0', fraction = ''] = text.trim().split('.');
  return `${whole}.${fraction.padEnd(2, '0')}`;
}

/** Integer division rounded half to even (banker's rounding), as money is rounded everywhere else. */
export function divideHalfEven(numerator: number, denominator: number): number {
  if (denominator === 0) throw new RangeError('division by zero');
  const sign = Math.sign(numerator) * Math.sign(denominator) < 0 ? -1 : 1;
  const n = Math.abs(numerator);
  const d = Math.abs(denominator);
  const quotient = Math.floor(n / d);
  const twice = 2 * (n - quotient * d);
  const rounded = twice > d || (twice === d && quotient % 2 === 1) ? quotient + 1 : quotient;
  return sign * rounded || 0;
}

function alertRow(row: LatestAlertRow): AlertRow {
  return {
    orderId: Number(row.order_id),
    customerId: Number(row.customer_id),
    // Current ClickHouse releases print a Decimal without trailing zeros ("1222.2").
    finalAmount: formatMoney(parseMoney(normaliseMoney(row.final_amount_text))),
    severity: row.severity,
    reason: row.reason,
    createdAt: new Date(Number(row.created_ts) * 1000).toISOString(),
    alertedAt: new Date(Number(row.alerted_ts) * 1000).toISOString(),
  };
}
