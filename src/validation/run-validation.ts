/**
 * The validate workflow: reconcile batch against stream over one window, judge the result, record
 * how the report was made and how far the stream had got in the source, store the report, write
 * it as JSON and Markdown, and append the audit entry. `validate` and the demo both call this.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/schema.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import { openStateStore } from '../state/state-store.ts';
import { ValidationReports } from '../state/validation-reports.ts';
import type { StreamRead } from './fingerprint-sql.ts';
import { judge } from './policy.ts';
import { reconcile } from './reconcile.ts';
import { buildReport, renderMarkdown, type ValidationReport } from './report.ts';
import { readSourcePosition } from './source-position.ts';
import type { OutputTableName } from './tables.ts';
import type { ValidationWindow } from './window.ts';
import { clickhouseAs } from '../output/clickhouse-users.ts';
import { warehouseReader } from './warehouse-reader.ts';

export interface ValidationRequest {
  /** The resolved window (window.ts): requested and compared. */
  readonly window: ValidationWindow;
  /** The settle margin as written (flag or configuration). */
  readonly settle: string;
  readonly tables: readonly OutputTableName[];
  readonly samples: number;
  readonly batchSchema: string;
  readonly streamDatabase: string;
  readonly streamRead: StreamRead;
  /** Where the JSON and Markdown files go (absolute). */
  readonly outDir: string;
}

export interface ValidationDeps {
  readonly config: Config;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly actor: string;
}

/** Runs one validation end to end and returns the stored report. Unreachable databases throw (exit 3). */
export async function runValidation(request: ValidationRequest, deps: ValidationDeps): Promise<ValidationReport> {
  const started = performance.now();
  const { config } = deps;
  const { window } = request;
  // Both sides are read by read-only users; the report is written below by the state store's.
  const clickhouse = clickhouseAs(config, 'reader', request.streamDatabase);
  const store = await openStateStore(config.warehouse);
  try {
    const [result, sourcePosition] = await Promise.all([
      reconcile(
        {
          tables: request.tables,
          window: { fromSec: window.fromMs / 1000, toSec: window.toMs / 1000 },
          target: { schema: request.batchSchema, database: request.streamDatabase, streamRead: request.streamRead },
          samples: request.samples,
        },
        { warehouse: await warehouseReader(config, request.batchSchema), clickhouse, logger: deps.logger },
      ),
      readSourcePosition({ source: config.source, clickhouse }, request.streamDatabase, config.connector.slotName),
    ]);
    const outcome = judge(result.tables, config.validation.tolerances, config.validation.minRows);
    const body = buildReport({
      window,
      settle: request.settle,
      tables: result.tables,
      latency: result.latency,
      outcome,
      minRows: config.validation.minRows,
      tolerances: config.validation.tolerances,
      batchSchema: request.batchSchema,
      streamDatabase: request.streamDatabase,
      streamRead: request.streamRead,
      sourcePosition,
      elapsedMs: performance.now() - started,
      createdAt: deps.clock.now(),
    });
    const reportId = await new ValidationReports(store.pool).save({
      windowFrom: new Date(window.fromMs),
      windowTo: new Date(window.toMs),
      verdict: outcome.verdict,
      report: body,
      provenance: body.provenance,
      elapsedMs: body.elapsedMs,
      actor: deps.actor,
    });
    const files = { json: path.join(request.outDir, `validation-${reportId}.json`), markdown: path.join(request.outDir, `validation-${reportId}.md`) };
    const report: ValidationReport = { reportId, ...body, files };
    fs.mkdirSync(request.outDir, { recursive: true });
    fs.writeFileSync(files.json, JSON.stringify(report, null, 2) + '\n');
    fs.writeFileSync(files.markdown, renderMarkdown(report));
    await store.audit.append({
      actor: deps.actor,
      command: 'validate',
      target: `${body.window.from}..${body.window.to}`,
      outcome: outcome.verdict === 'PASS' ? 'succeeded' : 'failed',
      detail: { reportId, verdict: outcome.verdict, failures: outcome.failures, noData: outcome.noData },
    });
    return report;
  } finally {
    await store.close();
  }
}
