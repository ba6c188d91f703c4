import { describe, expect, it } from 'vitest';
import { metricValue } from './metrics.ts';

const EXPOSITION = [
  '# HELP stream_migrate_processor_transactions_total Committed transactions',
  '# TYPE stream_migrate_processor_transactions_total counter',
  'stream_migrate_processor_transactions_total 42',
  'stream_migrate_processor_records_in_total{topic="a"} 7',
  'stream_migrate_processor_records_in_total{topic="b"} 9',
].join('\n');

describe('metricValue', () => {
  it('reads a series by its exact name, the first one when it has labels', () => {
    expect(metricValue(EXPOSITION, 'stream_migrate_processor_transactions_total')).toBe(42);
    expect(metricValue(EXPOSITION, 'stream_migrate_processor_records_in_total')).toBe(7);
  });

  it('is undefined for a series that is not there, even one whose name starts the same', () => {
    expect(metricValue(EXPOSITION, 'stream_migrate_processor_transactions')).toBeUndefined();
    expect(metricValue('', 'stream_migrate_processor_transactions_total')).toBeUndefined();
  });
});
