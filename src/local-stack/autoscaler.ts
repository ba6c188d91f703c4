import type { Config } from '../config/schema.ts';
import { durationMs } from '../core/duration.ts';
import { messageOf } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { decideScaling, type LagSample, type ScalingDecision, type ScalingPolicy } from './scaling-policy.ts';

/** The scaling policy of the configuration; undefined when the bounds are equal (a fixed count). */
export function scalingPolicyOf(config: Config): (ScalingPolicy & { readonly intervalMs: number }) | undefined {
  const p = config.processor;
  if (p.maxWorkers <= p.minWorkers) return undefined;
  const intervalMs = durationMs(p.scaleInterval);
  const windowMs = durationMs(p.scaleWindow);
  return {
    minWorkers: p.minWorkers,
    maxWorkers: p.maxWorkers,
    upLag: p.scaleUpLag,
    downLag: p.scaleDownLag,
    cooldownMs: durationMs(p.scaleCooldown),
    samples: Math.max(2, Math.round(windowMs / intervalMs) + 1),
    intervalMs,
  };
}

export interface AutoscalerDeps {
  readonly policy: ScalingPolicy & { readonly intervalMs: number };
  readonly logger: Logger;
  /** The processor group's lag now (records still to read). */
  sampleLag(): Promise<number>;
  workers(): number;
  /** Applies a decision (the supervisor starts or stops a worker, records it). */
  scaleTo(workers: number, decision: ScalingDecision & { readonly lag: number }): Promise<void>;
  onSample?(lag: number): void;
  readonly signal: AbortSignal;
}

/**
 * Samples the processor group's lag every interval and applies `decideScaling`. The samples
 * from before a change describe the old worker count, so they are dropped when it changes.
 */
export function startAutoscaler(deps: AutoscalerDeps): () => void {
  const samples: LagSample[] = [];
  let lastChangeMs: number | null = null;
  let busy = false;
  const tick = async () => {
    if (busy || deps.signal.aborted) return;
    busy = true;
    try {
      const lag = await deps.sampleLag();
      deps.onSample?.(lag);
      samples.push({ atMs: Date.now(), lag });
      if (samples.length > deps.policy.samples) samples.shift();
      const decision = decideScaling(deps.policy, deps.workers(), samples, lastChangeMs, Date.now());
      if (decision.action === 'hold') return;
      deps.logger.info(`scaling processor workers ${deps.workers()} → ${decision.to}: ${decision.reason}`);
      await deps.scaleTo(decision.to, { ...decision, lag });
      lastChangeMs = Date.now();
      samples.length = 0;
    } catch (error) {
      // Lag cannot be read (Kafka restarting): hold, and try again next time.
      deps.logger.warn(`autoscaler: ${messageOf(error)}`);
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), deps.policy.intervalMs);
  return () => clearInterval(timer);
}
