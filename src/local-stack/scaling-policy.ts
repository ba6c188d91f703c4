/**
 * When to add or remove a processor worker, from the consumer group's lag over time. Pure: the
 * supervisor samples the lag and applies the decision.
 *
 * Hysteresis: scale up above `upLag`, down only below the much lower `downLag`, and only when
 * every sample of the window agrees, so a single spike or dip changes nothing. Trend: a lag above
 * `upLag` that is already falling fast enough to drain within the window does not add a worker
 * (another rebalance would slow the drain). Cool-down: after any change, the next waits
 * `cooldownMs`, the time a rebalance and the new worker's restore take to show in the lag.
 */
export interface ScalingPolicy {
  readonly minWorkers: number;
  readonly maxWorkers: number;
  readonly upLag: number;
  readonly downLag: number;
  readonly cooldownMs: number;
  /** Samples that must agree before a change (the window). */
  readonly samples: number;
}

export interface LagSample {
  readonly atMs: number;
  readonly lag: number;
}

export type ScalingDecision =
  | { readonly action: 'up' | 'down'; readonly to: number; readonly reason: string }
  | { readonly action: 'hold'; readonly reason: string };

export function decideScaling(policy: ScalingPolicy, workers: number, samples: readonly LagSample[], lastChangeMs: number | null, nowMs: number): ScalingDecision {
  if (workers < policy.minWorkers) return { action: 'up', to: policy.minWorkers, reason: `below minWorkers ${policy.minWorkers}` };
  if (workers > policy.maxWorkers) return { action: 'down', to: policy.maxWorkers, reason: `above maxWorkers ${policy.maxWorkers}` };
  const window = samples.slice(-policy.samples);
  if (window.length < policy.samples) return { action: 'hold', reason: `collecting lag samples (${window.length}/${policy.samples})` };
  if (lastChangeMs !== null && nowMs - lastChangeMs < policy.cooldownMs) {
    return { action: 'hold', reason: `cooling down for ${Math.ceil((policy.cooldownMs - (nowMs - lastChangeMs)) / 1000)} s after the last change` };
  }
  const first = window[0] as LagSample;
  const last = window[window.length - 1] as LagSample;
  const spanMs = Math.max(1, last.atMs - first.atMs);
  // Records per second the lag changes by over the window (negative: draining).
  const slope = ((last.lag - first.lag) / spanMs) * 1000;
  if (window.every((s) => s.lag > policy.upLag)) {
    if (workers >= policy.maxWorkers) return { action: 'hold', reason: `lag ${last.lag} above ${policy.upLag}, already at maxWorkers ${policy.maxWorkers}` };
    const drainsWithinWindow = slope < 0 && last.lag / -slope <= spanMs / 1000;
    if (drainsWithinWindow) return { action: 'hold', reason: `lag ${last.lag} above ${policy.upLag} but draining at ${Math.round(-slope)}/s` };
    return { action: 'up', to: workers + 1, reason: `lag above ${policy.upLag} for ${window.length} samples (now ${last.lag}, ${slope >= 0 ? 'growing' : 'falling'} ${Math.abs(Math.round(slope))}/s)` };
  }
  if (window.every((s) => s.lag < policy.downLag) && workers > policy.minWorkers) {
    return { action: 'down', to: workers - 1, reason: `lag below ${policy.downLag} for ${window.length} samples (now ${last.lag})` };
  }
  return { action: 'hold', reason: `lag ${last.lag} within ${policy.downLag}..${policy.upLag}` };
}
