import type pg from 'pg';
import type { GateCheck } from './policy.ts';

export type MigrationState = 'dual-run' | 'cut-over' | 'rolled-back';

export interface Decision {
  readonly id: number;
  readonly action: 'cutover' | 'rollback';
  readonly actor: string;
  readonly reason: string | null;
  readonly decidedAt: Date;
}

type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

/** Cutover and rollback decisions in the state store; the newest executed one is the migration's state. */
export class CutoverDecisions {
  private readonly db: Queryable;
  constructor(db: Queryable) {
    this.db = db;
  }

  async record(entry: {
    readonly action: 'cutover' | 'rollback';
    readonly dryRun: boolean;
    readonly allowed: boolean;
    readonly executed: boolean;
    readonly checks: readonly GateCheck[];
    readonly reportIds: readonly number[];
    readonly reason?: string;
    readonly actor: string;
  }): Promise<number> {
    const { rows } = await this.db.query<{ id: string }>(
      `INSERT INTO stream_migrate.cutover_decisions (action, dry_run, allowed, executed, checks, report_ids, reason, actor)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
      [entry.action, entry.dryRun, entry.allowed, entry.executed, JSON.stringify(entry.checks), entry.reportIds, entry.reason ?? null, entry.actor],
    );
    return Number(rows[0]?.id);
  }

  /** The newest executed decision, if any. */
  async current(): Promise<Decision | undefined> {
    const { rows } = await this.db.query<{ id: string; action: 'cutover' | 'rollback'; actor: string; reason: string | null; decided_at: Date }>(
      'SELECT id, action, actor, reason, decided_at FROM stream_migrate.cutover_decisions WHERE executed ORDER BY decided_at DESC, id DESC LIMIT 1',
    );
    const row = rows[0];
    return row ? { id: Number(row.id), action: row.action, actor: row.actor, reason: row.reason, decidedAt: row.decided_at } : undefined;
  }

  async state(): Promise<MigrationState> {
    return stateOf(await this.current());
  }
}

export function stateOf(decision: Decision | undefined): MigrationState {
  if (!decision) return 'dual-run';
  return decision.action === 'cutover' ? 'cut-over' : 'rolled-back';
}
