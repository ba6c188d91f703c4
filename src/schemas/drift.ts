/**
 * Source schema drift: what changed in a captured table since its registered version, and for
 * each change whether each consumer of the CDC topic still works (compatible) or not (breaking),
 * with the reason. Pure: the catalog and the registry are read elsewhere.
 */
import { assertNever } from '../core/assert-never.ts';
import { compareTypes, jsonTypeOf, type SourceColumn } from './columns.ts';
import type { RegisteredColumn } from './json-schema.ts';

export type ColumnChange =
  | { readonly kind: 'added'; readonly column: string; readonly type: string; readonly nullable: boolean; readonly hasDefault: boolean }
  | { readonly kind: 'dropped'; readonly column: string; readonly type: string }
  | { readonly kind: 'renamed'; readonly column: string; readonly to: string; readonly type: string }
  | { readonly kind: 'widened' | 'narrowed' | 'retyped'; readonly column: string; readonly from: string; readonly to: string }
  | { readonly kind: 'null-allowed' | 'not-null'; readonly column: string };

export type ConsumerName = 'processor' | 'batch' | 'sinks' | 'validation' | 'schema';
export type Verdict = 'compatible' | 'breaking';

export interface ConsumerVerdict {
  readonly consumer: ConsumerName;
  readonly verdict: Verdict;
  readonly reason: string;
}

export interface ClassifiedChange {
  readonly table: string;
  readonly change: ColumnChange;
  readonly verdict: Verdict;
  readonly consumers: readonly ConsumerVerdict[];
  /** One line: what changed. */
  readonly summary: string;
}

/** The columns each consumer reads, per captured table, and what reading means for it. */
export interface ConsumerUse {
  readonly name: Exclude<ConsumerName, 'schema'>;
  readonly label: string;
  readonly columns: Readonly<Record<string, readonly string[]>>;
  /** Why a missing or changed column breaks it. */
  readonly effect: (table: string, column: string) => string;
}

const ORDER_COLUMNS = ['id', 'customer_id', 'product_id', 'quantity', 'amount', 'status', 'created_at'] as const;
/** Source column → the output column it becomes (processed_orders unless said otherwise). */
const OUTPUT_OF: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'public.orders': { id: 'order_id', customer_id: 'customer_id', product_id: 'product_id', quantity: 'quantity', amount: 'amount', status: 'status', created_at: 'created_at' },
  'public.customers': { id: 'customer_id', tier: 'customer_tier' },
  'public.products': { id: 'product_id', category: 'product_category' },
};

/**
 * What the product reads of the demo's source tables: src/stream/cdc-decode.ts (the processor's
 * rules), src/batch-legacy/extract.ts (the batch's SELECT), and the output columns the sinks write
 * and validation compares, which are derived from those. Columns not listed are ignored by all.
 */
export const CONSUMERS: readonly ConsumerUse[] = [
  {
    name: 'processor',
    label: 'processor rules',
    columns: { 'public.orders': ORDER_COLUMNS, 'public.customers': ['id', 'tier'], 'public.products': ['id', 'category'] },
    effect: (table, column) => `the processor decodes ${table}.${column}; records without a valid value go to the dead-letter topic`,
  },
  {
    name: 'batch',
    label: 'batch extract',
    columns: { 'public.orders': ORDER_COLUMNS, 'public.customers': ['id', 'tier'], 'public.products': ['id', 'category'] },
    effect: (table, column) => `the batch extract selects ${table}.${column}; the batch run fails`,
  },
  {
    name: 'sinks',
    label: 'sinks',
    columns: { 'public.orders': ORDER_COLUMNS, 'public.customers': ['id', 'tier'], 'public.products': ['id', 'category'] },
    effect: (table, column) => `ClickHouse column processed_orders.${OUTPUT_OF[table]?.[column] ?? column} is derived from ${table}.${column}`,
  },
  {
    name: 'validation',
    label: 'validation',
    columns: { 'public.orders': ORDER_COLUMNS, 'public.customers': ['tier'], 'public.products': ['category'] },
    effect: (table, column) => `validation compares processed_orders.${OUTPUT_OF[table]?.[column] ?? column}, which comes from ${table}.${column}`,
  },
];

/** The column-level differences between the registered version and the catalog now. */
export function diffColumns(registered: readonly RegisteredColumn[], current: readonly SourceColumn[]): readonly ColumnChange[] {
  const before = new Map(registered.filter((c) => !c.dropped).map((c) => [c.name, c]));
  const now = new Map(current.map((c) => [c.name, c]));
  const changes: ColumnChange[] = [];
  const added = current.filter((c) => !before.has(c.name));
  const removed = [...before.values()].filter((c) => !now.has(c.name));
  for (const old of removed) {
    // RENAME COLUMN keeps the attribute number; ADD COLUMN always takes a new one.
    const renamedTo = added.find((a) => a.position === old.position);
    if (renamedTo) {
      changes.push({ kind: 'renamed', column: old.name, to: renamedTo.name, type: renamedTo.type });
      added.splice(added.indexOf(renamedTo), 1);
    } else {
      changes.push({ kind: 'dropped', column: old.name, type: old.type });
    }
  }
  for (const a of added) changes.push({ kind: 'added', column: a.name, type: a.type, nullable: a.nullable, hasDefault: a.hasDefault });
  for (const c of current) {
    const old = before.get(c.name);
    if (!old) continue;
    const relation = compareTypes(old.type, c.type);
    if (relation !== 'same') changes.push({ kind: relation === 'changed' ? 'retyped' : relation, column: c.name, from: old.type, to: c.type });
    if (old.nullable !== c.nullable) changes.push({ kind: c.nullable ? 'null-allowed' : 'not-null', column: c.name });
  }
  return changes;
}

