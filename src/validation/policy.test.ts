import { describe, expect, it } from 'vitest';
import { judge } from './policy.ts';

const zero = { missingInStream: 0, missingInBatch: 0, mismatched: 0 };
const clean = { name: 'processed_orders', ...zero };

describe('verdict against tolerances', () => {
  it('passes with no differences under the default zero tolerances', () => {
    expect(judge([clean, { ...clean, name: 'fraud_alerts' }], zero)).toEqual({ verdict: 'PASS', failures: [], failedTables: [] });
  });

  it('fails on a single difference of any kind, naming table, count and limit', () => {
    const outcome = judge([clean, { name: 'order_summaries', missingInStream: 0, missingInBatch: 1, mismatched: 2 }], zero);
    expect(outcome.verdict).toBe('FAIL');
    expect(outcome.failures).toEqual(['order_summaries: 1 missing in batch (tolerance 0)', 'order_summaries: 2 mismatched (tolerance 0)']);
    expect(outcome.failedTables).toEqual(['order_summaries']);
  });

  it('applies tolerances per table, inclusive', () => {
    const tolerances = { missingInStream: 2, missingInBatch: 0, mismatched: 1 };
    expect(judge([{ ...clean, missingInStream: 2, mismatched: 1 }], tolerances).verdict).toBe('PASS');
    expect(judge([{ ...clean, missingInStream: 3 }], tolerances).verdict).toBe('FAIL');
  });
});
