import type pg from 'pg';
import { parseProvenance, type ReportProvenance } from '../validation/provenance.ts';

export type ReportVerdict = 'PASS' | 'FAIL' | 'NO_DATA';

export interface NewValidationReport {
  /** The compared window. */
  readonly windowFrom: Date;
  readonly windowTo: Date;
  readonly verdict: ReportVerdict;
  /** The whole report, JSON-safe; stored as jsonb. */
  readonly report: Readonly<Record<string, unknown>>;
  readonly provenance: ReportProvenance;
  readonly elapsedMs: number;
  readonly actor: string;
}

/** What the cutover gate reads: the verdict, the compared window and how the report was made. */
export interface ValidationReportSummary {
  readonly id: number;
  readonly verdict: ReportVerdict;
  readonly windowFrom: Date;
  readonly windowTo: Date;
  readonly createdAt: Date;
  /** Null for reports stored before provenance was recorded (they do not count). */
  readonly provenance: ReportProvenance | null;
}

type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.Client, 'query'>;

/** Validation reports in the state store (`stream_migrate.validation_reports`). */
export class ValidationReports {
  private readonly db: Queryable;
  constructor(db: Queryable) {
    this.db = db;
  }

  async save(entry: NewValidationReport): Promise<number> {
    const { rows } = await this.db.query<{ id: string }>(
      `INSERT INTO stream_migrate.validation_reports (window_from, window_to, verdict, report, provenance, elapsed_ms, actor)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
      [entry.windowFrom, entry.windowTo, entry.verdict, JSON.stringify(entry.report), JSON.stringify(entry.provenance), Math.round(entry.elapsedMs), entry.actor],
    );
    return Number(rows[0]?.id);
  }

  /** The newest `limit` reports, newest first. */
  async latest(limit: number): Promise<readonly ValidationReportSummary[]> {
    const { rows } = await this.db.query<{ id: string; verdict: ReportVerdict; window_from: Date; window_to: Date; created_at: Date; provenance: unknown }>(
      'SELECT id, verdict, window_from, window_to, created_at, provenance FROM stream_migrate.validation_reports ORDER BY created_at DESC, id DESC LIMIT $1',
      [limit],
    );
    return rows.map((r) => ({ id: Number(r.id), verdict: r.verdict, windowFrom: r.window_from, windowTo: r.window_to, createdAt: r.created_at, provenance: parseProvenance(r.provenance) }));
  }

  /** One stored report's JSON, or undefined. */
  async get(id: number): Promise<Readonly<Record<string, unknown>> | undefined> {
    const { rows } = await this.db.query<{ report: Record<string, unknown> }>('SELECT report FROM stream_migrate.validation_reports WHERE id = $1', [id]);
    return rows[0]?.report;
  }
}
