import type pg from 'pg';
import { ConflictError, DependencyError, messageOf, type ExitCode } from '../core/errors.ts';
import type { AuditLog } from '../state/audit-log.ts';
import { withTryAdvisoryLock } from '../state/advisory-lock.ts';
import { PhaseRuns } from '../state/phase-runs.ts';
import type { Phase, PhaseContext, PlannedChange, StepReport } from './phase.ts';

export interface PlanResult {
  readonly phase: string;
  readonly changes: readonly (PlannedChange & { readonly step: string })[];
}

export interface RunResult {
  readonly phase: string;
  readonly status: 'succeeded' | 'failed';
  readonly dryRun: boolean;
  readonly steps: readonly StepReport[];
  /** With --dry-run: what a run would change. */
  readonly changes?: PlanResult['changes'];
  readonly runId?: number;
  /** 1 when a step failed its check, 3 when a service was unreachable. */
  readonly exitCode: ExitCode;
}

/** What would change, step by step; touches nothing. */
export async function planPhase(phase: Phase, ctx: PhaseContext): Promise<PlanResult> {
  const { steps, close } = await phase.steps(ctx);
  try {
    const changes: (PlannedChange & { step: string })[] = [];
    for (const step of steps) {
      for (const change of await step.plan()) changes.push({ ...change, step: step.name });
    }
    return { phase: phase.name, changes };
  } finally {
    await close();
  }
}

/** Checks every step's result without changing anything. */
export async function verifyPhase(phase: Phase, ctx: PhaseContext): Promise<RunResult> {
  const { steps, close } = await phase.steps(ctx);
  try {
    const reports: StepReport[] = [];
    let exitCode: ExitCode = 0;
    for (const step of steps) {
      try {
        reports.push({ name: step.name, status: 'succeeded', detail: await step.verify() });
      } catch (error) {
        exitCode = exitCode === 0 ? exitCodeOf(error) : exitCode;
        reports.push({ name: step.name, status: 'failed', detail: messageOf(error) });
      }
    }
    return { phase: phase.name, status: exitCode === 0 ? 'succeeded' : 'failed', dryRun: false, steps: reports, exitCode };
  } finally {
    await close();
  }
}

export interface StateAccess {
  readonly pool: pg.Pool;
  readonly audit: AuditLog;
}

/**
 * Runs a phase as a reconcile loop: for each step plan, apply only when something differs,
 * verify. A failed step stops the chain (later steps are reported skipped); a re-run resumes,
 * because finished steps plan no change. One run per phase at a time (an advisory lock).
 */
export async function runPhase(phase: Phase, ctx: PhaseContext, state: StateAccess, actor: string): Promise<RunResult> {
  const runs = new PhaseRuns(state.pool);
  return withTryAdvisoryLock(
    state.pool,
    `stream-migrate:phase:${phase.name}`,
    async (held, holder) => {
      if (!held) {
        const other = await runs.running(phase.name);
        const who = other ? ` (started by ${other.actor} at ${other.startedAt.toISOString()}${holder ? `; lock held by ${holder}` : ''})` : holder ? ` (lock held by ${holder})` : '';
        throw new ConflictError(`phase ${phase.name} is already running${who}; wait for it to finish, then run it again`, {
          details: { phase: phase.name, ...(other ? { actor: other.actor, startedAt: other.startedAt.toISOString() } : {}), ...(holder ? { holder } : {}) },
        });
      }
      await runs.failInterrupted(phase.name);
      return runLocked(phase, ctx, state, runs, actor);
    },
    `stream-migrate phase run ${phase.name} by ${actor}`,
  );
}

async function runLocked(phase: Phase, ctx: PhaseContext, state: StateAccess, runs: PhaseRuns, actor: string): Promise<RunResult> {
  const redact = ctx.redact ?? ((text: string) => text);
  const runId = await runs.start(phase.name, actor);
  const reports: StepReport[] = [];
  let exitCode: ExitCode = 0;
  let firstError: string | undefined;
  try {
    const { steps, close } = await phase.steps(ctx);
    try {
      for (const [seq, step] of steps.entries()) {
        const startedAt = ctx.clock.now();
        let report: StepReport;
        if (exitCode !== 0) {
          report = { name: step.name, status: 'skipped', detail: 'not run: an earlier step failed' };
        } else {
          try {
            const changes = (await step.plan()).filter((c) => c.action !== 'none');
            const applied = changes.length > 0 ? await step.apply(changes) : 'up to date';
            const verified = await step.verify();
            report = { name: step.name, status: 'succeeded', detail: redact(verified ? `${applied}; ${verified}` : applied) };
          } catch (error) {
            exitCode = exitCodeOf(error);
            const message = redact(messageOf(error));
            firstError = `${step.name}: ${message}`;
            report = { name: step.name, status: 'failed', detail: message };
          }
        }
        ctx.logger.info(`${phase.name} › ${step.name}: ${report.status}${report.detail ? ` (${report.detail})` : ''}`);
        reports.push(report);
        await runs.recordStep(runId, seq, report, startedAt, ctx.clock.now());
      }
    } finally {
      await close();
    }
  } catch (error) {
    // Building the steps failed (e.g. a client could not be created): the run failed as a whole.
    exitCode = exitCodeOf(error);
    firstError = redact(messageOf(error));
  }
  const status = exitCode === 0 ? 'succeeded' : 'failed';
  await runs.finish(runId, status, firstError);
  await state.audit.append({
    actor,
    command: 'phase run',
    target: phase.name,
    outcome: status,
    detail: { runId, steps: reports.map((r) => ({ name: r.name, status: r.status })), ...(firstError ? { error: firstError } : {}) },
  });
  if (firstError && reports.length === 0) reports.push({ name: 'setup', status: 'failed', detail: firstError });
  return { phase: phase.name, status, dryRun: false, steps: reports, runId, exitCode };
}

function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof DependencyError) return 3;
  const code = (error as { exitCode?: unknown }).exitCode;
  return code === 2 || code === 3 ? code : 1;
}
