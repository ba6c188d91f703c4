import type { Config } from '../../config/schema.ts';
import { CheckFailedError } from '../../core/errors.ts';
import type { PhaseStep } from '../phase.ts';
import { bool, firstRow, num, optionalText, rowsOf, text, type SqlClient } from './sql.ts';

/** pgoutput arrived in PostgreSQL 10; Debezium 3.x is tested from 12 on. */
const MIN_VERSION_NUM = 100_000;
const TESTED_VERSION_NUM = 120_000;

export interface TableFacts {
  readonly name: string;
  readonly exists: boolean;
  readonly kind: string | undefined;
  readonly hasPrimaryKey: boolean;
  /** d default, f full, i index, n nothing (pg_class.relreplident). */
  readonly replicaIdentity: string | undefined;
  readonly hasReplicaIdentityIndex: boolean;
  readonly ownedByCurrentUser: boolean;
}

export interface SourceFacts {
  readonly version: string;
  readonly versionNum: number;
  readonly walLevel: string;
  readonly maxSlots: number;
  readonly usedSlots: number;
  readonly maxSenders: number;
  readonly usedSenders: number;
  /** synchronous_commit as the preflight's session sees it: the server's, database's or role's default (an application may still set its own per session). */
  readonly synchronousCommit: string;
  readonly walWriterDelayMs: number;
  readonly slot: { readonly plugin: string | undefined; readonly database: string | undefined; readonly active: boolean } | undefined;
  readonly database: string;
  readonly tables: readonly TableFacts[];
}

/** Reads what the preflight judges, in two queries. */
export async function readSourceFacts(sql: SqlClient, connector: Config['connector']): Promise<SourceFacts> {
  const server = firstRow(
    await sql.query(
      `SELECT current_setting('server_version') AS version,
              current_setting('server_version_num')::int AS version_num,
              current_setting('wal_level') AS wal_level,
              current_setting('max_replication_slots')::int AS max_slots,
              (SELECT count(*) FROM pg_replication_slots)::int AS used_slots,
              current_setting('max_wal_senders')::int AS max_senders,
              (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walsender')::int AS used_senders,
              current_setting('synchronous_commit') AS synchronous_commit,
              (SELECT setting::int FROM pg_settings WHERE name = 'wal_writer_delay') AS wal_writer_delay_ms,
              current_database() AS database,
              s.plugin, s.database AS slot_database, s.active AS slot_active
         FROM (SELECT 1) AS one
         LEFT JOIN pg_replication_slots s ON s.slot_name = $1`,
      [connector.slotName],
    ),
  );
  if (!server) throw new TypeError('server facts query returned no row');
  const tables = rowsOf(
    await sql.query(
      `SELECT t.name, c.oid IS NOT NULL AS exists, c.relkind::text AS kind, c.relreplident::text AS replica_identity,
              COALESCE(EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary), false) AS has_pk,
              COALESCE(EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisreplident), false) AS has_ri_index,
              COALESCE(pg_has_role(current_user, c.relowner, 'USAGE'), false) AS owned
         FROM unnest($1::text[]) WITH ORDINALITY AS t(name, ord)
         LEFT JOIN pg_class c ON c.oid = to_regclass(quote_ident(split_part(t.name, '.', 1)) || '.' || quote_ident(split_part(t.name, '.', 2)))
        ORDER BY t.ord`,
      [connector.tables],
    ),
  ).map((row) => ({
    name: text(row, 'name'),
    exists: bool(row, 'exists'),
    kind: optionalText(row, 'kind'),
    hasPrimaryKey: bool(row, 'has_pk'),
    replicaIdentity: optionalText(row, 'replica_identity'),
    hasReplicaIdentityIndex: bool(row, 'has_ri_index'),
    ownedByCurrentUser: bool(row, 'owned'),
  }));
  const slotPlugin = optionalText(server, 'plugin');
  return {
    version: text(server, 'version'),
    versionNum: num(server, 'version_num'),
    walLevel: text(server, 'wal_level'),
    maxSlots: num(server, 'max_slots'),
    usedSlots: num(server, 'used_slots'),
    maxSenders: num(server, 'max_senders'),
    usedSenders: num(server, 'used_senders'),
    synchronousCommit: text(server, 'synchronous_commit'),
    walWriterDelayMs: num(server, 'wal_writer_delay_ms'),
    database: text(server, 'database'),
    slot: slotPlugin === undefined ? undefined : { plugin: slotPlugin, database: optionalText(server, 'slot_database'), active: server.slot_active === true },
    tables,
  };
}

export interface PreflightVerdict {
  /** Each a sentence: what is wrong; what to do. */
  readonly problems: readonly string[];
  readonly notes: readonly string[];
}

/** Above this, asynchronous commits reach CDC noticeably late (PostgreSQL's default is 200 ms). */
const ASYNC_FLUSH_NOTE_ABOVE_MS = 50;

const REPLICA_IDENTITY: Readonly<Record<string, string>> = { d: 'DEFAULT', f: 'FULL', i: 'INDEX', n: 'NOTHING' };

