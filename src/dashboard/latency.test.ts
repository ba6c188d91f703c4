import { describe, expect, it } from 'vitest';
import { latencyBetween, parseHistogram, quantile } from './latency.ts';

const scrape = (counts: readonly number[], instance = 's1') =>
  [100, 250, 500, 1000, '+Inf'].map((le, i) => `stream_migrate_sink_end_to_end_ms_bucket{instance="${instance}",le="${le}"} ${counts[i]}`).join('\n');

describe('sink latency histogram', () => {
  it('sums the buckets of every instance and ignores other metrics', () => {
    const text = `# TYPE x histogram\nstream_migrate_sink_insert_ms_bucket{le="100"} 99\n${scrape([1, 2, 3, 4, 4])}\n${scrape([0, 1, 1, 2, 2], 's2')}\n`;
    expect(parseHistogram(text, 'stream_migrate_sink_end_to_end_ms', 0)?.buckets).toEqual([
      { le: 100, count: 1 },
      { le: 250, count: 3 },
      { le: 500, count: 4 },
      { le: 1000, count: 6 },
      { le: Infinity, count: 6 },
    ]);
    expect(parseHistogram('', 'stream_migrate_sink_end_to_end_ms', 0)).toBeUndefined();
  });

  it('interpolates inside the bucket holding the rank, as histogram_quantile does', () => {
    // 10 records: 4 up to 100 ms, 4 in (100, 250], 2 in (250, 500].
    const buckets = [
      { le: 100, count: 4 },
      { le: 250, count: 8 },
      { le: 500, count: 10 },
      { le: Infinity, count: 10 },
    ];
    expect(quantile(0.5, buckets)).toBe(138); // rank 5: 100 + 150 * 1/4 = 137.5 -> 138
    expect(quantile(0.99, buckets)).toBe(488); // rank 9.9: 250 + 250 * 1.9/2
    expect(quantile(0.5, [{ le: 100, count: 0 }, { le: Infinity, count: 0 }])).toBeNull();
    expect(quantile(0.99, [{ le: 100, count: 1 }, { le: Infinity, count: 5 }])).toBe(100);
  });

  it('counts only the records between two scrapes, and starts over when the sink restarted', () => {
    const before = parseHistogram(scrape([10, 10, 10, 10, 10]), 'stream_migrate_sink_end_to_end_ms', 0)!;
    const after = parseHistogram(scrape([10, 10, 12, 12, 12]), 'stream_migrate_sink_end_to_end_ms', 30_000)!;
    expect(latencyBetween(before, after)).toEqual({ p50Ms: 375, p99Ms: 498, records: 2, overSeconds: 30 });
    const restarted = parseHistogram(scrape([1, 1, 1, 1, 1]), 'stream_migrate_sink_end_to_end_ms', 60_000)!;
    expect(latencyBetween(after, restarted)).toMatchObject({ records: 1, overSeconds: null });
    expect(latencyBetween(undefined, after)).toMatchObject({ records: 12, overSeconds: null });
  });
});
