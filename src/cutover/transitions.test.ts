import { describe, expect, it } from 'vitest';
import { decideCutover, decideRollback } from './transitions.ts';

const allowed = { allowed: true };
const refused = { allowed: false };

describe('cutover transitions', () => {
  it('a dry run changes nothing, whatever the gate says, and exits as the gate does', () => {
    expect(decideCutover('dual-run', allowed, true)).toMatchObject({ executed: false, to: 'dual-run', outcome: 'dry-run', exitCode: 0, message: 'dry run: cutover would be ALLOWED; nothing changed' });
    expect(decideCutover('dual-run', refused, true)).toMatchObject({ executed: false, to: 'dual-run', outcome: 'dry-run', exitCode: 1, message: 'dry run: cutover would be REFUSED; nothing changed' });
    expect(decideCutover('cut-over', allowed, true)).toMatchObject({ executed: false, to: 'cut-over', outcome: 'dry-run' });
  });

  it('a refused gate changes nothing and exits 1, from any state', () => {
    for (const state of ['dual-run', 'rolled-back', 'cut-over'] as const) {
      expect(decideCutover(state, refused, false)).toMatchObject({ executed: false, to: state, outcome: 'refused', exitCode: 1, message: 'cutover REFUSED: nothing changed' });
    }
  });

  it('an allowed gate cuts over from dual-run and from rolled-back', () => {
    expect(decideCutover('dual-run', allowed, false)).toMatchObject({ executed: true, from: 'dual-run', to: 'cut-over', outcome: 'succeeded', exitCode: 0 });
    expect(decideCutover('rolled-back', allowed, false)).toMatchObject({ executed: true, to: 'cut-over' });
  });

  it('cutting over twice is a no-op', () => {
    expect(decideCutover('cut-over', allowed, false)).toMatchObject({ executed: false, to: 'cut-over', outcome: 'succeeded', exitCode: 0, message: 'already cut over: nothing changed' });
  });
});

describe('rollback transitions', () => {
  it('from cut-over the batch job comes back', () => {
    expect(decideRollback('cut-over', 'bad numbers')).toMatchObject({ executed: true, from: 'cut-over', to: 'rolled-back', outcome: 'succeeded', exitCode: 0 });
  });

  it('elsewhere it already runs: recorded, nothing changes', () => {
    expect(decideRollback('dual-run', 'x')).toMatchObject({ executed: false, to: 'dual-run', message: expect.stringContaining('nothing to roll back') });
    expect(decideRollback('rolled-back', 'x')).toMatchObject({ executed: false, to: 'rolled-back' });
  });
});
