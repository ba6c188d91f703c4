/**
 * The output tables, defined once. The batch loader's INSERTs, the ClickHouse sink's rows,
 * validation's table specs and canonical row text, the output-topic JSON Schemas and the expected
 * DDL on both databases all derive from this module. The DDL itself stays in append-only
 * migration files (migrations/warehouse, migrations/clickhouse); tests prove that what they
 * produce in PostgreSQL and ClickHouse equals what this definition says, and
 * `newColumnMigrationSql` prints the statements for the next column. Pure.
 */

export type OutputTableName = 'processed_orders' | 'order_summaries' | 'fraud_alerts';
export const OUTPUT_TABLE_NAMES: readonly OutputTableName[] = ['processed_orders', 'order_summaries', 'fraud_alerts'];

/** The channels an order arrives through (DESIGN.md); every order read from the source `orders` table by CDC is `web`. */
export type Channel = 'web' | 'partner' | 'store';
export const CHANNELS: readonly Channel[] = ['web', 'partner', 'store'];
export const SOURCE_ORDERS_CHANNEL: Channel = 'web';

/**
 * Logical column types. Money is exact on both sides; the warehouse keeps the precisions its
 * first migration chose (12 digits for an order's amounts, 14 for results and sums that may
 * outgrow them), ClickHouse holds both as Decimal(18,2).
 */
export type ColumnType = 'id' | 'int' | 'count' | 'money' | 'wide-money' | 'text' | 'timestamp';

/** How validation turns a value into canonical text (src/validation/canonical.ts). */
export type CanonicalKind = 'int' | 'money' | 'timestamp' | 'text';
/** How the sink checks and writes a record value (src/output/sink-rows.ts). */
export type SinkKind = 'int64' | 'int32' | 'money' | 'string' | 'datetime';
/** How the processor writes a value in an output record's JSON (src/stream/records.ts). */
export type RecordEncoding = 'integer' | 'decimal-string' | 'string' | 'iso-timestamp';

export interface TypeMapping {
  /** As the warehouse migration writes it. */
  readonly warehouseDdl: string;
  /** As information_schema.columns reports it (data_type, with precision and scale for numerics). */
  readonly warehouse: string;
  /** As system.columns reports it. */
  readonly clickhouse: string;
  readonly canonical: CanonicalKind;
  readonly sink: SinkKind;
  readonly record: RecordEncoding;
}

export const TYPES: Readonly<Record<ColumnType, TypeMapping>> = {
  id: { warehouseDdl: 'bigint', warehouse: 'bigint', clickhouse: 'Int64', canonical: 'int', sink: 'int64', record: 'integer' },
  int: { warehouseDdl: 'integer', warehouse: 'integer', clickhouse: 'Int32', canonical: 'int', sink: 'int32', record: 'integer' },
  // A count is an integer in the warehouse and Int64 in ClickHouse (as first migrated on each side).
  count: { warehouseDdl: 'integer', warehouse: 'integer', clickhouse: 'Int64', canonical: 'int', sink: 'int64', record: 'integer' },
  money: { warehouseDdl: 'numeric(12,2)', warehouse: 'numeric(12,2)', clickhouse: 'Decimal(18, 2)', canonical: 'money', sink: 'money', record: 'decimal-string' },
  'wide-money': { warehouseDdl: 'numeric(14,2)', warehouse: 'numeric(14,2)', clickhouse: 'Decimal(18, 2)', canonical: 'money', sink: 'money', record: 'decimal-string' },
  text: { warehouseDdl: 'text', warehouse: 'text', clickhouse: 'String', canonical: 'text', sink: 'string', record: 'string' },
  timestamp: { warehouseDdl: 'timestamptz', warehouse: 'timestamp with time zone', clickhouse: "DateTime('UTC')", canonical: 'timestamp', sink: 'datetime', record: 'iso-timestamp' },
};

