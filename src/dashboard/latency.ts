/**
 * End-to-end latency (source commit to ClickHouse) from the sink's Prometheus histogram
 * `stream_migrate_sink_end_to_end_ms`: percentiles over the records written between two scrapes,
 * interpolated inside a bucket as Prometheus' histogram_quantile does. Pure.
 */

export const LATENCY_METRIC = 'stream_migrate_sink_end_to_end_ms';

/** Cumulative counts per upper bound (`le`), ascending, the last one +Inf. */
export interface HistogramReading {
  readonly at: number;
  readonly buckets: readonly { readonly le: number; readonly count: number }[];
}

export interface LatencyFigures {
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  /** Records the percentiles cover. */
  readonly records: number;
  /** Seconds between the two scrapes compared; null when counted since the sink started. */
  readonly overSeconds: number | null;
}

/** The histogram's buckets summed over every label set (several sink instances); undefined when absent. */
export function parseHistogram(text: string, metric: string, at: number): HistogramReading | undefined {
  const byLe = new Map<number, number>();
  const prefix = `${metric}_bucket{`;
  for (const line of text.split('\n')) {
    if (!line.startsWith(prefix)) continue;
    const le = /le="([^"]+)"/.exec(line)?.[1];
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (le === undefined || !Number.isFinite(value)) continue;
    const bound = le === '+Inf' ? Infinity : Number(le);
    if (Number.isNaN(bound)) continue;
    byLe.set(bound, (byLe.get(bound) ?? 0) + value);
  }
  if (byLe.size === 0) return undefined;
  return { at, buckets: [...byLe].sort((a, b) => a[0] - b[0]).map(([le, count]) => ({ le, count })) };
}

/** The records observed between `before` and `after` (bucket by bucket); `after` alone without `before`. */
export function latencyBetween(before: HistogramReading | undefined, after: HistogramReading): LatencyFigures {
  const earlier = new Map(before?.buckets.map((b) => [b.le, b.count]));
  // A restarted sink starts its counters again: then only `after` counts.
  const reset = before !== undefined && after.buckets.some((b) => b.count < (earlier.get(b.le) ?? 0));
  const base = reset ? new Map<number, number>() : earlier;
  const buckets = after.buckets.map((b) => ({ le: b.le, count: b.count - (base.get(b.le) ?? 0) }));
  const records = buckets.at(-1)?.count ?? 0;
  return {
    p50Ms: quantile(0.5, buckets),
    p99Ms: quantile(0.99, buckets),
    records,
    overSeconds: before && !reset ? Math.round((after.at - before.at) / 1000) : null,
  };
}

/** histogram_quantile: linear inside the bucket holding the rank; the top finite bound for the +Inf bucket. */
export function quantile(q: number, buckets: readonly { readonly le: number; readonly count: number }[]): number | null {
  const total = buckets.at(-1)?.count ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const b of buckets) {
    if (b.count >= rank) {
      if (b.le === Infinity) return lowerBound;
      const inBucket = b.count - lowerCount;
      const fraction = inBucket > 0 ? (rank - lowerCount) / inBucket : 1;
      return Math.round(lowerBound + (b.le - lowerBound) * fraction);
    }
    lowerBound = b.le;
    lowerCount = b.count;
  }
  return lowerBound;
}
