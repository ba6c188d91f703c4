import type pg from 'pg';
import type { PhaseName, StepReport } from '../phases/phase.ts';

export type PhaseRunStatus = 'running' | 'succeeded' | 'failed';

export interface PhaseRunSummary {
  readonly phase: PhaseName;
  readonly status: PhaseRunStatus;
  readonly startedAt: Date;
  readonly finishedAt: Date | null;
  readonly actor: string;
}

/** Phase runs and their steps in the state store. */
export class PhaseRuns {
  private readonly db: Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;
  constructor(db: Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>) {
    this.db = db;
  }

  async start(phase: PhaseName, actor: string): Promise<number> {
    const { rows } = await this.db.query<{ id: string }>(
      "INSERT INTO stream_migrate.phase_runs (phase, status, actor) VALUES ($1, 'running', $2) RETURNING id",
      [phase, actor],
    );
    return Number(rows[0]?.id);
  }

  async recordStep(runId: number, seq: number, step: StepReport, startedAt: Date, finishedAt: Date): Promise<void> {
    await this.db.query(
      'INSERT INTO stream_migrate.phase_steps (run_id, seq, name, status, detail, started_at, finished_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [runId, seq, step.name, step.status, step.detail, startedAt, finishedAt],
    );
  }

  async finish(runId: number, status: 'succeeded' | 'failed', error?: string): Promise<void> {
    await this.db.query('UPDATE stream_migrate.phase_runs SET status = $2, finished_at = now(), error = $3 WHERE id = $1', [runId, status, error ?? null]);
  }

  /** Runs left `running` by a process that died; called while holding the phase lock, so they are stale. */
  async failInterrupted(phase: PhaseName): Promise<number> {
    const { rowCount } = await this.db.query(
      "UPDATE stream_migrate.phase_runs SET status = 'failed', finished_at = now(), error = 'interrupted: the process running it stopped' WHERE phase = $1 AND status = 'running'",
      [phase],
    );
    return rowCount ?? 0;
  }

  async running(phase: PhaseName): Promise<PhaseRunSummary | undefined> {
    return (await this.latestWhere('phase = $1 AND status = $2', [phase, 'running']))[0];
  }

  /** The newest run of each phase. */
  async latestPerPhase(): Promise<readonly PhaseRunSummary[]> {
    const { rows } = await this.db.query<{ phase: PhaseName; status: PhaseRunStatus; started_at: Date; finished_at: Date | null; actor: string }>(
      'SELECT DISTINCT ON (phase) phase, status, started_at, finished_at, actor FROM stream_migrate.phase_runs ORDER BY phase, started_at DESC, id DESC',
    );
    return rows.map(toSummary);
  }

  private async latestWhere(where: string, params: unknown[]): Promise<PhaseRunSummary[]> {
    const { rows } = await this.db.query<{ phase: PhaseName; status: PhaseRunStatus; started_at: Date; finished_at: Date | null; actor: string }>(
      `SELECT phase, status, started_at, finished_at, actor FROM stream_migrate.phase_runs WHERE ${where} ORDER BY started_at DESC LIMIT 1`,
      params,
    );
    return rows.map(toSummary);
  }
}

function toSummary(r: { phase: PhaseName; status: PhaseRunStatus; started_at: Date; finished_at: Date | null; actor: string }): PhaseRunSummary {
  return { phase: r.phase, status: r.status, startedAt: r.started_at, finishedAt: r.finished_at, actor: r.actor };
}