export interface OutputColumn {
  readonly name: string;
  readonly type: ColumnType;
  /** `run-time`: when a pipeline wrote the row, different by nature on each side, so never compared. */
  readonly role: 'value' | 'run-time';
  /**
   * For a column added after rows existed: the warehouse and ClickHouse DEFAULT, and the value the
   * sink writes for an output record produced before the column was (a text literal).
   */
  readonly default?: string;
  /**
   * For a column added after rows existed that has no DEFAULT (a ClickHouse sorting-key column
   * cannot have one on 18.16; its migrations fill existing rows instead): the value the sink
   * writes for an output record, or a key, produced before the column was (a text literal).
   */
  readonly olderRecords?: string;
  /** A ClickHouse type other than the logical type's, and why. */
  readonly clickhouseType?: { readonly type: string; readonly why: string };
}

export interface OutputTable {
  readonly name: OutputTableName;
  /** In table order: the warehouse's columns, and ClickHouse's before its storage-only ones. */
  readonly columns: readonly OutputColumn[];
  /** The warehouse primary key and what validation matches rows on. */
  readonly key: readonly string[];
  /** The output record's key and the ClickHouse sorting key: one partition writes each, so the Kafka offset is its version. */
  readonly streamKey: readonly string[];
  /** The event-time column that places a row in a batch window and a validation window. */
  readonly eventTime: string;
  /** Fields an output record carries besides the columns, with their JSON Schema. */
  readonly recordExtras: Readonly<Record<string, unknown>>;
  /** Columns only the ClickHouse storage table has, after the output columns (version and is_deleted follow). */
  readonly storageExtras: readonly { readonly name: string; readonly clickhouse: string }[];
}

const RUN_TIME = 'run-time' as const;
/** "No window" (a threshold alert's), as ISO text. */
const EPOCH = '1970-01-01T00:00:00.000Z';

export const OUTPUT_TABLES: Readonly<Record<OutputTableName, OutputTable>> = {
  processed_orders: {
    name: 'processed_orders',
    columns: [
      { name: 'order_id', type: 'id', role: 'value' },
      { name: 'customer_id', type: 'id', role: 'value' },
      { name: 'customer_tier', type: 'text', role: 'value' },
      { name: 'product_id', type: 'id', role: 'value' },
      { name: 'product_category', type: 'text', role: 'value' },
      { name: 'quantity', type: 'int', role: 'value' },
      { name: 'amount', type: 'money', role: 'value' },
      { name: 'discount', type: 'money', role: 'value' },
      { name: 'tax', type: 'money', role: 'value' },
      { name: 'final_amount', type: 'wide-money', role: 'value' },
      { name: 'status', type: 'text', role: 'value' },
      { name: 'created_at', type: 'timestamp', role: 'value' },
      { name: 'processed_at', type: 'timestamp', role: RUN_TIME },
      { name: 'channel', type: 'text', role: 'value', default: SOURCE_ORDERS_CHANNEL },
    ],
    key: ['order_id'],
    streamKey: ['order_id', 'customer_id'],
    eventTime: 'created_at',
    recordExtras: { source_ts_ms: { type: ['integer', 'null'] }, tier_changed_at_ms: { type: ['integer', 'null'] } },
    storageExtras: [
      { name: 'source_ts', clickhouse: "DateTime('UTC')" },
      { name: 'ingested_at', clickhouse: "DateTime('UTC')" },
    ],
  },
  order_summaries: {
    name: 'order_summaries',
    columns: [
      { name: 'customer_id', type: 'id', role: 'value' },
      {
        name: 'window_start',
        type: 'timestamp',
        role: 'value',
        clickhouseType: { type: 'DateTime', why: 'a sorting and partition key column: ClickHouse 18.16 cannot ALTER it to DateTime(UTC); written and read as epoch seconds' },
      },
      { name: 'window_end', type: 'timestamp', role: 'value' },
      { name: 'order_count', type: 'count', role: 'value' },
      { name: 'total_amount', type: 'wide-money', role: 'value' },
      { name: 'total_final_amount', type: 'wide-money', role: 'value' },
    ],
    key: ['customer_id', 'window_start'],
    streamKey: ['customer_id', 'window_start'],
    eventTime: 'window_start',
    recordExtras: { updated_at: { type: 'string' } },
    storageExtras: [],
  },
  fraud_alerts: {
    name: 'fraud_alerts',
    columns: [
      { name: 'order_id', type: 'id', role: 'value' },
      { name: 'customer_id', type: 'id', role: 'value' },
      { name: 'final_amount', type: 'wide-money', role: 'value' },
      { name: 'severity', type: 'text', role: 'value' },
      { name: 'reason', type: 'text', role: 'value' },
      { name: 'created_at', type: 'timestamp', role: 'value' },
      { name: 'alerted_at', type: 'timestamp', role: RUN_TIME },
      // Fraud patterns (src/domain/patterns.ts): '' and no window for the per-order threshold alerts.
      { name: 'pattern', type: 'text', role: 'value', olderRecords: '' },
      { name: 'matched_order_ids', type: 'text', role: 'value', olderRecords: '' },
      { name: 'window_start', type: 'timestamp', role: 'value', olderRecords: EPOCH },
      { name: 'window_end', type: 'timestamp', role: 'value', olderRecords: EPOCH },
    ],
    // A pattern alert is anchored at an order (its lowest matched id), which may have a threshold alert too.
    key: ['order_id', 'pattern'],
    streamKey: ['order_id', 'customer_id', 'pattern'],
    eventTime: 'created_at',
    recordExtras: {},
    storageExtras: [],
  },
};

