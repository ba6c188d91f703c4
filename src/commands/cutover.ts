import type { Command } from 'commander';
import { ConflictError, UsageError } from '../core/errors.ts';
import { CutoverDecisions } from '../cutover/decisions.ts';
import { CUTOVER_LOCK, gatePolicy, observeGate } from '../cutover/gate.ts';
import { evaluateGate } from '../cutover/policy.ts';
import { withTryAdvisoryLock } from '../state/advisory-lock.ts';
import { openStateStore } from '../state/state-store.ts';
import type { CommandContext, CommandResult } from './context.ts';
import type { Register } from './registry.ts';

/**
 * Evaluates the cutover gate and, when it holds and this is not a dry run, retires the batch
 * job: scheduled batch runs become no-ops until `rollback`. Refused: exit 1, nothing changed.
 */
export async function cutover(options: { readonly dryRun: boolean }, ctx: CommandContext): Promise<CommandResult> {
  const { config } = ctx.loaded();
  const store = await openStateStore(config.warehouse);
  try {
    return await withTryAdvisoryLock(store.pool, CUTOVER_LOCK, async (held) => {
      const decisions = new CutoverDecisions(store.pool);
      const before = await decisions.state();
      const gate = evaluateGate(await observeGate(config, store, !held, ctx.clock.now()), gatePolicy(config));
      const alreadyCutOver = before === 'cut-over';
      const executed = gate.allowed && !options.dryRun && !alreadyCutOver;
      const id = await decisions.record({ action: 'cutover', dryRun: options.dryRun, allowed: gate.allowed, executed, checks: gate.checks, reportIds: gate.reportIds, actor: ctx.actor });
      await store.audit.append({
        actor: ctx.actor,
        command: 'cutover',
        target: 'batch-job',
        outcome: options.dryRun ? 'dry-run' : executed ? 'succeeded' : gate.allowed ? 'succeeded' : 'refused',
        detail: { decisionId: id, allowed: gate.allowed, executed, reports: gate.reportIds, failed: gate.checks.filter((c) => !c.passed).map((c) => c.name) },
      });
      const lines = gate.checks.map((c) => `[${c.passed ? 'x' : ' '}] ${c.name.padEnd(22)} ${c.detail}`);
      const verdict = options.dryRun
        ? `dry run: cutover would be ${gate.allowed ? 'ALLOWED' : 'REFUSED'}; nothing changed`
        : executed
          ? 'cutover done: the batch job is retired; `batch run --scheduled` now exits 0 doing nothing; `stream-migrate rollback --reason ...` brings it back'
          : alreadyCutOver && gate.allowed
            ? 'already cut over: nothing changed'
            : 'cutover REFUSED: nothing changed';
      return {
        data: { allowed: gate.allowed, executed, checks: gate.checks, state: executed ? 'cut-over' : before, decisionId: id },
        text: [...lines, verdict].join('\n'),
        exitCode: gate.allowed ? 0 : 1,
      };
    });
  } finally {
    await store.close();
  }
}

/** Brings the batch job back at once (no gate), recording why. */
export async function rollback(options: { readonly reason?: string }, ctx: CommandContext): Promise<CommandResult> {
  const reason = options.reason?.trim();
  if (!reason) throw new UsageError('rollback needs --reason "..." saying why the batch job comes back (it goes to the audit log)');
  const { config } = ctx.loaded();
  const store = await openStateStore(config.warehouse);
  try {
    return await withTryAdvisoryLock(store.pool, CUTOVER_LOCK, async (held) => {
      if (!held) throw new ConflictError('another cutover or rollback is in progress; wait for it and run rollback again');
      const decisions = new CutoverDecisions(store.pool);
      const before = await decisions.state();
      const id = await decisions.record({ action: 'rollback', dryRun: false, allowed: true, executed: true, checks: [], reportIds: [], reason, actor: ctx.actor });
      await store.audit.append({ actor: ctx.actor, command: 'rollback', target: 'batch-job', outcome: 'succeeded', detail: { decisionId: id, reason, previousState: before } });
      return {
        data: { executed: true, state: 'rolled-back', previousState: before, decisionId: id, reason },
        text: `rolled back: the batch job runs again on schedule (was ${before}); reason recorded: ${reason}`,
      };
    });
  } finally {
    await store.close();
  }
}

export const registerCutover: Register = (program: Command, action) => {
  program
    .command('cutover')
    .description('retire the batch job if the validation reports and the stream allow it (a gate)')
    .option('--dry-run', 'print the gate as a checklist and change nothing', false)
    .action(action(cutover));
  program
    .command('rollback')
    .description('bring the batch job back at once, recording why')
    .requiredOption('--reason <text>', 'why (goes to the audit log)')
    .action(action(rollback));
};
