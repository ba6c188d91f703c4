import type { Config } from '../../config/schema.ts';
import { CheckFailedError } from '../../core/errors.ts';
import type { PhaseStep } from '../phase.ts';

/**
 * The Prometheus endpoints the processor and sink workers expose (ports from `monitoring`).
 * Before any worker runs there is nothing to scrape; once one answers, it must serve metrics.
 */
export function monitoringStep(config: Config): PhaseStep {
  const endpoints = [
    { worker: 'processor', url: `http://127.0.0.1:${config.monitoring.processorMetricsPort}/metrics` },
    { worker: 'sink', url: `http://127.0.0.1:${config.monitoring.sinkMetricsPort}/metrics` },
  ];
  return {
    name: 'monitoring',
    plan: async () => [],
    apply: async () => 'nothing to change',
    async verify() {
      const results = await Promise.all(
        endpoints.map(async ({ worker, url }) => {
          let response: Response;
          try {
            response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
          } catch {
            return `${worker}: not running yet (${url})`;
          }
          const body = await response.text();
          if (!response.ok || !/^# (HELP|TYPE) /m.test(body)) {
            throw new CheckFailedError(`${worker} answers on ${url} but serves no Prometheus metrics (HTTP ${response.status})`);
          }
          return `${worker}: ${body.split('\n').filter((l) => l && !l.startsWith('#')).length} samples at ${url}`;
        }),
      );
      return results.join('; ');
    },
  };
}
