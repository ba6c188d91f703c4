/**
 * How far into the source's history the stream had got: the newest source commit time the stream
 * outputs hold, and the replication slot's confirmed position against the source's current WAL.
 * Read by `validate` (recorded in the report) and by the cutover gate (slot lag).
 */
import { createClickHouse, type ClickHouseSettings } from '../clients/clickhouse.ts';
import { withPostgres, type PostgresTarget } from '../clients/postgres.ts';
import { messageOf } from '../core/errors.ts';
import { identifier } from './fingerprint-sql.ts';
import type { SourcePosition } from './provenance.ts';

export interface SlotPosition {
  readonly slotName: string;
  /** False when the slot does not exist. */
  readonly exists: boolean;
  readonly active: boolean;
  readonly confirmedLsn: string | null;
  readonly currentLsn: string;
  /** pg_current_wal_lsn() − confirmed_flush_lsn in bytes; null when the slot has confirmed nothing. */
  readonly lagBytes: number | null;
}

/** The slot's confirmed position and the source's current WAL position, in one query. */
export async function readSlotPosition(source: PostgresTarget, slotName: string): Promise<SlotPosition> {
  return withPostgres(source, 'source', async (client) => {
    const { rows } = await client.query<{ current: string; confirmed: string | null; active: boolean | null; lag: string | null; found: boolean }>(
      `SELECT pg_current_wal_lsn()::text AS current, s.confirmed_flush_lsn::text AS confirmed, s.active,
              pg_wal_lsn_diff(pg_current_wal_lsn(), s.confirmed_flush_lsn)::text AS lag, s.slot_name IS NOT NULL AS found
         FROM (SELECT 1) one LEFT JOIN pg_replication_slots s ON s.slot_name = $1`,
      [slotName],
    );
    const row = rows[0];
    return {
      slotName,
      exists: row?.found === true,
      active: row?.active === true,
      confirmedLsn: row?.confirmed ?? null,
      currentLsn: row?.current ?? '',
      lagBytes: row?.lag === null || row?.lag === undefined ? null : Number(row.lag),
    };
  });
}

/** The newest source commit (source_ts) among every stored processed order; null when none carries one. */
export async function newestSourceCommit(clickhouse: ClickHouseSettings, database: string): Promise<string | null> {
  const ch = createClickHouse(clickhouse, database);
  try {
    const rows = await ch.query<{ s: string }>(`SELECT toString(max(toUnixTimestamp(source_ts))) AS s FROM ${identifier(database)}.processed_orders_versions`);
    const seconds = Number(rows[0]?.s ?? 0);
    return seconds > 0 ? new Date(seconds * 1000).toISOString() : null;
  } finally {
    await ch.close();
  }
}

/**
 * Both positions, best effort: a report is still made when the source or its slot cannot be read
 * (the note says why), since the comparison itself does not depend on them.
 */
export async function readSourcePosition(deps: { readonly source: PostgresTarget; readonly clickhouse: ClickHouseSettings }, database: string, slotName: string): Promise<SourcePosition> {
  const notes: string[] = [];
  const [commit, slot] = await Promise.all([
    newestSourceCommit(deps.clickhouse, database).catch((error: unknown) => {
      notes.push(`newest source commit unknown: ${messageOf(error).split('\n')[0]}`);
      return null;
    }),
    readSlotPosition(deps.source, slotName).catch((error: unknown) => {
      notes.push(`slot position unknown: ${messageOf(error).split('\n')[0]}`);
      return null;
    }),
  ]);
  if (slot && !slot.exists) notes.push(`replication slot ${slotName} does not exist on the source`);
  return { newestSourceCommit: commit, slotName, slotConfirmedLsn: slot?.confirmedLsn ?? null, note: notes.length > 0 ? notes.join('; ') : null };
}
