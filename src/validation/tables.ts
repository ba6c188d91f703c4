/**
 * What `validate` compares in each output table (derived from the one definition of the output
 * tables, src/domain/output-tables.ts), and the integer bucket arithmetic both engines share. Pure: the SQL in fingerprint-sql.ts is generated from these specs, and the functions here
 * are the reference the unit tests check that arithmetic against.
 */
import { md5Slice, type ColumnKind } from './canonical.ts';
import {
  comparedColumns,
  keyColumns,
  OUTPUT_TABLE_NAMES,
  OUTPUT_TABLES as DEFINITION,
  RUN_TIME_WHY,
  runTimeColumns,
  TYPES,
  type OutputColumn,
  type OutputTable,
  type OutputTableName,
} from '../domain/output-tables.ts';

export type { OutputTableName };
export const OUTPUT_TABLES: readonly OutputTableName[] = OUTPUT_TABLE_NAMES;

export interface ColumnSpec {
  readonly name: string;
  readonly kind: ColumnKind;
}

export interface TableSpec {
  readonly name: OutputTableName;
  readonly key: readonly ColumnSpec[];
  /** Compared columns, key excluded, in canonical-row order. */
  readonly columns: readonly ColumnSpec[];
  /** The event-time column that places a row in the window. */
  readonly eventTime: string;
  /** Output columns left out of the comparison, and why. */
  readonly excluded: readonly { readonly name: string; readonly why: string }[];
  /** The stream's storage table holds source_ts and ingested_at (end-to-end latency). */
  readonly latency: boolean;
}

const spec = (c: OutputColumn): ColumnSpec => ({ name: c.name, kind: TYPES[c.type].canonical });

/** A table's validation spec, from its definition in src/domain/output-tables.ts. */
export function tableSpec(table: OutputTable): TableSpec {
  return {
    name: table.name,
    key: keyColumns(table).map(spec),
    columns: comparedColumns(table).map(spec),
    eventTime: table.eventTime,
    excluded: runTimeColumns(table).map((c) => ({ name: c.name, why: RUN_TIME_WHY })),
    latency: table.storageExtras.some((e) => e.name === 'source_ts'),
  };
}

export const TABLE_SPECS: Readonly<Record<OutputTableName, TableSpec>> = {
  processed_orders: tableSpec(DEFINITION.processed_orders),
  order_summaries: tableSpec(DEFINITION.order_summaries),
  fraud_alerts: tableSpec(DEFINITION.fraud_alerts),
};

/** Parses `--tables a,b`; unknown names are refused by the caller with the list of known ones. */
export function parseTables(list: string | undefined): { readonly tables: readonly OutputTableName[]; readonly unknown: readonly string[] } {
  if (list === undefined || list.trim() === '') return { tables: OUTPUT_TABLES, unknown: [] };
  const names = [...new Set(list.split(',').map((s) => s.trim()).filter(Boolean))];
  const known = new Set<string>(OUTPUT_TABLES);
  return {
    tables: OUTPUT_TABLES.filter((t) => names.includes(t)),
    unknown: names.filter((n) => !known.has(n)),
  };
}

/** 2^31 − 1: keeps every product of a reduced value and a multiplier below 2^63 in both engines. */
export const HASH_PRIME = 2_147_483_647n;
export const HASH_MULTIPLIER = 1_000_003n;

/** A key component as the integer the bucket arithmetic uses: ints as they are, timestamps as epoch seconds, text as an MD5 slice. */
export function keyComponent(kind: ColumnKind, canonical: string): bigint {
  switch (kind) {
    case 'int':
      return BigInt(canonical);
    case 'timestamp':
      return BigInt(Math.floor(Date.parse(canonical) / 1000));
    case 'text':
    case 'money':
      return md5Slice(canonical);
  }
}

/**
 * The key hash: a single key component as it is; for composite keys h = (h mod p) × 1000003 +
 * (c mod p), with truncating modulo (what both PostgreSQL and ClickHouse do with negative values).
 * Every intermediate stays below 2^52, so neither engine overflows or wraps.
 */
export function keyHash(components: readonly bigint[]): bigint {
  let hash = components[0] ?? 0n;
  for (const c of components.slice(1)) hash = (hash % HASH_PRIME) * HASH_MULTIPLIER + (c % HASH_PRIME);
  return hash;
}

/** Non-negative remainder, as ((x % m) + m) % m in SQL. */
export function positiveMod(x: bigint, m: bigint): bigint {
  return ((x % m) + m) % m;
}

export function bucketOf(hash: bigint, buckets: number): number {
  return Number(positiveMod(hash, BigInt(buckets)));
}

/** Rows a first-pass bucket aims at: small enough that drilling into one is cheap, few enough buckets to ship. */
export const TARGET_BUCKET_ROWS = 512;
export const MAX_BUCKETS = 65_536;

/** The bucket count for an estimated row count: a power of two near rows / 512, between 1 and 65 536. */
export function bucketCount(estimatedRows: number, target = TARGET_BUCKET_ROWS, max = MAX_BUCKETS): number {
  let buckets = 1;
  while (buckets < max && buckets * target < estimatedRows) buckets *= 2;
  return buckets;
}
