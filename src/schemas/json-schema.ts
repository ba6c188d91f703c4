/**
 * The JSON Schemas stream-migrate registers: one per CDC topic (from the source catalog's
 * columns) and one per output topic (from the output-table definitions). Closed content model
 * (`additionalProperties: false`), so adding an optional property is BACKWARD compatible in the
 * registry and removing one is not; a dropped column therefore stays in later versions as a
 * deprecated property that accepts anything. Every property admits null: a rewritten delete
 * carries nulls for the columns the replica identity leaves out. Pure.
 */
import { OUTPUT_TABLES, outputRecordFields } from '../domain/output-tables.ts';
import { TABLE_SPECS, type OutputTableName } from '../validation/tables.ts';
import type { ColumnKind } from '../validation/canonical.ts';
import { jsonTypeOf, type SourceColumn } from './columns.ts';

const DRAFT = 'http://json-schema.org/draft-07/schema#';

/** What a registered column was, read back from the schema's `x-source` annotation. */
export interface RegisteredColumn extends SourceColumn {
  /** Dropped (or renamed away) in an earlier version; kept so older records still validate. */
  readonly dropped: boolean;
}

/** Fields ExtractNewRecordState adds (delete.tombstone.handling.mode rewrite, add.fields op,source.ts_ms,lsn). */
const DEBEZIUM_FIELDS: Readonly<Record<string, unknown>> = {
  __deleted: { type: ['string', 'null'] },
  __op: { type: ['string', 'null'], enum: ['c', 'u', 'd', 'r', null] },
  __source_ts_ms: { type: ['integer', 'null'] },
  __lsn: { type: ['integer', 'null'] },
};

/**
 * The value schema of a table's CDC topic. Columns registered before and absent now are kept as
 * deprecated, accept-anything properties.
 */
export function cdcValueSchema(table: string, columns: readonly SourceColumn[], previous: readonly RegisteredColumn[] = []): string {
  const current = new Set(columns.map((c) => c.name));
  const gone = previous.filter((p) => !current.has(p.name)).map((p) => ({ ...p, dropped: true }));
  const all: RegisteredColumn[] = [...columns.map((c) => ({ ...c, dropped: false })), ...gone].sort((a, b) => a.position - b.position || a.name.localeCompare(b.name));
  const properties: Record<string, unknown> = {};
  for (const c of all) {
    const source = { type: c.type, nullable: c.nullable, default: c.hasDefault, position: c.position, ...(c.dropped ? { dropped: true } : {}) };
    if (c.dropped) {
      properties[c.name] = { deprecated: true, 'x-source': source };
      continue;
    }
    const json = jsonTypeOf(c.type);
    properties[c.name] = json === 'any' ? { 'x-source': source } : { type: [json, 'null'], 'x-source': source };
  }
  Object.assign(properties, DEBEZIUM_FIELDS);
  return JSON.stringify({ $schema: DRAFT, title: `${table} change (Debezium ExtractNewRecordState)`, type: 'object', properties, additionalProperties: false });
}

/** The columns a registered CDC schema describes; undefined when it was not written by cdcValueSchema. */
export function registeredColumns(schemaText: string): readonly RegisteredColumn[] | undefined {
  let schema: unknown;
  try {
    schema = JSON.parse(schemaText);
  } catch {
    return undefined;
  }
  const properties = (schema as { properties?: unknown } | null)?.properties;
  if (typeof properties !== 'object' || properties === null) return undefined;
  const columns: RegisteredColumn[] = [];
  for (const [name, property] of Object.entries(properties as Record<string, unknown>)) {
    const source = (property as { 'x-source'?: unknown } | null)?.['x-source'] as Record<string, unknown> | undefined;
    if (!source) continue;
    if (typeof source.type !== 'string' || typeof source.position !== 'number') return undefined;
    columns.push({ name, type: source.type, nullable: source.nullable !== false, hasDefault: source.default === true, position: source.position, dropped: source.dropped === true });
  }
  return columns;
}

const KIND_TYPE: Readonly<Record<ColumnKind, string>> = { int: 'integer', text: 'string', money: 'string', timestamp: 'string' };

/** The value schema of an output topic, from the one definition validation and the sinks share. */
export function outputValueSchema(table: OutputTableName): string {
  const spec = TABLE_SPECS[table];
  const properties: Record<string, unknown> = {};
  for (const c of [...spec.key, ...spec.columns]) properties[c.name] = { type: KIND_TYPE[c.kind] };
  for (const e of spec.excluded) properties[e.name] = { type: 'string' };
  // Fields the processor writes besides the compared and excluded columns (src/stream/records.ts).
  Object.assign(properties, OUTPUT_TABLES[table].recordExtras);
  return JSON.stringify({
    $schema: DRAFT,
    title: `${table} (stream-migrate processor output)`,
    type: 'object',
    properties,
    // A column with a default is absent from records written before it existed (output-tables.ts): not required, so adding one stays BACKWARD compatible.
    required: outputRecordFields(OUTPUT_TABLES[table]).required,
    additionalProperties: false,
  });
}
