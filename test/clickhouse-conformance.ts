/**
 * One check of the ClickHouse SQL this product sends, run against any ClickHouse: 18.16 on the
 * test stack (test/integration/output-tables.test.ts) and a current release in-process through
 * chdb (src/output/clickhouse-current.test.ts). On a database migrated with migrations/clickhouse
 * it checks the tables against the definition, writes records as the sink does (from the
 * processor's own encoding), reads the views, runs validation's first-pass, drill-down, detail,
 * estimate and latency SQL and the status figures, and compares each with values computed here.
 */
import { expect } from 'vitest';
import type { ClickHouse } from '../src/clients/clickhouse.ts';
import type { ConsumedRecord } from '../src/clients/kafka.ts';
import { comparedColumns, keyColumns, OUTPUT_TABLE_NAMES, OUTPUT_TABLES, TYPES, type Channel, type OutputTableName } from '../src/domain/output-tables.ts';
import type { FraudAlert, ProcessedOrder } from '../src/domain/process-order.ts';
import { TIERS } from '../src/domain/rules.ts';
import { windowStartFor } from '../src/domain/windows.ts';
import { clickhouseSchemaDrift } from '../src/output/clickhouse-schema.ts';
import { duplicateKeysSql, insertRowsSql, tableCountsSql } from '../src/output/clickhouse-sql.ts';
import { latestPerKey, toSinkRow, versionsTable } from '../src/output/sink-rows.ts';
import { readBusinessFigures, readLatestAlerts, readTopCustomers } from '../src/status/business.ts';
import { encodeEmission } from '../src/stream/records.ts';
import { canonicalRow, canonicalValue, md5Hex, rowHashSum } from '../src/validation/canonical.ts';
import { chDetailSql, chDrillSql, chEstimateSql, chFirstPassSql, chLatencySql, chRowsPerSql, type SqlTarget, type StreamRead } from '../src/validation/fingerprint-sql.ts';
import { bucketOf, keyComponent, keyHash, TABLE_SPECS } from '../src/validation/tables.ts';

const FROM = Date.parse('2026-11-20T00:00:00Z');
const TO = Date.parse('2026-11-20T01:00:00Z');
const WINDOW = { fromSec: FROM / 1000, toSec: TO / 1000 };
const NOW_ISO = '2026-11-20T02:00:00.000Z';
/** The summary window the records are encoded with. */
const WINDOW_MINUTES = 5;
const CATEGORIES = ['books', 'electronics', 'toys|odd', 'café'];

/** A canonical row per live output row, by column name. */
type Expected = Record<OutputTableName, Map<string, Record<string, string>>>;

function order(n: number, createdAt: number, amountCents: number): ProcessedOrder {
  const discountCents = Math.floor(amountCents / 20);
  const taxCents = Math.floor((amountCents - discountCents) / 10);
  return {
    orderId: 1_000 + n,
    customerId: 1 + (n % 6),
    customerTier: TIERS[n % TIERS.length]!,
    productId: 10 + (n % 4),
    productCategory: CATEGORIES[n % CATEGORIES.length]!,
    quantity: 1 + (n % 3),
    amountCents,
    discountCents,
    taxCents,
    finalCents: amountCents - discountCents + taxCents,
    status: n % 4 === 0 ? 'SHIPPED' : 'PAID',
    createdAt,
  };
}

const record = (topic: string, key: string, value: string | null, offset: bigint): ConsumedRecord => ({
  topic,
  partition: 0,
  offset,
  key: Buffer.from(key),
  value: value === null ? null : Buffer.from(value),
  headers: {},
  timestamp: 0,
});

const canonical = (table: OutputTableName, values: Record<string, unknown>): Record<string, string> =>
  Object.fromEntries(OUTPUT_TABLES[table].columns.filter((c) => c.role === 'value').map((c) => [c.name, canonicalValue(TYPES[c.type].canonical, values[c.name])]));

