/**
 * The cutover and rollback workflows: under the cutover lock, read the state, evaluate the gate
 * (cutover only), decide the transition (transitions.ts, pure), and write the decision with its
 * audit entry in one PostgreSQL transaction, so neither exists without the other.
 */
import type pg from 'pg';
import type { Config } from '../config/schema.ts';
import type { Clock } from '../core/clock.ts';
import { ConflictError } from '../core/errors.ts';
import { withTryAdvisoryLock } from '../state/advisory-lock.ts';
import { AuditLog } from '../state/audit-log.ts';
import { openStateStore } from '../state/state-store.ts';
import { CutoverDecisions, type MigrationState } from './decisions.ts';
import { CUTOVER_LOCK, gatePolicy, observeGate } from './gate.ts';
import { evaluateGate, type GateCheck } from './policy.ts';
import { decideCutover, decideRollback, type Transition } from './transitions.ts';

export interface CutoverDeps {
  readonly config: Config;
  readonly clock: Clock;
  readonly actor: string;
  /** Where the local stack's supervised workers are found. */
  readonly cwd: string;
}

export interface CutoverOutcome {
  readonly transition: Transition;
  readonly checks: readonly GateCheck[];
  readonly reportIds: readonly number[];
  readonly decisionId: number;
}

/** Evaluates the gate and, when it holds and this is not a dry run, retires the batch job. */
export async function runCutover(options: { readonly dryRun: boolean }, deps: CutoverDeps): Promise<CutoverOutcome> {
  const store = await openStateStore(deps.config.warehouse);
  try {
    // The lock's session is named after this command, so a refused one can say who holds it.
    const owner = `stream-migrate cutover${options.dryRun ? ' --dry-run' : ''} by ${deps.actor}`;
    return await withTryAdvisoryLock(store.pool, CUTOVER_LOCK, async (held, holder) => {
      const state = await new CutoverDecisions(store.pool).state();
      const observed = await observeGate(deps.config, store.pool, !held, { now: deps.clock.now(), cwd: deps.cwd });
      const gate = evaluateGate(holder === undefined ? observed : { ...observed, lockHolder: holder }, gatePolicy(deps.config));
      const transition = decideCutover(state, gate, options.dryRun);
      const decisionId = await record(store.pool, transition, gate.checks, gate.reportIds, deps.actor, undefined);
      return { transition, checks: gate.checks, reportIds: gate.reportIds, decisionId };
    }, owner);
  } finally {
    await store.close();
  }
}

/** Brings the batch job back at once (no gate), recording why. */
export async function runRollback(options: { readonly reason: string }, deps: CutoverDeps): Promise<CutoverOutcome & { readonly previousState: MigrationState }> {
  const store = await openStateStore(deps.config.warehouse);
  try {
    return await withTryAdvisoryLock(store.pool, CUTOVER_LOCK, async (held, holder) => {
      if (!held) {
        throw new ConflictError(`the cutover lock is held by ${holder ?? 'another cutover or rollback'}; wait for it to finish and run rollback again`, {
          details: { lock: CUTOVER_LOCK, ...(holder === undefined ? {} : { holder }) },
        });
      }
      const state = await new CutoverDecisions(store.pool).state();
      const transition = decideRollback(state, options.reason);
      const decisionId = await record(store.pool, transition, [], [], deps.actor, options.reason);
      return { transition, checks: [], reportIds: [], decisionId, previousState: state };
    }, `stream-migrate rollback by ${deps.actor}`);
  } finally {
    await store.close();
  }
}

async function record(pool: pg.Pool, t: Transition, checks: readonly GateCheck[], reportIds: readonly number[], actor: string, reason: string | undefined): Promise<number> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const id = await new CutoverDecisions(client).record({
      action: t.action,
      dryRun: t.outcome === 'dry-run',
      allowed: t.allowed,
      executed: t.executed,
      checks,
      reportIds,
      actor,
      ...(reason === undefined ? {} : { reason }),
    });
    await new AuditLog(client).append({
      actor,
      command: t.action,
      target: 'batch-job',
      outcome: t.outcome,
      detail: {
        decisionId: id,
        allowed: t.allowed,
        executed: t.executed,
        from: t.from,
        to: t.to,
        ...(reason === undefined ? {} : { reason }),
        ...(t.action === 'cutover' ? { reports: reportIds, failed: checks.filter((c) => !c.passed).map((c) => c.name) } : {}),
      },
    });
    await client.query('COMMIT');
    return id;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
