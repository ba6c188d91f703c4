import { CutoverDecisions } from '../cutover/decisions.ts';
import type { StateStore } from '../state/state-store.ts';

export type ScheduleDecision = { readonly allowed: true } | { readonly allowed: false; readonly reason: string };

/**
 * Whether the crontab's `batch run --scheduled` may run now: not after a cutover retired the
 * batch job (until `rollback`). The scheduled run then records a `skipped` run and exits 0
 * saying why, so the crontab line stays harmless. A run without --scheduled never asks.
 */
export async function scheduledRunAllowed(store: StateStore): Promise<ScheduleDecision> {
  const decision = await new CutoverDecisions(store.pool).current();
  if (decision?.action !== 'cutover') return { allowed: true };
  return {
    allowed: false,
    reason: `the batch job was retired by cutover #${decision.id} on ${decision.decidedAt.toISOString()} (${decision.actor}); \`stream-migrate rollback --reason ...\` brings it back`,
  };
}