/** Each change with a verdict per consumer; the change is breaking when any consumer breaks. */
export function classifyChanges(table: string, changes: readonly ColumnChange[], consumers: readonly ConsumerUse[] = CONSUMERS): readonly ClassifiedChange[] {
  return changes.map((change) => {
    const verdicts: ConsumerVerdict[] = consumers.map((consumer) => {
      const uses = (consumer.columns[table] ?? []).includes(change.column);
      return { consumer: consumer.name, ...consumerVerdict(change, uses, consumer.effect(table, change.column)) };
    });
    verdicts.push({ consumer: 'schema', ...schemaVerdict(change) });
    return { table, change, verdict: verdicts.some((v) => v.verdict === 'breaking') ? 'breaking' : 'compatible', consumers: verdicts, summary: describeChange(table, change) };
  });
}

function consumerVerdict(change: ColumnChange, uses: boolean, effect: string): { verdict: Verdict; reason: string } {
  const fine = (reason: string) => ({ verdict: 'compatible' as const, reason });
  const breaks = (reason: string) => ({ verdict: 'breaking' as const, reason });
  switch (change.kind) {
    case 'added':
      return fine('does not read it: unknown columns are ignored');
    case 'not-null':
      return fine('a value is now always present');
    case 'widened':
      return fine(uses ? `values keep their JSON type (${jsonTypeOf(change.to)}) and still fit` : 'does not read it');
    case 'dropped':
      return uses ? breaks(`${effect}; it is gone from the table`) : fine('does not read it');
    case 'renamed':
      return uses ? breaks(`${effect}; it is now called ${change.to}`) : fine('does not read it');
    case 'narrowed':
      return uses ? breaks(`${effect}; ${change.from} → ${change.to} may no longer hold the values it expects`) : fine('does not read it');
    case 'retyped':
      return uses ? breaks(`${effect}; ${change.from} → ${change.to} arrives as JSON ${jsonTypeOf(change.to)} instead of ${jsonTypeOf(change.from)}`) : fine('does not read it');
    case 'null-allowed':
      return uses ? breaks(`${effect}; it may now be null`) : fine('does not read it');
    default:
      return assertNever(change);
  }
}

/** The topic's schema under BACKWARD compatibility: can the new version read every earlier record? */
function schemaVerdict(change: ColumnChange): { verdict: Verdict; reason: string } {
  switch (change.kind) {
    case 'added':
      return !change.nullable && !change.hasDefault
        ? {
            verdict: 'breaking',
            reason: 'a NOT NULL column without a default: rows written before it have no value, Debezium does not re-send unchanged rows, and every writer of the table must now set it',
          }
        : { verdict: 'compatible', reason: 'an optional property: earlier records validate' };
    case 'retyped':
      return jsonTypeOf(change.from) === jsonTypeOf(change.to)
        ? { verdict: 'compatible', reason: `same JSON type (${jsonTypeOf(change.to)})` }
        : { verdict: 'breaking', reason: `JSON type ${jsonTypeOf(change.from)} → ${jsonTypeOf(change.to)}: earlier records do not validate` };
    case 'dropped':
    case 'renamed':
      return { verdict: 'compatible', reason: 'kept as a deprecated property so earlier records validate' };
    case 'widened':
    case 'narrowed':
    case 'null-allowed':
    case 'not-null':
      return { verdict: 'compatible', reason: 'same JSON type; every property admits null' };
    default:
      return assertNever(change);
  }
}

export function describeChange(table: string, change: ColumnChange): string {
  switch (change.kind) {
    case 'added':
      return `${table}: column ${change.column} ${change.type}${change.nullable ? '' : ' NOT NULL'}${change.hasDefault ? ' DEFAULT …' : ''} added`;
    case 'dropped':
      return `${table}: column ${change.column} ${change.type} dropped`;
    case 'renamed':
      return `${table}: column ${change.column} renamed to ${change.to}`;
    case 'widened':
    case 'narrowed':
    case 'retyped':
      return `${table}: column ${change.column} ${change.from} → ${change.to} (${change.kind === 'retyped' ? 'type changed' : change.kind})`;
    case 'null-allowed':
      return `${table}: column ${change.column} now admits NULL`;
    case 'not-null':
      return `${table}: column ${change.column} now NOT NULL`;
    default:
      return assertNever(change);
  }
}

/** What to do about a breaking change, for the refusal message. */
export function remedy(change: ColumnChange): string {
  switch (change.kind) {
    case 'added':
      return `give ${change.column} a DEFAULT or make it nullable`;
    case 'dropped':
      return `restore ${change.column} (ALTER TABLE … ADD COLUMN ${change.column} ${change.type}), or change the consumers first`;
    case 'renamed':
      return `rename ${change.to} back to ${change.column}, or change the consumers first`;
    case 'narrowed':
    case 'retyped':
      return `restore ${change.column} to ${change.from}, or change the consumers first`;
    case 'null-allowed':
      return `restore NOT NULL on ${change.column}, or change the consumers to accept nulls`;
    case 'widened':
    case 'not-null':
      return 'nothing';
    default:
      return assertNever(change);
  }
}
