import type { Config } from '../../config/schema.ts';
import { CheckFailedError } from '../../core/errors.ts';
import type { PhaseStep, PlannedChange } from '../phase.ts';
import { bool, firstRow, quoteIdent, quoteTable, rowsOf, text, type SqlClient } from './sql.ts';

export interface PublicationState {
  readonly allTables: boolean;
  readonly insert: boolean;
  readonly update: boolean;
  readonly delete: boolean;
  /** `schema.table` of every published table. */
  readonly tables: readonly string[];
  /** Tables published with a row filter (PostgreSQL 15+), whose changes would arrive only in part. */
  readonly filtered: readonly string[];
}

export async function readPublication(sql: SqlClient, name: string): Promise<PublicationState | undefined> {
  const pub = firstRow(await sql.query('SELECT puballtables, pubinsert, pubupdate, pubdelete FROM pg_publication WHERE pubname = $1', [name]));
  if (!pub) return undefined;
  // rowfilter exists from PostgreSQL 15 on; to_jsonb keeps this query valid on older servers.
  const tables = rowsOf(
    await sql.query(
      `SELECT schemaname || '.' || tablename AS name, (to_jsonb(pt) ->> 'rowfilter') IS NOT NULL AS filtered
         FROM pg_publication_tables pt WHERE pubname = $1 ORDER BY 1`,
      [name],
    ),
  );
  return {
    allTables: bool(pub, 'puballtables'),
    insert: bool(pub, 'pubinsert'),
    update: bool(pub, 'pubupdate'),
    delete: bool(pub, 'pubdelete'),
    tables: tables.map((t) => text(t, 'name')),
    filtered: tables.filter((t) => t.filtered === true).map((t) => text(t, 'name')),
  };
}

export interface PublicationPlan {
  readonly action: 'create' | 'update' | 'none';
  readonly statements: readonly string[];
  readonly diff: readonly string[];
}

/** What makes the publication publish exactly `tables` (inserts, updates and deletes); pure. */
export function planPublication(name: string, tables: readonly string[], current: PublicationState | undefined): PublicationPlan {
  const wanted = [...tables].sort();
  const list = wanted.map(quoteTable).join(', ');
  if (current === undefined) {
    return {
      action: 'create',
      statements: [`CREATE PUBLICATION ${quoteIdent(name)} FOR TABLE ${list}`],
      diff: wanted.map((t) => `+ ${t}`),
    };
  }
  if (current.allTables) {
    throw new CheckFailedError(
      `publication ${name} is FOR ALL TABLES and cannot be narrowed in place; drop it (DROP PUBLICATION ${name}) while no connector uses it, or set connector.publication: existing to keep it`,
    );
  }
  const statements: string[] = [];
  const diff: string[] = [];
  const added = wanted.filter((t) => !current.tables.includes(t));
  const removed = current.tables.filter((t) => !wanted.includes(t));
  if (added.length > 0 || removed.length > 0) {
    statements.push(`ALTER PUBLICATION ${quoteIdent(name)} SET TABLE ${list}`);
    diff.push(...added.map((t) => `+ ${t}`), ...removed.map((t) => `- ${t}`));
  } else if (current.filtered.length > 0) {
    // SET TABLE without a WHERE clause drops the row filters.
    statements.push(`ALTER PUBLICATION ${quoteIdent(name)} SET TABLE ${list}`);
    diff.push(...current.filtered.map((t) => `~ ${t}: row filter removed`));
  }
  if (!current.insert || !current.update || !current.delete) {
    statements.push(`ALTER PUBLICATION ${quoteIdent(name)} SET (publish = 'insert, update, delete, truncate')`);
    diff.push(`~ publish: ${publishes(current)} → insert, update, delete, truncate`);
  }
  return { action: statements.length === 0 ? 'none' : 'update', statements, diff };
}

function publishes(state: PublicationState): string {
  return (['insert', 'update', 'delete'] as const).filter((op) => state[op]).join(', ') || 'nothing';
}

/** Problems of a publication the connector reads from (for `existing`, and for verify). */
export function publicationProblems(name: string, tables: readonly string[], current: PublicationState | undefined): string[] {
  if (current === undefined) return [`publication ${name} does not exist; create it (CREATE PUBLICATION ${name} FOR TABLE ${tables.join(', ')}) or set connector.publication: create`];
  const problems: string[] = [];
  const missing = current.allTables ? [] : tables.filter((t) => !current.tables.includes(t));
  if (missing.length > 0) problems.push(`publication ${name} does not publish ${missing.join(', ')}; ALTER PUBLICATION ${name} ADD TABLE ${missing.join(', ')}`);
  if (!current.insert || !current.update || !current.delete) problems.push(`publication ${name} publishes only ${publishes(current)}; it must publish insert, update and delete`);
  const filtered = current.filtered.filter((t) => tables.includes(t));
  if (filtered.length > 0) problems.push(`publication ${name} has a row filter on ${filtered.join(', ')}, so some changes would never reach Kafka; remove the filter`);
  return problems;
}

/**
 * The tables the publication carries: the included tables and the signal table (pgoutput sends
 * Debezium only what is published, and signals arrive as inserts into that table).
 */
export function publishedTables(connector: Pick<Config['connector'], 'tables' | 'signalTable'>): readonly string[] {
  return connector.tables.includes(connector.signalTable) ? connector.tables : [...connector.tables, connector.signalTable];
}

/**
 * The publication of exactly the included tables and the signal table. With
 * `connector.publication: create` this step owns it (creates it, narrows or widens it to the
 * list); with `existing` it only checks the DBA's.
 */
export function publicationStep(config: Config, sql: SqlClient): PhaseStep {
  const name = config.connector.publicationName;
  const tables = publishedTables(config.connector);
  const owned = config.connector.publication === 'create';

  const check = async (): Promise<string> => {
    const current = await readPublication(sql, name);
    const problems = publicationProblems(name, tables, current);
    if (owned && current) {
      const extra = current.tables.filter((t) => !tables.includes(t));
      if (extra.length > 0) problems.push(`publication ${name} also publishes ${extra.join(', ')}; run the ingestion phase to narrow it to connector.tables`);
    }
    if (problems.length > 0) throw new CheckFailedError(problems.join(' | '), { details: { publication: name, problems } });
    const extra = current!.allTables ? ' (FOR ALL TABLES)' : current!.tables.length > tables.length ? ` and ${current!.tables.length - tables.length} more` : '';
    return `publication ${name} publishes ${tables.join(', ')}${extra}`;
  };

  return {
    name: 'publication',
    async plan(): Promise<readonly PlannedChange[]> {
      if (!owned) return [];
      const planned = planPublication(name, tables, await readPublication(sql, name));
      return planned.action === 'none' ? [] : [{ resource: `publication ${name}`, action: planned.action, diff: planned.diff.join('\n') }];
    },
    async apply() {
      if (!owned) return check();
      const planned = planPublication(name, tables, await readPublication(sql, name));
      for (const statement of planned.statements) await sql.query(statement);
      const what = planned.action === 'create' ? 'created' : planned.action === 'update' ? 'updated' : 'unchanged';
      return `publication ${name} ${what}: ${tables.join(', ')}`;
    },
    verify: check,
  };
}
