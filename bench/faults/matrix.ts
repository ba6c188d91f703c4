/**
 * The fault matrix of issue 11: under a steady `load`, with the processor running two workers,
 * faults are struck one at a time on a stack of the matrix's own (stack.ts) and the pipeline is
 * left to recover by itself; then the load stops, the stream catches up, the legacy batch runs
 * for the segment's windows and `validate` compares batch and stream, and the output topics are
 * audited for duplicates (audit.ts). bench/faults.ts runs the whole matrix, one fault per
 * segment; test/integration/faults.test.ts runs a shorter plan of the same code.
 */
import { waitForCatchUp } from '../../src/demo/stream-checks.ts';
import { messageOf } from '../../src/core/errors.ts';
import { mulberry32 } from '../../src/source/random.ts';
import { AuditLedger, auditDuplicates, installAudit, markAudit, type DuplicateReport } from './audit.ts';
import { FAULT_HOW, strike, type FaultName, type FaultResult, type FaultTimings } from './faults.ts';
import { LoadRunner, Observer, sleep, type LoadTotals } from './observe.ts';
import { stackUp, type FaultStack } from './stack.ts';

export interface MatrixPlan {
  /** New orders per second of the workload. */
  readonly rate: number;
  /** Faults struck in one load segment, segment by segment; each segment is validated on its own. */
  readonly segments: readonly (readonly FaultName[])[];
  /** Load before the first fault of a segment, and after its last one. */
  readonly warmupMs: number;
  readonly cooldownMs: number;
  readonly timings: FaultTimings;
  readonly seed: number;
}

export interface ValidationOutcome {
  readonly verdict: string;
  readonly reportId: number | null;
  readonly window: { readonly from: string; readonly to: string };
  readonly missing: number;
  readonly extra: number;
  readonly mismatched: number;
  readonly tables: readonly { readonly name: string; readonly batchRows: number; readonly streamRows: number; readonly missingInStream: number; readonly missingInBatch: number; readonly mismatched: number }[];
  readonly detail: string;
}

export interface SegmentResult {
  readonly faults: readonly FaultResult[];
  readonly load: LoadTotals;
  readonly catchUpSeconds: number | null;
  readonly catchUpError: string | null;
  readonly batchRows: Readonly<Record<string, number>> | null;
  readonly validation: ValidationOutcome;
  readonly duplicates: DuplicateReport;
}

export interface MatrixResult {
  readonly segments: readonly SegmentResult[];
  readonly setupSeconds: number;
}

/**
 * Brings the matrix's pipeline up, idempotently: the stack, the demo source (seeded by a short
 * `load`), the audit triggers, then the four phases with two processor workers.
 */
export async function preparePipeline(stack: FaultStack, log: (line: string) => void): Promise<void> {
  await stackUp(stack);
  const seed = await stack.cli(['load', '--rate', '20', '--duration', '1s', '--json']);
  if (seed.exitCode !== 0) throw new Error(`seeding the source failed: ${seed.stderr}`);
  await installAudit(stack.config);
  for (const phase of [['infrastructure'], ['ingestion'], ['processing', '--workers', '2'], ['output']]) {
    const run = await stack.cli(['phase', 'run', ...phase], 600_000);
    if (run.exitCode !== 0) throw new Error(`phase run ${phase.join(' ')} failed (exit ${run.exitCode}): ${run.stderr.slice(-1500)}${run.stdout.slice(-1500)}`);
    log(`phase ${phase[0]} succeeded`);
  }
}

