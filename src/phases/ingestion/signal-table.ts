import type { Config } from '../../config/schema.ts';
import { CheckFailedError } from '../../core/errors.ts';
import type { PhaseStep, PlannedChange } from '../phase.ts';
import { connectorRole } from './connector-config.ts';
import { bool, firstRow, quoteIdent, quoteTable, rowsOf, text, type SqlClient } from './sql.ts';

/** What Debezium requires of a signal table: these three text columns, `id` the primary key. */
const SIGNAL_COLUMNS = ['id', 'type', 'data'] as const;

export interface SignalTableState {
  readonly schemaExists: boolean;
  readonly tableExists: boolean;
  /** Column name → type, of the columns Debezium reads. */
  readonly columns: Readonly<Record<string, string>>;
  readonly idIsPrimaryKey: boolean;
  /** Only with a connector role (connectorRole): what the role lacks (`USAGE`, `SELECT`, `INSERT`, `DELETE`). */
  readonly missingPrivileges: readonly string[];
}

export async function readSignalTable(sql: SqlClient, table: string, role: string | undefined): Promise<SignalTableState> {
  const [schema, name] = table.split('.') as [string, string];
  const facts = firstRow(
    await sql.query(
      `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS schema_exists,
              to_regclass(quote_ident($1) || '.' || quote_ident($2)) IS NOT NULL AS table_exists,
              COALESCE((SELECT bool_or(a.attname = 'id') FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
                         WHERE i.indrelid = to_regclass(quote_ident($1) || '.' || quote_ident($2)) AND i.indisprimary AND i.indnatts = 1), false) AS id_pk`,
      [schema, name],
    ),
  );
  if (!facts) throw new TypeError('signal table query returned no row');
  const tableExists = bool(facts, 'table_exists');
  const columns: Record<string, string> = {};
  if (tableExists) {
    for (const row of rowsOf(
      await sql.query(
        `SELECT column_name AS name, data_type AS type FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 AND column_name = ANY($3::text[])`,
        [schema, name, [...SIGNAL_COLUMNS]],
      ),
    )) {
      columns[text(row, 'name')] = text(row, 'type');
    }
  }
  const missingPrivileges: string[] = [];
  if (role !== undefined && bool(facts, 'schema_exists')) {
    const exists = firstRow(await sql.query('SELECT 1 AS one FROM pg_roles WHERE rolname = $1', [role]));
    if (exists) {
      const privileges = firstRow(
        await sql.query(
          `SELECT has_schema_privilege($1, quote_ident($2), 'USAGE') AS usage,
                  CASE WHEN $4::boolean THEN has_table_privilege($1, quote_ident($2) || '.' || quote_ident($3), 'SELECT') ELSE false END AS sel,
                  CASE WHEN $4::boolean THEN has_table_privilege($1, quote_ident($2) || '.' || quote_ident($3), 'INSERT') ELSE false END AS ins,
                  CASE WHEN $4::boolean THEN has_table_privilege($1, quote_ident($2) || '.' || quote_ident($3), 'DELETE') ELSE false END AS del`,
          [role, schema, name, tableExists],
        ),
      )!;
      if (!bool(privileges, 'usage')) missingPrivileges.push('USAGE');
      if (!bool(privileges, 'sel')) missingPrivileges.push('SELECT');
      if (!bool(privileges, 'ins')) missingPrivileges.push('INSERT');
      if (!bool(privileges, 'del')) missingPrivileges.push('DELETE');
    }
  }
  return { schemaExists: bool(facts, 'schema_exists'), tableExists, columns, idIsPrimaryKey: bool(facts, 'id_pk'), missingPrivileges };
}

export interface SignalTablePlan {
  readonly action: 'create' | 'update' | 'none';
  readonly statements: readonly string[];
  readonly diff: readonly string[];
}

const TEXT_TYPES = new Set(['text', 'character varying']);

