/**
 * Source columns as the catalog describes them, and what Debezium makes of each type on the wire
 * with this product's connector settings (decimal.handling.mode=string,
 * time.precision.mode=adaptive_time_microseconds, JSON without schemas). Pure.
 */

export interface SourceColumn {
  readonly name: string;
  /** PostgreSQL's spelling: `integer`, `numeric(12,2)`, `character varying(40)`, `timestamp with time zone`. */
  readonly type: string;
  readonly nullable: boolean;
  readonly hasDefault: boolean;
  /** pg_attribute.attnum: kept by RENAME COLUMN, never reused by ADD COLUMN. */
  readonly position: number;
}

export type JsonType = 'integer' | 'number' | 'string' | 'boolean' | 'array' | 'object' | 'any';

/** The JSON type of a column's value in a CDC record. */
export function jsonTypeOf(pgType: string): JsonType {
  const t = pgType.toLowerCase();
  if (t.endsWith('[]') || t === 'array') return 'array';
  if (['smallint', 'integer', 'bigint'].includes(t)) return 'integer';
  // Money stays exact: the connector writes NUMERIC as a decimal string.
  if (t.startsWith('numeric') || t === 'money') return 'string';
  if (t === 'real' || t === 'double precision') return 'number';
  if (t === 'boolean') return 'boolean';
  // adaptive_time_microseconds: date as days, time and zoneless timestamps as microseconds since the epoch.
  if (t === 'date' || t.startsWith('time without') || t.startsWith('timestamp without')) return 'integer';
  if (/^(text|character|uuid|json|jsonb|xml|inet|cidr|macaddr|bytea|timestamp with time zone|time with time zone|interval)/.test(t)) return 'string';
  return 'any';
}

export type TypeRelation = 'same' | 'widened' | 'narrowed' | 'changed';

const INTEGER_RANK: Readonly<Record<string, number>> = { smallint: 1, integer: 2, bigint: 3 };
const FLOAT_RANK: Readonly<Record<string, number>> = { real: 1, 'double precision': 2 };

/**
 * How `to` relates to `from`: widened when every value of `from` fits `to` with the same JSON type
 * (smallint → integer → bigint, numeric(10,2) → numeric(12,2), varchar(40) → varchar(80) or text,
 * real → double precision); narrowed for the reverse; changed across families.
 */
export function compareTypes(from: string, to: string): TypeRelation {
  const a = from.toLowerCase();
  const b = to.toLowerCase();
  if (a === b) return 'same';
  for (const rank of [INTEGER_RANK, FLOAT_RANK]) {
    const ra = rank[a];
    const rb = rank[b];
    if (ra !== undefined && rb !== undefined) return rb > ra ? 'widened' : 'narrowed';
  }
  const na = numeric(a);
  const nb = numeric(b);
  if (na && nb) {
    if (nb.unbounded) return 'widened';
    if (na.unbounded) return 'narrowed';
    return nb.scale >= na.scale && nb.precision - nb.scale >= na.precision - na.scale ? 'widened' : 'narrowed';
  }
  const ta = textLength(a);
  const tb = textLength(b);
  if (ta !== undefined && tb !== undefined) return tb >= ta ? 'widened' : 'narrowed';
  return 'changed';
}

function numeric(t: string): { precision: number; scale: number; unbounded: boolean } | undefined {
  if (t === 'numeric') return { precision: 0, scale: 0, unbounded: true };
  const m = /^numeric\((\d+)(?:,\s*(\d+))?\)$/.exec(t);
  return m ? { precision: Number(m[1]), scale: Number(m[2] ?? 0), unbounded: false } : undefined;
}

/** Character types by their maximum length (text and unbounded varchar: infinite). */
function textLength(t: string): number | undefined {
  if (t === 'text' || t === 'character varying') return Number.POSITIVE_INFINITY;
  const m = /^(?:character varying|character)\((\d+)\)$/.exec(t);
  return m ? Number(m[1]) : undefined;
}