export async function runMatrix(stack: FaultStack, plan: MatrixPlan, log: (line: string) => void): Promise<MatrixResult> {
  const started = Date.now();
  await preparePipeline(stack, log);
  const setupSeconds = (Date.now() - started) / 1000;
  const random = mulberry32(plan.seed);
  const observer = await Observer.open(stack.config);
  const ledger = new AuditLedger();
  const segments: SegmentResult[] = [];
  try {
    // Whatever an earlier run left in flight is drained before the first mark.
    await waitForCatchUp(stack.config, 300_000).catch((error: unknown) => log(`before the first segment: ${messageOf(error)}`));
    let mark = await markAudit(stack.config);
    for (const [index, faults] of plan.segments.entries()) {
      log(`segment ${index + 1}/${plan.segments.length}: ${faults.join(', ')}`);
      const fromMs = await observer.sourceNow();
      const load = new LoadRunner(stack, plan.rate, plan.seed + index * 1000);
      load.start();
      const results: FaultResult[] = [];
      let totals: LoadTotals;
      try {
        await sleep(plan.warmupMs);
        for (const fault of faults) {
          log(`  ${fault} ...`);
          const result = await strike(fault, { stack, observer, timings: plan.timings, random, log }).catch(
            (error: unknown): FaultResult => ({ fault, how: FAULT_HOW[fault], attempts: [{ recovery: 'none', seconds: null, maxLagProcessor: 0, maxLagSink: 0, notes: [`the matrix could not strike it: ${messageOf(error)}`] }] }),
          );
          for (const a of result.attempts) log(`  ${fault}: ${a.recovery}${a.command ? ` (${a.command})` : ''}, ${a.seconds ?? '-'} s, max lag ${a.maxLagProcessor}/${a.maxLagSink}; ${a.notes.join('; ')}`);
          results.push(result);
        }
        await sleep(plan.cooldownMs);
      } finally {
        totals = await load.stop();
      }
      log(`  load: ${totals.inserted} orders in ${totals.seconds.toFixed(0)} s (${(totals.inserted / Math.max(1, totals.seconds)).toFixed(0)}/s), ${totals.restarts} restarts`);
      let catchUpSeconds: number | null = null;
      let catchUpError: string | null = null;
      try {
        catchUpSeconds = (await waitForCatchUp(stack.config, 300_000)).seconds;
      } catch (error) {
        catchUpError = messageOf(error);
        log(`  ${catchUpError}`);
      }
      const windowMs = stack.config.rules.windowMinutes * 60_000;
      const toMs = Math.ceil(((await observer.sourceNow()) + 1) / windowMs) * windowMs;
      const window = { from: new Date(Math.floor(fromMs / windowMs) * windowMs).toISOString(), to: new Date(toMs).toISOString() };
      // validate compares closed windows only.
      if (toMs + 1_000 > Date.now()) await sleep(toMs + 1_000 - Date.now());
      const batch = await stack.cli(['batch', 'run', '--from', window.from, '--to', window.to, '--json'], 600_000);
      const batchRows = batch.exitCode === 0 ? (JSON.parse(batch.stdout) as { rows: Record<string, number> }).rows : null;
      if (batch.exitCode !== 0) log(`  batch run failed (exit ${batch.exitCode}): ${batch.stderr.slice(-500)}`);
      const validation = await validate(stack, window);
      log(`  validate ${window.from} .. ${window.to}: ${validation.verdict}, missing ${validation.missing}, extra ${validation.extra}, mismatched ${validation.mismatched}`);
      const next = await markAudit(stack.config);
      const duplicates = await auditDuplicates(stack.config, ledger, mark, next);
      log(`  duplicates: ${duplicates.duplicatedKeys} of ${duplicates.keysChecked} keys (${duplicates.recordsRead} records read_committed, ${duplicates.abortedRecords} aborted)${duplicates.samples.length ? `: ${duplicates.samples.join('; ')}` : ''}`);
      mark = next;
      segments.push({ faults: results, load: totals, catchUpSeconds, catchUpError, batchRows, validation, duplicates });
    }
  } finally {
    await observer.close();
  }
  return { segments, setupSeconds };
}

interface ValidateJson {
  readonly reportId?: number;
  readonly verdict: string;
  readonly window: { readonly from: string; readonly to: string };
  readonly tables: ValidationOutcome['tables'];
}

async function validate(stack: FaultStack, window: { readonly from: string; readonly to: string }): Promise<ValidationOutcome> {
  const run = await stack.cli(['validate', '--from', window.from, '--to', window.to, '--settle', '0s', '--json'], 600_000);
  let json: ValidateJson;
  try {
    json = JSON.parse(run.stdout) as ValidateJson;
  } catch {
    return { verdict: `ERROR (exit ${run.exitCode})`, reportId: null, window, missing: -1, extra: -1, mismatched: -1, tables: [], detail: run.stderr.trim().split('\n').at(-1) ?? '' };
  }
  const sum = (f: (t: ValidationOutcome['tables'][number]) => number) => json.tables.reduce((n, t) => n + f(t), 0);
  return {
    verdict: json.verdict,
    reportId: json.reportId ?? null,
    window: json.window,
    missing: sum((t) => t.missingInStream),
    extra: sum((t) => t.missingInBatch),
    mismatched: sum((t) => t.mismatched),
    tables: json.tables.map((t) => ({ name: t.name, batchRows: t.batchRows, streamRows: t.streamRows, missingInStream: t.missingInStream, missingInBatch: t.missingInBatch, mismatched: t.mismatched })),
    detail: '',
  };
}

/** A fault survived: every strike recovered (on its own, or after the one printed command), its segment validated PASS with 0/0/0 and no duplicate. */
export function survived(segment: SegmentResult, fault: FaultResult): boolean {
  const v = segment.validation;
  return fault.attempts.every((a) => a.recovery !== 'none') && v.verdict === 'PASS' && v.missing === 0 && v.extra === 0 && v.mismatched === 0 && segment.duplicates.duplicatedKeys === 0;
}