/** Why run-time columns are left out of every comparison. */
export const RUN_TIME_WHY = 'processing timestamp: when each pipeline wrote the row, different by nature';

export function column(table: OutputTable, name: string): OutputColumn {
  const found = table.columns.find((c) => c.name === name);
  if (!found) throw new Error(`${table.name} has no column ${name}`);
  return found;
}

/** Columns validation compares besides the key, in table order. */
export function comparedColumns(table: OutputTable): readonly OutputColumn[] {
  return table.columns.filter((c) => c.role === 'value' && !table.key.includes(c.name));
}

export function keyColumns(table: OutputTable): readonly OutputColumn[] {
  return table.key.map((name) => column(table, name));
}

export function runTimeColumns(table: OutputTable): readonly OutputColumn[] {
  return table.columns.filter((c) => c.role === 'run-time');
}

export function clickhouseTypeOf(c: OutputColumn): string {
  return c.clickhouseType?.type ?? TYPES[c.type].clickhouse;
}

/** One column as a database describes it; `default` is the literal text, or null without one. */
export interface DescribedColumn {
  readonly name: string;
  readonly type: string;
  readonly default: string | null;
}

/** What information_schema.columns must say of the warehouse table (every column NOT NULL). */
export function expectedWarehouseColumns(table: OutputTable): readonly DescribedColumn[] {
  return table.columns.map((c) => ({ name: c.name, type: TYPES[c.type].warehouse, default: c.default ?? null }));
}

/** What system.columns must say of the ClickHouse storage table `<name>_versions`. */
export function expectedStorageColumns(table: OutputTable): readonly DescribedColumn[] {
  return [
    ...table.columns.map((c) => ({ name: c.name, type: clickhouseTypeOf(c), default: c.default ?? null })),
    ...table.storageExtras.map((e) => ({ name: e.name, type: e.clickhouse, default: null })),
    { name: 'version', type: 'UInt64', default: null },
    { name: 'is_deleted', type: 'UInt8', default: null },
  ];
}

/** What system.columns must say of the ClickHouse view `<name>`: the output columns, no default (a view has none). */
export function expectedViewColumns(table: OutputTable): readonly DescribedColumn[] {
  return table.columns.map((c) => ({ name: c.name, type: clickhouseTypeOf(c), default: null }));
}

