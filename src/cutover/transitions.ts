/**
 * The migration's state machine, pure: from the current state, the gate's verdict and whether this
 * is a dry run, what a cutover or rollback does, what the audit log records and how it exits.
 * The service (run-cutover.ts) writes the decision and its audit entry in one transaction.
 */
import { assertNever } from '../core/assert-never.ts';
import type { AuditOutcome } from '../state/audit-log.ts';
import type { MigrationState } from './decisions.ts';

export type CutoverAction = 'cutover' | 'rollback';

export interface Transition {
  readonly action: CutoverAction;
  readonly allowed: boolean;
  readonly executed: boolean;
  readonly from: MigrationState;
  readonly to: MigrationState;
  readonly outcome: AuditOutcome;
  /** The last line a person reads. */
  readonly message: string;
  readonly exitCode: 0 | 1;
}

/** Cutover: the gate decides; a dry run and a refused gate change nothing; cutting over twice is a no-op. */
export function decideCutover(state: MigrationState, gate: { readonly allowed: boolean }, dryRun: boolean): Transition {
  const base = { action: 'cutover' as const, allowed: gate.allowed, from: state, exitCode: gate.allowed ? (0 as const) : (1 as const) };
  if (dryRun) {
    return { ...base, executed: false, to: state, outcome: 'dry-run', message: `dry run: cutover would be ${gate.allowed ? 'ALLOWED' : 'REFUSED'}; nothing changed` };
  }
  if (!gate.allowed) return { ...base, executed: false, to: state, outcome: 'refused', message: 'cutover REFUSED: nothing changed' };
  switch (state) {
    case 'cut-over':
      return { ...base, executed: false, to: state, outcome: 'succeeded', message: 'already cut over: nothing changed' };
    case 'dual-run':
    case 'rolled-back':
      return {
        ...base,
        executed: true,
        to: 'cut-over',
        outcome: 'succeeded',
        message: 'cutover done: the batch job is retired; `batch run --scheduled` now exits 0 doing nothing; `stream-migrate rollback --reason ...` brings it back',
      };
    default:
      return assertNever(state);
  }
}

/** Rollback needs no gate: from cut-over the batch job comes back at once; otherwise it already runs. */
export function decideRollback(state: MigrationState, reason: string): Transition {
  const base = { action: 'rollback' as const, allowed: true, from: state, outcome: 'succeeded' as const, exitCode: 0 as const };
  switch (state) {
    case 'cut-over':
      return { ...base, executed: true, to: 'rolled-back', message: `rolled back: the batch job runs again on schedule (was cut-over); reason recorded: ${reason}` };
    case 'dual-run':
    case 'rolled-back':
      return { ...base, executed: false, to: state, message: `nothing to roll back: the batch job already runs on schedule (${state}); reason recorded: ${reason}` };
    default:
      return assertNever(state);
  }
}
