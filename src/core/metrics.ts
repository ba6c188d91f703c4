import http from 'node:http';

type Labels = Readonly<Record<string, string>>;

/** The value of an unlabelled-or-first series of `name` in a Prometheus text exposition, undefined when absent. */
export function metricValue(exposition: string, name: string): number | undefined {
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})?\\s+(\\S+)`, 'm').exec(exposition);
  return match ? Number(match[1]) : undefined;
}

/** Scrapes `url` (a /metrics endpoint) for `metricValue(name)`; undefined while it does not answer in time or lacks the series. */
export async function scrapeMetric(url: string, name: string, timeoutMs: number): Promise<number | undefined> {
  try {
    return metricValue(await (await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })).text(), name);
  } catch {
    return undefined;
  }
}

interface Series {
  readonly labels: Labels;
  value: number;
}

interface HistogramSeries {
  readonly labels: Labels;
  readonly counts: number[];
  sum: number;
  count: number;
}

/** A small Prometheus registry: counters, gauges and histograms in the text exposition format. */
export class Metrics {
  private readonly help = new Map<string, { type: 'counter' | 'gauge' | 'histogram'; text: string; buckets?: readonly number[] }>();
  private readonly series = new Map<string, Map<string, Series>>();
  private readonly histograms = new Map<string, Map<string, HistogramSeries>>();

  counter(name: string, text: string): (by?: number, labels?: Labels) => void {
    this.help.set(name, { type: 'counter', text });
    return (by = 1, labels = {}) => {
      this.entry(name, labels).value += by;
    };
  }

  gauge(name: string, text: string): (value: number, labels?: Labels) => void {
    this.help.set(name, { type: 'gauge', text });
    return (value, labels = {}) => {
      this.entry(name, labels).value = value;
    };
  }

  histogram(name: string, text: string, buckets: readonly number[]): (value: number, labels?: Labels) => void {
    this.help.set(name, { type: 'histogram', text, buckets });
    return (value, labels = {}) => {
      let byLabels = this.histograms.get(name);
      if (!byLabels) this.histograms.set(name, (byLabels = new Map()));
      const id = labelText(labels);
      let h = byLabels.get(id);
      if (!h) byLabels.set(id, (h = { labels, counts: buckets.map(() => 0), sum: 0, count: 0 }));
      for (let i = 0; i < buckets.length; i++) if (value <= (buckets[i] ?? Infinity)) h.counts[i]!++;
      h.sum += value;
      h.count++;
    };
  }

  /** The value of a counter or gauge, for tests and summaries. */
  value(name: string, labels: Labels = {}): number {
    return this.series.get(name)?.get(labelText(labels))?.value ?? 0;
  }

  render(): string {
    const lines: string[] = [];
    for (const [name, meta] of this.help) {
      lines.push(`# HELP ${name} ${meta.text}`, `# TYPE ${name} ${meta.type}`);
      if (meta.type === 'histogram') {
        for (const h of this.histograms.get(name)?.values() ?? []) {
          meta.buckets?.forEach((le, i) => lines.push(`${name}_bucket${labelText({ ...h.labels, le: String(le) })} ${h.counts[i]}`));
          lines.push(`${name}_bucket${labelText({ ...h.labels, le: '+Inf' })} ${h.count}`);
          lines.push(`${name}_sum${labelText(h.labels)} ${h.sum}`, `${name}_count${labelText(h.labels)} ${h.count}`);
        }
      } else {
        for (const s of this.series.get(name)?.values() ?? []) lines.push(`${name}${labelText(s.labels)} ${s.value}`);
      }
    }
    return lines.join('\n') + '\n';
  }

  /** Serves GET /metrics on 127.0.0.1:port; resolves once listening. */
  serve(port: number): Promise<http.Server> {
    const server = http.createServer((req, res) => {
      if (req.url === '/metrics') {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
        res.end(this.render());
      } else {
        res.writeHead(404).end();
      }
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve(server));
    });
  }

  private entry(name: string, labels: Labels): Series {
    let byLabels = this.series.get(name);
    if (!byLabels) this.series.set(name, (byLabels = new Map()));
    const id = labelText(labels);
    let s = byLabels.get(id);
    if (!s) byLabels.set(id, (s = { labels, value: 0 }));
    return s;
  }
}

function labelText(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',')}}`;
}
