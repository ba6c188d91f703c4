import { MAX_LOCAL_WORKERS } from '../config/schema.ts';
import type { Command } from 'commander';
import { UsageError } from '../core/errors.ts';
import { CutoverDecisions } from '../cutover/decisions.ts';
import { PHASES } from '../phases/index.ts';
import { isPhaseName, PHASE_NAMES, type Phase, type PhaseContext } from '../phases/phase.ts';
import { planPhase, runPhase, verifyPhase, type PlanResult, type RunResult } from '../phases/runner.ts';
import { PhaseRuns } from '../state/phase-runs.ts';
import { openStateStore } from '../state/state-store.ts';
import type { CommandContext, CommandResult } from './context.ts';
import { createProgress } from './progress.ts';
import type { Register } from './registry.ts';
import { renderTable } from './table.ts';

function phaseNamed(name: string | undefined): Phase {
  if (!name || !isPhaseName(name)) throw new UsageError(`unknown phase "${name ?? ''}"; choose one of ${PHASE_NAMES.join(', ')}`);
  return PHASES[name];
}

function phaseContext(ctx: CommandContext, prune: boolean, workers?: string, acceptBreaking = false): PhaseContext {
  const count = workers === undefined ? undefined : Number(workers);
  if (count !== undefined && (!Number.isInteger(count) || count < 1 || count > MAX_LOCAL_WORKERS)) throw new UsageError(`--workers ${workers}: expected a whole number from 1 to ${MAX_LOCAL_WORKERS}`);
  const loaded = ctx.loaded();
  return { config: loaded.config, logger: ctx.logger, clock: ctx.clock, progress: createProgress(ctx.logger), options: { prune, workers: count, acceptBreaking }, actor: ctx.actor, cwd: ctx.cwd, configFile: loaded.file, redact: (text) => ctx.redactor.redact(text) };
}

/** Where the migration stands: each phase and its latest run. */
export async function phaseList(_options: object, ctx: CommandContext): Promise<CommandResult> {
  const store = await openStateStore(ctx.loaded().config.warehouse);
  try {
    const latest = new Map((await new PhaseRuns(store.pool).latestPerPhase()).map((r) => [r.phase, r]));
    const phases = PHASE_NAMES.map((name) => {
      const run = latest.get(name);
      return { name, status: run?.status ?? 'not_started', lastRunAt: run ? run.startedAt.toISOString() : null, description: PHASES[name].description };
    });
    const rows = phases.map((p) => [p.name, p.status, p.lastRunAt ?? '-', p.description]);
    const migration = await new CutoverDecisions(store.pool).state();
    const meaning = { 'dual-run': 'batch and stream run side by side', 'cut-over': 'the stream is the source of truth; the batch job is retired', 'rolled-back': 'the batch job was brought back' }[migration];
    return { data: { phases, migration }, text: `${renderTable(['phase', 'status', 'last run', 'what it does'], rows)}
migration: ${migration} (${meaning})` };
  } finally {
    await store.close();
  }
}

export interface PlanOptions {
  readonly failOnChanges: boolean;
  readonly prune: boolean;
  readonly workers?: string;
}

/** What `phase run` would change, as a diff; changes nothing. */
export async function phasePlan(options: PlanOptions, ctx: CommandContext, args: readonly string[]): Promise<CommandResult> {
  const result = await planPhase(phaseNamed(args[0]), phaseContext(ctx, options.prune, options.workers));
  const pending = result.changes.filter((c) => c.action !== 'none');
  return {
    data: { phase: result.phase, changes: result.changes.map(({ resource, action, diff, step }) => ({ resource, action, diff, step })) },
    text: renderPlan(result),
    exitCode: options.failOnChanges && pending.length > 0 ? 1 : 0,
  };
}

export interface RunOptions {
  readonly dryRun: boolean;
  readonly prune: boolean;
  readonly workers?: string;
  readonly acceptBreaking?: boolean;
}

/** Applies a phase step by step (or, with --dry-run, shows the plan and touches nothing). */
export async function phaseRun(options: RunOptions, ctx: CommandContext, args: readonly string[]): Promise<CommandResult> {
  const phase = phaseNamed(args[0]);
  const pctx = phaseContext(ctx, options.prune, options.workers, options.acceptBreaking === true);
  if (options.dryRun) {
    const plan = await planPhase(phase, pctx);
    const data = { phase: phase.name, status: 'succeeded', dryRun: true, steps: [], changes: plan.changes };
    return { data, text: `dry run: nothing was changed\n${renderPlan(plan)}` };
  }
  const store = await openStateStore(pctx.config.warehouse);
  try {
    const result = await runPhase(phase, pctx, store, ctx.actor);
    return { data: runJson(result), text: renderRun(result), exitCode: result.exitCode };
  } finally {
    pctx.progress.done();
    await store.close();
  }
}

/** Checks a phase's result without changing anything. */
export async function phaseVerify(_options: object, ctx: CommandContext, args: readonly string[]): Promise<CommandResult> {
  const result = await verifyPhase(phaseNamed(args[0]), phaseContext(ctx, false));
  return { data: runJson(result), text: renderRun(result), exitCode: result.exitCode };
}

function runJson(result: RunResult): Record<string, unknown> {
  return { phase: result.phase, status: result.status, steps: result.steps, ...(result.runId !== undefined ? { runId: result.runId } : {}) };
}

function renderPlan(plan: PlanResult): string {
  const pending = plan.changes.filter((c) => c.action !== 'none');
  if (pending.length === 0) return `phase ${plan.phase}: no changes; everything matches the configuration`;
  const symbol = { create: '+', update: '~', delete: '-', none: ' ' } as const;
  const lines = pending.map((c) => `${symbol[c.action]} ${c.resource} (${c.step})${c.diff ? `\n${indent(c.diff)}` : ''}`);
  const counts = (['create', 'update', 'delete'] as const).map((a) => `${pending.filter((c) => c.action === a).length} to ${a}`).join(', ');
  return `phase ${plan.phase}: ${counts}\n${lines.join('\n')}`;
}

function renderRun(result: RunResult): string {
  const table = renderTable(['step', 'status', 'detail'], result.steps.map((s) => [s.name, s.status, s.detail]));
  return `${table}\nphase ${result.phase} ${result.status}`;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}

export const registerPhase: Register = (program: Command, action) => {
  const phase = program.command('phase').description('list, plan and run the migration phases (infrastructure, ingestion, processing, output)');
  phase.command('list').description('each phase and its latest run').action(action(phaseList));
  phase
    .command('plan')
    .description('show what `phase run` would change, as a diff')
    .argument('<name>', PHASE_NAMES.join(' | '))
    .option('--fail-on-changes', 'exit 1 when anything would change (drift detection in CI)', false)
    .option('--prune', 'also plan deleting managed resources that are no longer declared', false)
    .option('--workers <n>', 'processing: plan for this many processor workers')
    .action(action(phasePlan));
  phase
    .command('run')
    .description('apply the phase step by step, then verify (idempotent, resumable)')
    .argument('<name>', PHASE_NAMES.join(' | '))
    .option('--dry-run', 'show the plan and change nothing', false)
    .option('--prune', 'delete managed resources that are no longer declared', false)
    .option('--workers <n>', 'processing: how many processor workers to keep running (default processor.workers)')
    .option('--accept-breaking', 'ingestion: register breaking source schema changes anyway (audited; the plan says what breaks)', false)
    .action(action(phaseRun));
  phase
    .command('verify')
    .description('check the phase result without changing anything')
    .argument('<name>', PHASE_NAMES.join(' | '))
    .action(action(phaseVerify));
};
