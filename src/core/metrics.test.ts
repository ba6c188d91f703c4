import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { metricValue, scrapeMetric } from './metrics.ts';

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

describe('scrapeMetric', () => {
  it('reads a series from a /metrics endpoint, and nothing from one that does not answer', async () => {
    const server = http.createServer((_req, res) => res.end(EXPOSITION));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      expect(await scrapeMetric(`http://127.0.0.1:${port}/metrics`, 'stream_migrate_processor_transactions_total', 1_000)).toBe(42);
      expect(await scrapeMetric(`http://127.0.0.1:${port}/metrics`, 'absent_total', 1_000)).toBeUndefined();
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(await scrapeMetric(`http://127.0.0.1:${port}/metrics`, 'stream_migrate_processor_transactions_total', 500)).toBeUndefined();
  });
});
