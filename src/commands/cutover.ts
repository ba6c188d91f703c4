import type { Command } from 'commander';
import { UsageError } from '../core/errors.ts';
import { runCutover, runRollback, type CutoverDeps } from '../cutover/run-cutover.ts';
import { renderChecklist } from '../cutover/policy.ts';
import type { CommandContext, CommandResult } from './context.ts';
import type { Register } from './registry.ts';

function deps(ctx: CommandContext): CutoverDeps {
  return { config: ctx.loaded().config, clock: ctx.clock, actor: ctx.actor, cwd: ctx.cwd };
}

/**
 * Evaluates the cutover gate and, when it holds and this is not a dry run, retires the batch
 * job: scheduled batch runs become no-ops until `rollback`. Refused: exit 1, nothing changed.
 */
export async function cutover(options: { readonly dryRun: boolean }, ctx: CommandContext): Promise<CommandResult> {
  const { transition: t, checks, decisionId } = await runCutover(options, deps(ctx));
  return {
    data: { allowed: t.allowed, executed: t.executed, checks, state: t.to, decisionId },
    text: [...renderChecklist(checks), t.message].join('\n'),
    exitCode: t.exitCode,
  };
}

/** Brings the batch job back at once (no gate), recording why. */
export async function rollback(options: { readonly reason?: string }, ctx: CommandContext): Promise<CommandResult> {
  const reason = options.reason?.trim();
  if (!reason) throw new UsageError('rollback needs --reason "..." saying why the batch job comes back (it goes to the audit log)');
  const { transition: t, decisionId, previousState } = await runRollback({ reason }, deps(ctx));
  return { data: { executed: t.executed, state: t.to, previousState, decisionId, reason }, text: t.message, exitCode: t.exitCode };
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
