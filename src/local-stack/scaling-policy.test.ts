import { describe, expect, it } from 'vitest';
import { decideScaling, type LagSample, type ScalingPolicy } from './scaling-policy.ts';

const policy: ScalingPolicy = { minWorkers: 1, maxWorkers: 3, upLag: 10_000, downLag: 500, cooldownMs: 60_000, samples: 4 };

/** Samples one second apart ending at t = 100 s. */
function lags(...values: number[]): LagSample[] {
  return values.map((lag, i) => ({ atMs: 100_000 - (values.length - 1 - i) * 1_000, lag }));
}

describe('decideScaling', () => {
  it('adds a worker when every sample of the window is above upLag and the lag is not draining', () => {
    expect(decideScaling(policy, 1, lags(12_000, 15_000, 18_000, 21_000), null, 100_000)).toEqual({ action: 'up', to: 2, reason: 'lag above 10000 for 4 samples (now 21000, growing 3000/s)' });
    // Flat high lag: not draining either.
    expect(decideScaling(policy, 2, lags(20_000, 20_000, 20_000, 20_000), null, 100_000)).toMatchObject({ action: 'up', to: 3 });
  });

  it('holds when the lag is high but drains within the window', () => {
    // Falling 1 000/s with 12 000 left: 12 s to drain, longer than the 3 s window: add a worker.
    expect(decideScaling(policy, 1, lags(15_000, 14_000, 13_000, 12_000), null, 100_000)).toMatchObject({ action: 'up', to: 2 });
    // Falling (10 500 − 40 000) / 3 s = 9 833/s with 10 500 left: about 1 s to drain: hold.
    expect(decideScaling(policy, 1, lags(40_000, 30_000, 20_000, 10_500), null, 100_000)).toEqual({ action: 'hold', reason: 'lag 10500 above 10000 but draining at 9833/s' });
  });

  it('needs every sample to agree: one spike or one dip changes nothing (hysteresis)', () => {
    expect(decideScaling(policy, 1, lags(12_000, 300, 15_000, 18_000), null, 100_000)).toMatchObject({ action: 'hold' });
    expect(decideScaling(policy, 2, lags(100, 100, 2_000, 100), null, 100_000)).toMatchObject({ action: 'hold' });
    // Between downLag and upLag: hold.
    expect(decideScaling(policy, 2, lags(5_000, 5_000, 5_000, 5_000), null, 100_000)).toEqual({ action: 'hold', reason: 'lag 5000 within 500..10000' });
  });

  it('removes a worker when the lag stays below downLag, never below minWorkers', () => {
    expect(decideScaling(policy, 3, lags(10, 0, 20, 5), null, 100_000)).toEqual({ action: 'down', to: 2, reason: 'lag below 500 for 4 samples (now 5)' });
    expect(decideScaling(policy, 1, lags(10, 0, 20, 5), null, 100_000)).toMatchObject({ action: 'hold' });
  });

  it('never above maxWorkers, and waits out the cool-down after a change', () => {
    expect(decideScaling(policy, 3, lags(20_000, 25_000, 30_000, 35_000), null, 100_000)).toEqual({ action: 'hold', reason: 'lag 35000 above 10000, already at maxWorkers 3' });
    expect(decideScaling(policy, 1, lags(20_000, 25_000, 30_000, 35_000), 70_000, 100_000)).toEqual({ action: 'hold', reason: 'cooling down for 30 s after the last change' });
    expect(decideScaling(policy, 1, lags(20_000, 25_000, 30_000, 35_000), 40_000, 100_000)).toMatchObject({ action: 'up', to: 2 });
  });

  it('waits for a full window of samples, and brings a count outside the bounds back in at once', () => {
    expect(decideScaling(policy, 1, lags(50_000, 50_000), null, 100_000)).toEqual({ action: 'hold', reason: 'collecting lag samples (2/4)' });
    expect(decideScaling(policy, 5, [], null, 100_000)).toEqual({ action: 'down', to: 3, reason: 'above maxWorkers 3' });
    expect(decideScaling({ ...policy, minWorkers: 2 }, 1, [], null, 100_000)).toEqual({ action: 'up', to: 2, reason: 'below minWorkers 2' });
  });
});