/** Writes 60 orders (each in two versions, one deleted, one outside the window), their summaries and alerts as the sink does; returns what each table must answer. */
async function writeAsTheSink(ch: ClickHouse, database: string): Promise<Expected> {
  const expected: Expected = { processed_orders: new Map(), order_summaries: new Map(), fraud_alerts: new Map() };
  const records: Record<OutputTableName, ConsumedRecord[]> = { processed_orders: [], order_summaries: [], fraud_alerts: [] };
  let offset = 0n;
  const emit = (table: OutputTableName, key: string, value: string | null) => records[table].push(record(table, key, value, ++offset));
  const orders = Array.from({ length: 60 }, (_, n) => order(n, FROM + 1_000 + n * 59_123 + (n % 1_000), 5_000 + ((n * 7_919) % 300_000)));
  orders.push(order(60, TO, 12_345));
  const summaries = new Map<string, { customerId: number; windowStartMs: number; orderCount: number; totalAmountCents: number; totalFinalCents: number }>();
  for (const o of orders) {
    // An earlier version with another amount: only the latest may count.
    const earlier = encodeEmission({ kind: 'processed', orderId: o.orderId, customerId: o.customerId, row: { ...o, amountCents: 1 }, sourceTsMs: o.createdAt }, NOW_ISO, WINDOW_MINUTES);
    emit('processed_orders', earlier.key, earlier.value);
  }
  for (const [i, o] of orders.entries()) {
    const current = encodeEmission({ kind: 'processed', orderId: o.orderId, customerId: o.customerId, row: o, sourceTsMs: o.createdAt + 500 }, NOW_ISO, WINDOW_MINUTES);
    // One record as a processor wrote it before it carried the channel, one from another channel.
    const channel: Channel | undefined = i === 1 ? undefined : i === 2 ? 'partner' : 'web';
    const value = JSON.parse(current.value ?? '{}') as Record<string, unknown>;
    if (channel === undefined) delete value.channel;
    else value.channel = channel;
    emit('processed_orders', current.key, JSON.stringify(value));
    if (i === 3) {
      emit('processed_orders', current.key, null);
      continue;
    }
    expected.processed_orders.set(String(o.orderId), canonical('processed_orders', { ...value, channel: channel ?? 'web' }));
    const windowStartMs = windowStartFor(o.createdAt, WINDOW_MINUTES);
    const s = summaries.get(`${o.customerId}/${windowStartMs}`) ?? { customerId: o.customerId, windowStartMs, orderCount: 0, totalAmountCents: 0, totalFinalCents: 0 };
    summaries.set(`${o.customerId}/${windowStartMs}`, { ...s, orderCount: s.orderCount + 1, totalAmountCents: s.totalAmountCents + o.amountCents, totalFinalCents: s.totalFinalCents + o.finalCents });
    if (o.finalCents > 100_000) {
      const alert: FraudAlert = { orderId: o.orderId, customerId: o.customerId, finalCents: o.finalCents, severity: o.finalCents > 250_000 ? 'HIGH' : 'MEDIUM', reason: `final ${o.finalCents} 'quoted' \\ above`, createdAt: o.createdAt, pattern: '', matchedOrderIds: '', windowStartMs: 0, windowEndMs: 0 };
      const a = encodeEmission({ kind: 'alert', orderId: o.orderId, customerId: o.customerId, pattern: '', alert }, NOW_ISO, WINDOW_MINUTES);
      emit('fraud_alerts', a.key, a.value);
      expected.fraud_alerts.set(String(o.orderId), canonical('fraud_alerts', JSON.parse(a.value ?? '{}') as Record<string, unknown>));
    }
  }
  for (const s of summaries.values()) {
    const e = encodeEmission({ kind: 'summary', customerId: s.customerId, windowStartMs: s.windowStartMs, summary: s }, NOW_ISO, WINDOW_MINUTES);
    emit('order_summaries', e.key, e.value);
    const values = canonical('order_summaries', JSON.parse(e.value ?? '{}') as Record<string, unknown>);
    expected.order_summaries.set(`${values.customer_id}/${Date.parse(values.window_start ?? '') / 1000}`, values);
  }
  for (const table of OUTPUT_TABLE_NAMES) {
    const rows = records[table].map((r) => {
      const converted = toSinkRow(table, r, Date.parse(NOW_ISO));
      if (!converted.ok) throw new Error(`${table}: ${converted.reason}`);
      return converted.row;
    });
    // Versions in two inserts, as two sink batches would write them.
    const half = Math.floor(rows.length / 2);
    for (const part of [rows.slice(0, half), rows.slice(half)]) {
      if (part.length > 0) await ch.command(insertRowsSql(database, versionsTable(table), latestPerKey(part).map((r) => r.line)));
    }
  }
  // Outside the window: the order at TO.
  expected.processed_orders.delete(String(orders.at(-1)!.orderId));
  for (const [key, v] of expected.fraud_alerts) if (Date.parse(v.created_at ?? '') >= TO) expected.fraud_alerts.delete(key);
  for (const [key, v] of expected.order_summaries) if (Date.parse(v.window_start ?? '') >= TO) expected.order_summaries.delete(key);
  return expected;
}

function rowText(table: OutputTableName, values: Record<string, string>): string {
  const spec = TABLE_SPECS[table];
  const columns = [...spec.key, ...spec.columns];
  return canonicalRow(columns, columns.map((c) => values[c.name] ?? ''));
}

/** What the first pass must answer per bucket: row count and the sum mod 2^64 of the row hashes. */
function firstPass(table: OutputTableName, rows: Iterable<Record<string, string>>, buckets: number): Map<number, { rows: number; sum: bigint }> {
  const spec = TABLE_SPECS[table];
  const texts = new Map<number, string[]>();
  for (const values of rows) {
    const b = bucketOf(keyHash(spec.key.map((k) => keyComponent(k.kind, values[k.name] ?? ''))), buckets);
    texts.set(b, [...(texts.get(b) ?? []), rowText(table, values)]);
  }
  return new Map([...texts].map(([b, t]) => [b, { rows: t.length, sum: rowHashSum(t) }]));
}

const sortable = (kind: string, canonicalText: string) => (kind === 'timestamp' ? String(Date.parse(canonicalText) / 1000) : canonicalText);