/** The matrix as a table, then one line per note, ending with the one-line verdict. */
export function renderMatrix(result: MatrixResult): string {
  const rows: string[][] = [];
  const notes: string[] = [];
  let faults = 0;
  let survivedCount = 0;
  let lost = 0;
  let duplicated = 0;
  for (const segment of result.segments) {
    const v = segment.validation;
    lost += Math.max(0, v.missing);
    duplicated += segment.duplicates.duplicatedKeys;
    for (const fault of segment.faults) {
      faults++;
      if (survived(segment, fault)) survivedCount++;
      const recovery = fault.attempts.every((a) => a.recovery === 'auto')
        ? 'yes'
        : fault.attempts.some((a) => a.recovery === 'none')
          ? 'NO'
          : `1 command: ${[...new Set(fault.attempts.flatMap((a) => (a.command ? [a.command] : [])))].join(', ')}`;
      const seconds = fault.attempts.map((a) => (a.seconds === null ? '-' : a.seconds.toFixed(1))).join(' / ');
      const lag = `${Math.max(...fault.attempts.map((a) => a.maxLagProcessor))} / ${Math.max(...fault.attempts.map((a) => a.maxLagSink))}`;
      rows.push([fault.fault, recovery, seconds, lag, `${v.verdict} ${v.missing}/${v.extra}/${v.mismatched}`, String(segment.duplicates.duplicatedKeys)]);
      for (const a of fault.attempts) notes.push(`${fault.fault}: ${a.notes.join('; ')}`);
    }
    const d = segment.duplicates;
    notes.push(
      `segment of ${segment.faults.map((f) => f.fault).join(', ')}: load ${segment.load.inserted} orders (+${segment.load.updated} updates, ${segment.load.cancelled} cancels, ${segment.load.deleted} deletes, ${segment.load.moved} moves, ${segment.load.tierChanges} tier changes) at ${(segment.load.inserted / Math.max(1, segment.load.seconds)).toFixed(0)}/s` +
        `${segment.load.restarts ? `, load restarted ${segment.load.restarts}x` : ''}; caught up ${segment.catchUpSeconds === null ? `NO (${segment.catchUpError ?? ''})` : `in ${segment.catchUpSeconds.toFixed(1)} s`}; ` +
        `validated ${v.window.from} .. ${v.window.to} (report ${v.reportId ?? '-'}: ${v.tables.map((t) => `${t.name} ${t.batchRows}/${t.streamRows}`).join(', ')}${v.detail ? `; ${v.detail}` : ''}); ` +
        `audit: ${d.keysChecked} keys, ${d.recordsRead} records read_committed by kafkajs, ${d.abortedRecords} records of aborted transactions, ${d.keysUnaudited} keys of pre-audit orders or windows skipped${d.samples.length ? `; ${d.samples.join('; ')}` : ''}`,
    );
  }
  const header = ['fault', 'recovered', 's to committed output', 'max lag proc / sink', 'validate missing/extra/mismatched', 'dup keys'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    ...notes,
    '',
    `faults survived ${survivedCount}/${faults}, rows lost ${lost}, rows duplicated ${duplicated}`,
  ].join('\n');
}

/** Issue 11's matrix: each fault in a segment of its own, at 500 orders/s. */
export const FULL_PLAN: MatrixPlan = {
  rate: 500,
  segments: [
    ['processor-sigkill'],
    ['sink-sigkill'],
    ['processor-and-sink-sigkill'],
    ['supervisor-sigkill'],
    ['kafka-sigkill'],
    ['connect-restart'],
    ['clickhouse-stop'],
    ['postgres-restart'],
    ['sink-access-revoked'],
  ],
  warmupMs: 20_000,
  cooldownMs: 10_000,
  timings: { processorKills: 3, kafkaDownMs: 10_000, clickhouseDownMs: 60_000, revokedMs: 30_000, autoRecoveryMs: 150_000 },
  seed: 20261111,
};

/** What `npm test` affords (a few minutes): the worker faults, in one segment, one kill each. */
export const TEST_PLAN: MatrixPlan = {
  rate: 500,
  segments: [['processor-sigkill', 'sink-sigkill', 'supervisor-sigkill']],
  warmupMs: 8_000,
  cooldownMs: 5_000,
  timings: { processorKills: 1, kafkaDownMs: 5_000, clickhouseDownMs: 10_000, revokedMs: 10_000, autoRecoveryMs: 60_000 },
  seed: 20261112,
};