/** Differences between what a database describes and what is expected, one line each; empty when equal (order included). */
export function columnDrift(where: string, expected: readonly DescribedColumn[], actual: readonly DescribedColumn[]): string[] {
  const show = (c: DescribedColumn | undefined) => (c ? `${c.name} ${c.type}${c.default === null ? '' : ` DEFAULT ${c.default}`}` : '(none)');
  const drift: string[] = [];
  for (let i = 0; i < Math.max(expected.length, actual.length); i++) {
    const e = expected[i];
    const a = actual[i];
    if (!e || !a || e.name !== a.name || e.type !== a.type || e.default !== a.default) drift.push(`${where} column ${i + 1}: expected ${show(e)}, found ${show(a)}`);
  }
  return drift;
}

/** A text literal in either dialect (standard quoting; no backslashes in our defaults). */
function literal(value: string): string {
  if (value.includes('\\')) throw new Error(`a default with a backslash is not portable between the dialects: ${value}`);
  return `'${value.replace(/'/g, "''")}'`;
}

/** The migration files' stand-in for the target database (DATABASE_TOKEN in src/output/clickhouse-sql.ts). */
const DATABASE = '{{database}}';

/**
 * The ClickHouse view over `<name>_versions`, as a migration file writes it: each live stream key
 * once, every other column its latest version's value, keys whose latest version is a tombstone left out.
 */
export function clickhouseViewSql(table: OutputTable): string {
  // In table order, so the view describes its columns as the definition does (a key column may come later, fraud_alerts.pattern).
  const select = table.columns.map((c) => (table.streamKey.includes(c.name) ? `  ${c.name}` : `  argMax(${c.name}, version) AS ${c.name}`));
  return `CREATE VIEW IF NOT EXISTS ${DATABASE}.${table.name} AS
SELECT
${select.join(',\n')}
FROM ${DATABASE}.${table.name}_versions
GROUP BY ${table.streamKey.join(', ')}
HAVING argMax(is_deleted, version) = 0`;
}

/**
 * The statements of the migrations that add `name` (already in the definition) to both sides:
 * the warehouse ALTER, the ClickHouse storage ALTER (placed after the column before it), and the
 * view recreated from the definition. For the developer writing the next migration files.
 */
export function newColumnMigrationSql(table: OutputTable, name: string): { readonly warehouse: string; readonly clickhouse: readonly string[] } {
  const index = table.columns.findIndex((c) => c.name === name);
  const c = table.columns[index];
  const before = table.columns[index - 1];
  if (!c || !before) throw new Error(`${table.name}.${name} is not a column after the first in the definition`);
  const def = c.default === undefined ? '' : ` DEFAULT ${literal(c.default)}`;
  return {
    warehouse: `ALTER TABLE public.${table.name} ADD COLUMN ${c.name} ${TYPES[c.type].warehouseDdl} NOT NULL${def}`,
    clickhouse: [
      `ALTER TABLE ${DATABASE}.${table.name}_versions ADD COLUMN ${c.name} ${clickhouseTypeOf(c)}${def} AFTER ${before.name}`,
      `DROP TABLE IF EXISTS ${DATABASE}.${table.name}`,
      clickhouseViewSql(table),
    ],
  };
}

const RECORD_SCHEMA: Readonly<Record<RecordEncoding, unknown>> = {
  integer: { type: 'integer' },
  'decimal-string': { type: 'string' },
  string: { type: 'string' },
  'iso-timestamp': { type: 'string' },
};

/**
 * The fields of an output record's JSON value (src/stream/records.ts) with a JSON Schema each,
 * and which are required: every column but those with a default, which records written before
 * the column existed lack (the sink writes the default for them). For the output-topic schemas.
 */
export function outputRecordFields(table: OutputTable): { readonly properties: Readonly<Record<string, unknown>>; readonly required: readonly string[] } {
  const properties: Record<string, unknown> = {};
  for (const c of table.columns) properties[c.name] = RECORD_SCHEMA[TYPES[c.type].record];
  Object.assign(properties, table.recordExtras);
  return { properties, required: table.columns.filter((c) => c.role === 'value' && c.default === undefined && c.olderRecords === undefined).map((c) => c.name) };
}
