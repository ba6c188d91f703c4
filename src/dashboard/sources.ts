import { openStatusSources, type StatusSourcesOptions } from '../status/sources.ts';
import type { DashboardSources } from './collect.ts';

/** The status snapshot's real sources plus the sink's metrics endpoint (on this machine, as the workers run). */
export function openDashboardSources(options: StatusSourcesOptions): DashboardSources {
  const sinkMetricsUrl = `http://127.0.0.1:${options.config.monitoring.sinkMetricsPort}/metrics`;
  return {
    ...openStatusSources(options),
    sinkMetricsUrl,
    async sinkMetrics() {
      let response: Response;
      try {
        response = await fetch(sinkMetricsUrl, { signal: AbortSignal.timeout(2_000) });
      } catch {
        throw new Error(`sink metrics at ${sinkMetricsUrl} are unreachable: is the sink running? (\`stream-migrate phase run processing\` starts it)`);
      }
      if (!response.ok) throw new Error(`sink metrics at ${sinkMetricsUrl} answered ${response.status}`);
      return response.text();
    },
  };
}
