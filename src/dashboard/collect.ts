/**
 * What the dashboard shows: the status snapshot (pipeline and migration, the same sections and
 * queries as `status`) plus the business series only a page can draw: orders and revenue per
 * minute, top customers, fraud alerts per pattern, and the sink's end-to-end latency.
 */
import type { Config } from '../config/schema.ts';
import { systemClock, type Clock } from '../core/clock.ts';
import { businessWindowStart, readAlertsByPattern, readOrdersPerMinute, readTopCustomers, type MinuteRow, type TopCustomer } from '../status/business.ts';
import { sectionRunner, type Section } from '../status/section.ts';
import { collectSnapshot, DEFAULT_SECTION_TIMEOUT_MS, type StatusSnapshot, type StatusSources } from '../status/snapshot.ts';
import { LATENCY_METRIC, latencyBetween, parseHistogram, type HistogramReading, type LatencyFigures } from './latency.ts';

export interface DashboardSnapshot {
  readonly takenAt: string;
  readonly elapsedMs: number;
  readonly status: StatusSnapshot;
  readonly ordersPerMinute: Section<{ readonly from: string; readonly minutes: readonly MinuteRow[] }>;
  readonly topCustomers: Section<{ readonly from: string; readonly customers: readonly TopCustomer[] }>;
  /** null while `fraud_alerts` has no `pattern` column. */
  readonly alertsByPattern: Section<{ readonly byPattern: Readonly<Record<string, number>> | null }>;
  readonly latency: Section<LatencyFigures & { readonly source: string }>;
}

export interface DashboardSources extends StatusSources {
  /** Where the sink's Prometheus metrics are scraped, for the page to name. */
  readonly sinkMetricsUrl: string;
  /** The text of the sink's /metrics. */
  sinkMetrics(): Promise<string>;
}

export interface DashboardCollectorOptions {
  readonly config: Config;
  readonly sources: DashboardSources;
  readonly clock?: Clock;
  readonly sectionTimeoutMs?: number;
  readonly redact?: (text: string) => string;
}

const TOP_CUSTOMERS = 10;
/** Latency percentiles cover the records of about the last minute. */
const LATENCY_SPAN_MS = 60_000;

/** A collector that keeps what rates and latency deltas need from one collection to the next. */
export function dashboardCollector(options: DashboardCollectorOptions): () => Promise<DashboardSnapshot> {
  const { config, sources } = options;
  const clock = options.clock ?? systemClock;
  const timeoutMs = options.sectionTimeoutMs ?? DEFAULT_SECTION_TIMEOUT_MS;
  const redact = options.redact ?? ((text: string) => text);
  const run = sectionRunner(sources, timeoutMs, redact);
  const database = config.clickhouse.database;
  let previous: StatusSnapshot | undefined;
  let readings: HistogramReading[] = [];

  const latency = async (): Promise<LatencyFigures & { readonly source: string }> => {
    const text = await sources.sinkMetrics();
    const now = clock.now().getTime();
    const reading = parseHistogram(text, LATENCY_METRIC, now);
    if (!reading) throw new Error(`the sink at ${sources.sinkMetricsUrl} has written no processed order yet`);
    // Compare with the newest reading at least a span old, else the oldest kept (or none yet).
    const base = [...readings].reverse().find((r) => now - r.at >= LATENCY_SPAN_MS) ?? readings[0];
    readings = [...readings.filter((r) => now - r.at <= 2 * LATENCY_SPAN_MS), reading];
    return { ...latencyBetween(base, reading), source: sources.sinkMetricsUrl };
  };

  return async () => {
    const started = clock.now();
    const from = businessWindowStart(started);
    const [status, ordersPerMinute, topCustomers, alertsByPattern, sinkLatency] = await Promise.all([
      collectSnapshot({ config, sources, clock, sectionTimeoutMs: timeoutMs, redact }, previous),
      run('ordersPerMinute', async () => ({ from: from.toISOString(), minutes: await readOrdersPerMinute(sources.clickhouse, database, from) })),
      run('topCustomers', async () => ({ from: from.toISOString(), customers: await readTopCustomers(sources.clickhouse, database, from, TOP_CUSTOMERS) })),
      run('alertsByPattern', async () => ({ byPattern: await readAlertsByPattern(sources.clickhouse, database, from) })),
      run('latency', latency),
    ]);
    previous = status;
    return { takenAt: started.toISOString(), elapsedMs: clock.now().getTime() - started.getTime(), status, ordersPerMinute, topCustomers, alertsByPattern, latency: sinkLatency };
  };
}