/** Judges the facts (pure): what blocks CDC, and what is worth knowing. */
export function judgeSource(facts: SourceFacts, connector: Config['connector']): PreflightVerdict {
  const problems: string[] = [];
  const notes: string[] = [`PostgreSQL ${facts.version.split(' ')[0]}`];
  if (facts.versionNum < MIN_VERSION_NUM) {
    problems.push(`PostgreSQL ${facts.version} has no pgoutput logical decoding plugin; upgrade to PostgreSQL 12 or later`);
  } else if (facts.versionNum < TESTED_VERSION_NUM) {
    notes.push(`PostgreSQL ${facts.version} is older than Debezium 3 supports (12+)`);
  }
  if (facts.walLevel !== 'logical') {
    problems.push(`wal_level is ${facts.walLevel}; set wal_level = logical in postgresql.conf (ALTER SYSTEM SET wal_level = logical) and restart PostgreSQL`);
  } else {
    notes.push('wal_level=logical');
  }

  if (facts.slot) {
    if (facts.slot.plugin !== 'pgoutput') {
      problems.push(`replication slot ${connector.slotName} exists with plugin ${facts.slot.plugin}, not pgoutput; drop it (SELECT pg_drop_replication_slot('${connector.slotName}')) or choose another connector.slotName`);
    }
    if (facts.slot.database !== facts.database) {
      problems.push(`replication slot ${connector.slotName} belongs to database ${facts.slot.database}, not ${facts.database}; choose another connector.slotName`);
    }
    notes.push(`slot ${connector.slotName} exists${facts.slot.active ? ' (active)' : ''}`);
  } else if (facts.usedSlots >= facts.maxSlots) {
    problems.push(
      `no free replication slot (${facts.usedSlots} of max_replication_slots ${facts.maxSlots} in use); drop an unused one (SELECT slot_name FROM pg_replication_slots WHERE NOT active) or raise max_replication_slots`,
    );
  }
  notes.push(`replication slots ${facts.usedSlots}/${facts.maxSlots}`);
  // A connector already streaming holds its WAL sender; otherwise it needs a free one.
  if (!facts.slot?.active && facts.usedSenders >= facts.maxSenders) {
    problems.push(`no free WAL sender (${facts.usedSenders} of max_wal_senders ${facts.maxSenders} in use); raise max_wal_senders or stop an idle replication client`);
  }
  notes.push(`WAL senders ${facts.usedSenders}/${facts.maxSenders}`);
  // Logical decoding sends only flushed WAL, and asynchronous commits are flushed by the WAL writer.
  if (facts.synchronousCommit === 'off' && facts.walWriterDelayMs > ASYNC_FLUSH_NOTE_ABOVE_MS) {
    notes.push(
      `synchronous_commit=off with wal_writer_delay ${facts.walWriterDelayMs}ms: CDC sees each commit up to ${facts.walWriterDelayMs} ms late; ` +
        'for sub-second end-to-end latency set wal_writer_delay = 10ms (ALTER SYSTEM, then SELECT pg_reload_conf())',
    );
  }

  const identities: string[] = [];
  for (const table of facts.tables) {
    if (!table.exists) {
      problems.push(`table ${table.name} does not exist in database ${facts.database}; create it or remove it from connector.tables`);
      continue;
    }
    if (table.kind !== 'r' && table.kind !== 'p') {
      problems.push(`${table.name} is not a table (relkind ${table.kind}); only tables can be published: remove it from connector.tables`);
      continue;
    }
    if (!table.hasPrimaryKey) problems.push(`table ${table.name} has no primary key; add one or remove it from connector.tables`);
    const identity = REPLICA_IDENTITY[table.replicaIdentity ?? ''] ?? String(table.replicaIdentity);
    if (identity === 'NOTHING') {
      problems.push(`table ${table.name} has REPLICA IDENTITY NOTHING, so its updates and deletes would fail once published; ALTER TABLE ${table.name} REPLICA IDENTITY DEFAULT (or FULL)`);
    } else if (identity === 'INDEX' && !table.hasReplicaIdentityIndex) {
      problems.push(`table ${table.name} has REPLICA IDENTITY USING INDEX but the index is gone; ALTER TABLE ${table.name} REPLICA IDENTITY DEFAULT`);
    }
    if (connector.publication === 'create' && !table.ownedByCurrentUser) {
      problems.push(`the source user does not own table ${table.name}, so it cannot put it in publication ${connector.publicationName}; connect as the owner or set connector.publication: existing`);
    }
    identities.push(`${table.name} ${identity}`);
  }
  if (identities.length > 0) notes.push(`replica identity ${identities.join(', ')}`);
  return { problems, notes };
}

/**
 * Checks the source before anything changes: server version, wal_level, a free slot and WAL
 * sender, and for every included table a primary key and a replica identity that carries
 * updates and deletes. Verify-only: it plans nothing.
 */
export function sourcePreflightStep(config: Config, sql: SqlClient): PhaseStep {
  const check = async (): Promise<string> => {
    const { problems, notes } = judgeSource(await readSourceFacts(sql, config.connector), config.connector);
    if (problems.length > 0) {
      throw new CheckFailedError(`source preflight: ${problems.join(' | ')}`, { details: { problems } });
    }
    return notes.join(', ');
  };
  return {
    name: 'source-preflight',
    plan: async () => [],
    apply: check,
    verify: check,
  };
}