/** Problems an existing table has as a signal table (it is never altered: someone else made it). */
export function signalTableProblems(table: string, state: SignalTableState): string[] {
  if (!state.tableExists) return [];
  const problems: string[] = [];
  const missing = SIGNAL_COLUMNS.filter((c) => state.columns[c] === undefined);
  if (missing.length > 0) problems.push(`table ${table} has no column ${missing.join(', ')}`);
  const wrong = SIGNAL_COLUMNS.filter((c) => state.columns[c] !== undefined && !TEXT_TYPES.has(state.columns[c]!));
  if (wrong.length > 0) problems.push(`columns ${wrong.join(', ')} of ${table} are not text`);
  if (!state.idIsPrimaryKey) problems.push(`id is not the primary key of ${table}`);
  return problems;
}

/**
 * What makes `table` a Debezium signal table (id text primary key, type, data) that `role` may
 * read, and write its snapshot watermarks to (insert_delete: INSERT and DELETE); pure.
 */
export function planSignalTable(table: string, role: string | undefined, state: SignalTableState): SignalTablePlan {
  const problems = signalTableProblems(table, state);
  if (problems.length > 0) {
    throw new CheckFailedError(`signal table: ${problems.join(' | ')}; it is not a Debezium signal table, so choose another connector.signalTable or drop it`, {
      details: { table, problems },
    });
  }
  const [schema] = table.split('.') as [string, string];
  const statements: string[] = [];
  const diff: string[] = [];
  if (!state.schemaExists) {
    statements.push(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    diff.push(`+ schema ${schema}`);
  }
  if (!state.tableExists) {
    statements.push(`CREATE TABLE IF NOT EXISTS ${quoteTable(table)} (id text PRIMARY KEY, type text NOT NULL, data text)`);
    diff.push(`+ table ${table} (id text PRIMARY KEY, type text NOT NULL, data text)`);
  }
  if (role !== undefined) {
    // A new table or schema: the role has nothing on it yet.
    const missing = !state.tableExists ? ['USAGE', 'SELECT', 'INSERT', 'DELETE'] : state.missingPrivileges;
    if (missing.includes('USAGE')) statements.push(`GRANT USAGE ON SCHEMA ${quoteIdent(schema)} TO ${quoteIdent(role)}`);
    const onTable = missing.filter((p) => p !== 'USAGE');
    if (onTable.length > 0) statements.push(`GRANT ${onTable.join(', ')} ON ${quoteTable(table)} TO ${quoteIdent(role)}`);
    if (missing.length > 0) diff.push(`+ ${missing.join(', ')} for role ${role}`);
  }
  const action = statements.length === 0 ? 'none' : state.tableExists ? 'update' : 'create';
  return { action, statements, diff };
}

/**
 * The table Debezium takes signals from (`connector.signalTable`): `snapshot` and `dlq replay`
 * insert execute-snapshot rows, the connector writes its snapshot watermarks there. Runs after the
 * replication role (to grant it what it needs) and before the publication, which carries it.
 */
export function signalTableStep(config: Config, sql: SqlClient): PhaseStep {
  const table = config.connector.signalTable;
  const role = connectorRole(config)?.name;
  const planned = async () => planSignalTable(table, role, await readSignalTable(sql, table, role));
  return {
    name: 'signal-table',
    async plan(): Promise<readonly PlannedChange[]> {
      const plan = await planned();
      return plan.action === 'none' ? [] : [{ resource: `signal table ${table}`, action: plan.action, diff: plan.diff.join('\n') }];
    },
    async apply() {
      const plan = await planned();
      for (const statement of plan.statements) await sql.query(statement);
      return plan.action === 'none' ? `signal table ${table} unchanged` : `signal table ${table} ${plan.action === 'create' ? 'created' : 'updated'}: ${plan.diff.join('; ')}`;
    },
    async verify() {
      const state = await readSignalTable(sql, table, role);
      const problems = state.tableExists ? signalTableProblems(table, state) : [`table ${table} does not exist`];
      if (state.missingPrivileges.length > 0) problems.push(`role ${role} lacks ${state.missingPrivileges.join(', ')} on ${table}`);
      if (problems.length > 0) throw new CheckFailedError(`signal table: ${problems.join(' | ')}; run \`stream-migrate phase run ingestion\``, { details: { table, problems } });
      return `signal table ${table} ready${role ? ` (role ${role} may read and write watermarks)` : ''}`;
    },
  };
}
