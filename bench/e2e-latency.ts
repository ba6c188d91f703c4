/**
 * End-to-end latency: a steady `load` of 1 000 orders/s for 60 s on the local stack, while probe
 * orders are inserted every 100 ms and ClickHouse's processed_orders view is polled until each
 * shows up (src/demo/latency-probe.ts). Latency = commit in the source → row visible in the view.
 * Prints p50, p95 and, last, `e2e p99 ms N`.
 *
 *   npx tsx bench/e2e-latency.ts [--rate 1000] [--seconds 60]     (BENCH_CWD: another stack's directory)
 */
import { execa } from 'execa';
import { loadConfig } from '../src/config/load.ts';
import { probeLatency } from '../src/demo/latency-probe.ts';
import { BIN, REPO_ROOT } from '../test/integration/cli.ts';

const arg = (name: string, fallback: number) => Number(process.argv[process.argv.indexOf(`--${name}`) + 1] || fallback) || fallback;
const rate = arg('rate', 1000);
const seconds = arg('seconds', 60);
const cwd = process.env.BENCH_CWD ?? REPO_ROOT;
const { config } = loadConfig({ cwd });

for (const phase of ['infrastructure', 'ingestion', 'processing', 'output']) {
  const run = await execa(BIN, ['phase', 'run', phase], { cwd, reject: false });
  if (run.exitCode !== 0) throw new Error(`phase ${phase} failed: ${run.stderr}`);
}
const load = execa(BIN, ['load', '--rate', String(rate), '--duration', `${seconds}s`], { cwd, reject: false });
const stop = new AbortController();
setTimeout(() => stop.abort(), seconds * 1000);
const figure = await probeLatency(config, stop.signal);
const loaded = await load;
console.log(String(loaded.stdout).split('\n').find((l) => l.includes('achieved')) ?? '');
console.log(`${figure.probes} probes seen, ${figure.unseen} never seen`);
console.log(`e2e p50 ms ${figure.p50}`);
console.log(`e2e p95 ms ${figure.p95}`);
console.log(`e2e p99 ms ${figure.p99}`);
