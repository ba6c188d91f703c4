import type { Config } from '../../config/schema.ts';
import { CheckFailedError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { PhaseStep } from '../phase.ts';
import { formatBytes } from '../../core/bytes.ts';
import { firstRow, num, optionalNum, optionalText, type SqlClient } from './sql.ts';

export interface SlotReading {
  readonly plugin: string | undefined;
  readonly active: boolean;
  /** reserved, extended, unreserved or lost (PostgreSQL 13+). */
  readonly walStatus: string | undefined;
  /** WAL the server keeps for the slot: current WAL position − restart_lsn. */
  readonly retainedBytes: number;
  /** Changes not yet confirmed by the connector: current WAL position − confirmed_flush_lsn. */
  readonly unconfirmedBytes: number | undefined;
}

export async function readSlot(sql: SqlClient, slot: string): Promise<SlotReading | undefined> {
  // to_jsonb keeps the query valid before PostgreSQL 13, which has no wal_status.
  const row = firstRow(
    await sql.query(
      `SELECT s.plugin, s.active, to_jsonb(s) ->> 'wal_status' AS wal_status,
              COALESCE(pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn), 0)::bigint AS retained,
              pg_wal_lsn_diff(pg_current_wal_lsn(), s.confirmed_flush_lsn)::bigint AS unconfirmed
         FROM pg_replication_slots s WHERE s.slot_name = $1`,
      [slot],
    ),
  );
  if (!row) return undefined;
  return {
    plugin: optionalText(row, 'plugin'),
    active: row.active === true,
    walStatus: optionalText(row, 'wal_status'),
    retainedBytes: num(row, 'retained'),
    unconfirmedBytes: optionalNum(row, 'unconfirmed'),
  };
}

export interface SlotVerdict {
  readonly problem: string | undefined;
  readonly warning: string | undefined;
  readonly detail: string;
}

/** Judges a slot reading against the warning threshold (pure). */
export function judgeSlot(slot: string, reading: SlotReading | undefined, warnBytes: number): SlotVerdict {
  if (!reading) {
    return {
      problem: `replication slot ${slot} does not exist; the connector creates it when it starts: check the connector-running step`,
      warning: undefined,
      detail: '',
    };
  }
  const retained = formatBytes(reading.retainedBytes);
  const unconfirmed = reading.unconfirmedBytes === undefined ? '' : `, ${formatBytes(reading.unconfirmedBytes)} not yet confirmed by the connector`;
  const detail = `replication slot ${slot} ${reading.active ? 'active' : 'INACTIVE'}, retained WAL ${retained}${unconfirmed}`;
  const warning =
    reading.retainedBytes > warnBytes
      ? `replication slot ${slot} holds back ${retained} of WAL, above connector.retainedWalWarnBytes (${formatBytes(warnBytes)}); the source disk fills while the connector lags or is stopped`
      : undefined;
  if (reading.walStatus === 'lost') {
    return { problem: `replication slot ${slot} has lost WAL it needed (wal_status lost); drop the slot and let the connector snapshot again`, warning, detail };
  }
  if (reading.plugin !== 'pgoutput') {
    return { problem: `replication slot ${slot} uses plugin ${reading.plugin}, not pgoutput; drop it and restart the connector`, warning, detail };
  }
  if (!reading.active) {
    return {
      problem: `replication slot ${slot} is not active (no connector reads it) and holds back ${retained} of WAL; a stopped connector silently fills the source disk: check the connector, or drop the slot if CDC is abandoned`,
      warning,
      detail,
    };
  }
  return { problem: undefined, warning, detail };
}

export interface ReplicationSlotOptions {
  /** How long verify waits for the slot to turn active (the connector starts streaming after its snapshot). */
  readonly activeWaitMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * The connector's replication slot: exists, pgoutput, active, and how much WAL it holds back on
 * the source (warned above `connector.retainedWalWarnBytes`). The connector creates the slot,
 * so this step changes nothing.
 */
export function replicationSlotStep(config: Config, sql: SqlClient, logger: Logger, options: ReplicationSlotOptions = {}): PhaseStep {
  const slot = config.connector.slotName;
  const warnBytes = config.connector.retainedWalWarnBytes;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const activeWaitMs = options.activeWaitMs ?? 15_000;

  const measure = async (waitForActive: boolean): Promise<SlotVerdict> => {
    const started = Date.now();
    for (;;) {
      const verdict = judgeSlot(slot, await readSlot(sql, slot), warnBytes);
      if (!waitForActive || verdict.problem === undefined || Date.now() - started > activeWaitMs) return verdict;
      await sleep(1_000);
    }
  };
  const report = (verdict: SlotVerdict): string => {
    if (verdict.warning) logger.warn(verdict.warning, { slot, threshold: warnBytes });
    return verdict.warning ? `${verdict.detail}; WARNING: ${verdict.warning}` : verdict.detail;
  };

  return {
    name: 'replication-slot',
    plan: async () => [],
    async apply() {
      const verdict = await measure(false);
      return `nothing to change (the connector owns the slot); ${verdict.problem ?? report(verdict)}`;
    },
    async verify() {
      const verdict = await measure(true);
      if (verdict.problem) {
        if (verdict.warning) logger.warn(verdict.warning, { slot, threshold: warnBytes });
        throw new CheckFailedError(verdict.problem, { details: { slot, detail: verdict.detail } });
      }
      return report(verdict);
    },
  };
}
