import crypto from 'node:crypto';
import type { Config } from '../../config/schema.ts';
import { CheckFailedError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { PhaseStep, PlannedChange } from '../phase.ts';
import { connectorRole, sourceConnection } from './connector-config.ts';
import { bool, firstRow, optionalText, quoteIdent, quoteLiteral, quoteTable, rowsOf, text, type SqlClient } from './sql.ts';

export interface RoleState {
  readonly exists: boolean;
  readonly login: boolean;
  readonly replication: boolean;
  readonly superuser: boolean;
  /** Schemas of the included tables the role may not use. */
  readonly missingUsage: readonly string[];
  /** Included tables the role may not SELECT. */
  readonly missingSelect: readonly string[];
  /** Other tables the role can read (through its own grants or PUBLIC); shown, never revoked. */
  readonly extraSelect: readonly string[];
  /** Whether the stored password is the configured one; undefined when it cannot be read (not superuser). */
  readonly passwordMatches: boolean | undefined;
}

export async function readRole(sql: SqlClient, role: string, tables: readonly string[], password: string | undefined): Promise<RoleState> {
  const attributes = firstRow(await sql.query('SELECT rolcanlogin, rolreplication, rolsuper FROM pg_roles WHERE rolname = $1', [role]));
  if (!attributes) return { exists: false, login: false, replication: false, superuser: false, missingUsage: [], missingSelect: [], extraSelect: [], passwordMatches: undefined };
  const schemas = [...new Set(tables.map((t) => t.split('.')[0]!))];
  const missingUsage = rowsOf(
    await sql.query(`SELECT s FROM unnest($2::text[]) AS s WHERE NOT has_schema_privilege($1, quote_ident(s), 'USAGE')`, [role, schemas]),
  ).map((r) => text(r, 's'));
  const missingSelect = rowsOf(
    await sql.query(
      `SELECT t FROM unnest($2::text[]) AS t
        WHERE to_regclass(quote_ident(split_part(t, '.', 1)) || '.' || quote_ident(split_part(t, '.', 2))) IS NOT NULL
          AND NOT has_table_privilege($1, to_regclass(quote_ident(split_part(t, '.', 1)) || '.' || quote_ident(split_part(t, '.', 2))), 'SELECT')`,
      [role, tables],
    ),
  ).map((r) => text(r, 't'));
  const extraSelect = rowsOf(
    await sql.query(
      `SELECT n.nspname || '.' || c.relname AS t
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm')
          AND n.nspname = ANY($3::text[])
          AND NOT (n.nspname || '.' || c.relname = ANY($2::text[]))
          AND has_table_privilege($1, c.oid, 'SELECT')
        ORDER BY 1 LIMIT 20`,
      [role, tables, schemas],
    ),
  ).map((r) => text(r, 't'));
  let passwordMatches: boolean | undefined;
  if (password !== undefined) {
    try {
      const stored = firstRow(await sql.query('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [role]));
      passwordMatches = stored ? passwordVerifierMatches(optionalText(stored, 'rolpassword'), role, password) : undefined;
    } catch {
      // pg_authid is readable by superusers only; then the password is set again on every apply.
      passwordMatches = undefined;
    }
  }
  return {
    exists: true,
    login: bool(attributes, 'rolcanlogin'),
    replication: bool(attributes, 'rolreplication'),
    superuser: bool(attributes, 'rolsuper'),
    missingUsage,
    missingSelect,
    extraSelect,
    passwordMatches,
  };
}

/** Whether PostgreSQL's stored verifier (SCRAM-SHA-256 or md5) is that of `password`. */
export function passwordVerifierMatches(stored: string | undefined, role: string, password: string): boolean {
  if (stored === undefined) return false;
  const scram = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$/.exec(stored);
  if (scram) {
    const [, iterations, salt, storedKey] = scram as unknown as [string, string, string, string];
    const salted = crypto.pbkdf2Sync(password.normalize('NFKC'), Buffer.from(salt, 'base64'), Number(iterations), 32, 'sha256');
    const clientKey = crypto.createHmac('sha256', salted).update('Client Key').digest();
    return crypto.createHash('sha256').update(clientKey).digest('base64') === storedKey;
  }
  if (stored.startsWith('md5')) return stored === 'md5' + crypto.createHash('md5').update(password + role).digest('hex');
  return false;
}

/** PostgreSQL's SCRAM-SHA-256 verifier of `password` (what `\\password` in psql sends), with a random salt. */
export function scramVerifier(password: string, salt: Buffer = crypto.randomBytes(16), iterations = 4096): string {
  const salted = crypto.pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  const clientKey = crypto.createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = crypto.createHash('sha256').update(clientKey).digest('base64');
  const serverKey = crypto.createHmac('sha256', salted).update('Server Key').digest('base64');
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey}:${serverKey}`;
}

export interface RolePlan {
  readonly action: 'create' | 'update' | 'none';
  /** SQL to run; a statement with the password is never logged or shown. */
  readonly statements: readonly string[];
  /** Human-readable, secrets masked. */
  readonly diff: readonly string[];
}

/** Statements that bring the role to LOGIN REPLICATION with USAGE and SELECT on exactly the included tables; pure. */
export function planRole(role: string, tables: readonly string[], password: string | undefined, state: RoleState): RolePlan {
  const id = quoteIdent(role);
  // A SCRAM verifier, never the password: the statement may be logged by the server (an error, log_statement).
  const passwordClause = password === undefined ? '' : ` PASSWORD ${quoteLiteral(scramVerifier(password))}`;
  const schemas = [...new Set(tables.map((t) => t.split('.')[0]!))];
  if (!state.exists) {
    return {
      action: 'create',
      statements: [
        `CREATE ROLE ${id} LOGIN REPLICATION${passwordClause}`,
        `GRANT USAGE ON SCHEMA ${schemas.map(quoteIdent).join(', ')} TO ${id}`,
        `GRANT SELECT ON ${tables.map(quoteTable).join(', ')} TO ${id}`,
      ],
      diff: [
        `+ role ${role} LOGIN REPLICATION${password === undefined ? '' : ' PASSWORD ***'}`,
        `+ USAGE ON SCHEMA ${schemas.join(', ')}`,
        `+ SELECT ON ${tables.join(', ')}`,
      ],
    };
  }
  const statements: string[] = [];
  const diff: string[] = [];
  const attributes = [...(state.login ? [] : ['LOGIN']), ...(state.replication ? [] : ['REPLICATION'])];
  const resetPassword = password !== undefined && state.passwordMatches !== true;
  if (attributes.length > 0 || resetPassword) {
    statements.push(`ALTER ROLE ${id}${attributes.length > 0 ? ' ' + attributes.join(' ') : ''}${resetPassword ? passwordClause : ''}`);
    if (attributes.length > 0) diff.push(`~ role ${role}: + ${attributes.join(' ')}`);
    if (resetPassword) diff.push(`~ role ${role}: PASSWORD *** (${state.passwordMatches === false ? 'differs' : 'cannot be compared, set again'})`);
  }
  if (state.missingUsage.length > 0) {
    statements.push(`GRANT USAGE ON SCHEMA ${state.missingUsage.map(quoteIdent).join(', ')} TO ${id}`);
    diff.push(`+ USAGE ON SCHEMA ${state.missingUsage.join(', ')}`);
  }
  if (state.missingSelect.length > 0) {
    statements.push(`GRANT SELECT ON ${state.missingSelect.map(quoteTable).join(', ')} TO ${id}`);
    diff.push(`+ SELECT ON ${state.missingSelect.join(', ')}`);
  }
  return { action: statements.length === 0 ? 'none' : 'update', statements, diff };
}

/**
 * The least-privilege role the connector logs in as: LOGIN REPLICATION, USAGE on the schemas and
 * SELECT on exactly the included tables. connector.role, or on the local stack `stream_migrate_cdc`;
 * elsewhere without connector.role it does nothing.
 */
export function replicationRoleStep(config: Config, sql: SqlClient, logger: Logger): PhaseStep {
  const role = connectorRole(config);
  const tables = config.connector.tables;
  const unmanaged = (): string => `no connector.role configured; the connector logs in as ${sourceConnection(config).user}`;

  const planned = async (): Promise<RolePlan | undefined> => {
    if (!role) return undefined;
    return planRole(role.name, tables, role.password, await readRole(sql, role.name, tables, role.password));
  };

  return {
    name: 'replication-role',
    async plan(): Promise<readonly PlannedChange[]> {
      const rolePlan = await planned();
      // A password that cannot be compared is set again by apply, but that is no change to show.
      const visible = rolePlan?.diff.filter((line) => !line.includes('cannot be compared')) ?? [];
      if (!rolePlan || rolePlan.action === 'none' || visible.length === 0) return [];
      return [{ resource: `role ${role!.name}`, action: rolePlan.action, diff: visible.join('\n') }];
    },
    async apply() {
      const rolePlan = await planned();
      if (!rolePlan) return unmanaged();
      for (const statement of rolePlan.statements) await sql.query(statement);
      return rolePlan.action === 'none' ? `role ${role!.name} unchanged` : `role ${role!.name} ${rolePlan.action === 'create' ? 'created' : 'updated'}: ${rolePlan.diff.join('; ')}`;
    },
    async verify() {
      if (!role) return unmanaged();
      const state = await readRole(sql, role.name, tables, role.password);
      const problems: string[] = [];
      if (!state.exists) problems.push(`role ${role.name} does not exist`);
      else {
        if (!state.login) problems.push(`role ${role.name} cannot LOGIN`);
        if (!state.replication) problems.push(`role ${role.name} lacks REPLICATION`);
        if (state.missingUsage.length > 0) problems.push(`role ${role.name} lacks USAGE on schema ${state.missingUsage.join(', ')}`);
        if (state.missingSelect.length > 0) problems.push(`role ${role.name} cannot SELECT ${state.missingSelect.join(', ')}`);
        if (state.passwordMatches === false) problems.push(`role ${role.name} has another password than connector.role.password`);
      }
      if (problems.length > 0) throw new CheckFailedError(`${problems.join(' | ')}; run the ingestion phase to fix the role`, { details: { role: role.name, problems } });
      const warnings: string[] = [];
      if (state.superuser) warnings.push(`role ${role.name} is a superuser, which is far more than CDC needs`);
      if (state.extraSelect.length > 0) warnings.push(`role ${role.name} can also read ${state.extraSelect.join(', ')} (grants to it or to PUBLIC; not revoked by stream-migrate)`);
      for (const warning of warnings) logger.warn(warning);
      return [`role ${role.name}: LOGIN REPLICATION, SELECT on ${tables.join(', ')}`, ...warnings.map((w) => `warning: ${w}`)].join('; ');
    },
  };
}
