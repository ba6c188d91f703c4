import type pg from 'pg';

export type AuditOutcome = 'succeeded' | 'failed' | 'refused' | 'dry-run';

export interface AuditEntry {
  readonly actor: string;
  readonly command: string;
  readonly target?: string;
  readonly outcome: AuditOutcome;
  readonly detail?: Readonly<Record<string, unknown>>;
}

export interface AuditRecord extends Required<AuditEntry> {
  readonly id: number;
  readonly at: Date;
}

type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.Client, 'query'>;

/** The append-only record of every command that changed something: who, when, what, outcome. */
export class AuditLog {
  private readonly db: Queryable;
  constructor(db: Queryable) {
    this.db = db;
  }

  async append(entry: AuditEntry): Promise<number> {
    const { rows } = await this.db.query<{ id: string }>(
      'INSERT INTO stream_migrate.audit_log (actor, command, target, outcome, detail) VALUES ($1, $2, $3, $4, $5) RETURNING id',
      [entry.actor, entry.command, entry.target ?? '', entry.outcome, JSON.stringify(entry.detail ?? {})],
    );
    return Number(rows[0]?.id);
  }

  async recent(limit = 50, command?: string): Promise<readonly AuditRecord[]> {
    const { rows } = await this.db.query<{ id: string; at: Date; actor: string; command: string; target: string; outcome: AuditOutcome; detail: Record<string, unknown> }>(
      `SELECT id, at, actor, command, target, outcome, detail FROM stream_migrate.audit_log
       WHERE ($2::text IS NULL OR command = $2) ORDER BY id DESC LIMIT $1`,
      [limit, command ?? null],
    );
    return rows.map((r) => ({ ...r, id: Number(r.id) }));
  }
}