/** The whole check; `database` must be migrated and empty. */
export async function checkClickHouseSql(ch: ClickHouse, database: string): Promise<void> {
  expect(await clickhouseSchemaDrift(ch, database)).toEqual([]);
  const expected = await writeAsTheSink(ch, database);

  const views = await ch.query<{ order_id: string | number; channel: string; amount: string; n: string }>(
    `SELECT order_id, channel, toString(amount) AS amount FROM ${database}.processed_orders WHERE order_id IN (1000, 1001, 1002, 1003) ORDER BY order_id`,
  );
  expect(views.map((v) => [Number(v.order_id), v.channel])).toEqual([[1000, 'web'], [1001, 'web'], [1002, 'partner']]);
  expect(canonicalValue('money', views[0]?.amount)).toBe(expected.processed_orders.get('1000')?.amount);
  for (const table of OUTPUT_TABLE_NAMES) {
    expect(await ch.query(duplicateKeysSql(database, table)), table).toEqual([]);
    const [counts] = await ch.query<{ versions: string | number; live: string | number }>(tableCountsSql(database, table));
    expect(Number(counts?.live), table).toBeGreaterThanOrEqual(expected[table].size);
  }

  for (const streamRead of ['final', 'view'] as const satisfies readonly StreamRead[]) {
    const target: SqlTarget = { schema: 'unused', database, streamRead };
    for (const table of OUTPUT_TABLE_NAMES) {
      const spec = TABLE_SPECS[table];
      const rows = [...expected[table].values()];
      for (const buckets of [1, 8]) {
        const got = await ch.query<{ b: string | number; f0: string; f1: string }>(chFirstPassSql(spec, target, WINDOW, { buckets }));
        const answer = new Map(got.map((r) => [Number(r.b), { rows: Number(r.f0), sum: BigInt(r.f1) }]));
        expect(answer, `${table} first pass, ${buckets} buckets, ${streamRead}`).toEqual(firstPass(table, rows, buckets));
      }
      const drill = await ch.query<Record<string, string>>(chDrillSql(spec, target, WINDOW, 8, null));
      const keyOf = (values: Record<string, string>) => spec.key.map((k) => sortable(k.kind, values[k.name] ?? '')).join('/');
      expect(new Map(drill.map((r) => [spec.key.map((_, i) => r[`k${i}`]).join('/'), r.h])), `${table} drill-down, ${streamRead}`).toEqual(
        new Map(rows.map((v) => [keyOf(v), md5Hex(rowText(table, v))])),
      );
      const sample = rows.slice(0, 3);
      const detail = await ch.query<Record<string, string>>(chDetailSql(spec, target, WINDOW, sample.map((v) => spec.key.map((k) => sortable(k.kind, v[k.name] ?? '')))));
      const detailed = new Map(detail.map((r) => [spec.key.map((_, i) => r[`k${i}`]).join('/'), spec.columns.map((c, i) => canonicalValue(c.kind, r[`c${i}`]))]));
      expect(detailed, `${table} detail, ${streamRead}`).toEqual(new Map(sample.map((v) => [keyOf(v), spec.columns.map((c) => v[c.name])])));
      const [estimate] = await ch.query<{ n: string }>(chEstimateSql(spec, target, WINDOW));
      expect(Number(estimate?.n), `${table} estimate`).toBeGreaterThanOrEqual(rows.length);
      if (spec.key.some((k) => k.name === 'pattern')) {
        const perPattern = await ch.query<{ g: string; n: string }>(chRowsPerSql(spec, target, WINDOW, 'pattern'));
        const counted = new Map<string, number>();
        for (const v of rows) counted.set(v.pattern ?? '', (counted.get(v.pattern ?? '') ?? 0) + 1);
        expect(new Map(perPattern.map((r) => [r.g, Number(r.n)])), `${table} per pattern, ${streamRead}`).toEqual(counted);
      }
    }
    const [latency] = await ch.query<{ n: string; q: string[] }>(chLatencySql(target, WINDOW));
    expect(Number(latency?.n)).toBeGreaterThan(0);
    expect(latency?.q.map(Number)).toHaveLength(3);
  }

  const figures = await readBusinessFigures(ch, database, new Date(FROM), new Date(TO));
  expect(figures.orders).toBe(expected.processed_orders.size + 1);
  // The order at TO is outside the window but after `from`; its final amount raises no alert.
  expect(figures.fraudAlerts).toBe(expected.fraud_alerts.size);
  for (const alert of await readLatestAlerts(ch, database, 5)) expect(alert.finalAmount).toBe(expected.fraud_alerts.get(String(alert.orderId))?.final_amount);
  const top = await readTopCustomers(ch, database, new Date(FROM), 3);
  expect(top.length).toBe(3);
  // Every compared column of the definition was compared: the key and compared columns are the spec's.
  for (const table of OUTPUT_TABLE_NAMES) {
    expect([...TABLE_SPECS[table].key, ...TABLE_SPECS[table].columns].map((c) => c.name)).toEqual([...keyColumns(OUTPUT_TABLES[table]), ...comparedColumns(OUTPUT_TABLES[table])].map((c) => c.name));
  }
}
