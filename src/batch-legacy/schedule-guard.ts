import type { StateStore } from '../state/state-store.ts';

export type ScheduleDecision = { readonly allowed: true } | { readonly allowed: false; readonly reason: string };

/**
 * Whether the crontab's `batch run --scheduled` may run now. The seam for cutover: once the batch
 * job is deprecated this answers `{ allowed: false, reason }` (read from the cutover decisions in
 * `store`) and the scheduled run records a `skipped` run and exits 0 saying why; `rollback`
 * re-enables it. A run without --scheduled (a person re-running a day) never asks.
 * Until the cutover issue lands there is no cutover state to read, so it always allows.
 */
export async function scheduledRunAllowed(store: StateStore): Promise<ScheduleDecision> {
  void store;
  return { allowed: true };
}
