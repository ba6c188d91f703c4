import { describe, expect, it } from 'vitest';
import { DependencyError } from '../core/errors.ts';
import { overtakenByRebalance } from './processor.ts';

const refused = (...protocolErrors: string[]) => new DependencyError('Kafka transactional offset commit failed', { details: { service: 'kafka', protocolErrors } });

describe('overtakenByRebalance', () => {
  it('is a rebalance when the offsets were refused for an older generation or during a rebalance', () => {
    expect(overtakenByRebalance(refused('ILLEGAL_GENERATION'))).toBe(true);
    expect(overtakenByRebalance(refused('REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION'))).toBe(true);
  });

  it('is not when anything else went wrong: the member or the producer may be unsound', () => {
    expect(overtakenByRebalance(refused('UNKNOWN_MEMBER_ID'))).toBe(false);
    expect(overtakenByRebalance(refused('ILLEGAL_GENERATION', 'PRODUCER_FENCED'))).toBe(false);
    expect(overtakenByRebalance(refused())).toBe(false);
    expect(overtakenByRebalance(new Error('ILLEGAL_GENERATION'))).toBe(false);
  });
});
