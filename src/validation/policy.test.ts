import { describe, expect, it } from 'vitest';
import { judge } from './policy.ts';

const zero = { missingInStream: 0, missingInBatch: 0, mismatched: 0 };
const clean = { name: 'processed_orders', batchRows: 10, streamRows: 10, ...zero };

describe('verdict against tolerances', () => {
  it('passes with no differences under the default zero tolerances', () => {
    expect(judge([clean, { ...clean, name: 'fraud_alerts' }], zero)).toEqual({ verdict: 'PASS', failures: [], failedTables: [], noData: [], noDataTables: [] });
  });

  it('fails on a single difference of any kind, naming table, count and limit', () => {
    const outcome = judge([clean, { ...clean, name: 'order_summaries', missingInBatch: 1, mismatched: 2 }], zero);
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

describe('NO_DATA: a comparison that looked at nothing is not a PASS', () => {
  it('a window where neither side has rows is NO_DATA, naming the table', () => {
    const outcome = judge([{ ...clean, batchRows: 0, streamRows: 0 }], zero);
    expect(outcome.verdict).toBe('NO_DATA');
    expect(outcome.noData).toEqual(['processed_orders: 0 batch and 0 stream rows in the window, at least 1 needed (validation.minRows)']);
  });

  it('one empty table among full ones makes the report NO_DATA', () => {
    expect(judge([clean, { ...clean, name: 'fraud_alerts', batchRows: 0, streamRows: 0 }], zero).verdict).toBe('NO_DATA');
  });

  it('minRows applies to both sides: fewer on both is NO_DATA, enough on one side is judged', () => {
    expect(judge([{ ...clean, batchRows: 4, streamRows: 4 }], zero, 5).verdict).toBe('NO_DATA');
    expect(judge([{ ...clean, batchRows: 5, streamRows: 4 }], zero, 5).verdict).toBe('PASS');
  });

  it('a difference wins over too few rows: rows in the stream only are a FAIL', () => {
    expect(judge([{ ...clean, batchRows: 0, streamRows: 3, missingInBatch: 3 }], zero, 5).verdict).toBe('FAIL');
  });
});
