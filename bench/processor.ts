/**
 * Processor throughput: 1 000 000 pre-produced CDC-shaped order records (~5% updates, ~2%
 * cancellations, a few hundred tier changes; bench/processor-input.ts) through `--workers N`
 * `processor run` processes in one group (default 1), exactly-once on, start-up included.
 * The default rules.patterns (fraud patterns over time) are evaluated; `--no-patterns` runs the
 * same workload without them, `--no-fan-in` without the fan-in pattern only (its stage 3 and the
 * orders-by-product traffic), to state what they cost.
 *
 * The bench checks its own result and exits 1 when it is wrong: no dead letters, and the live
 * processed orders and the summaries equal to what its own arithmetic computes from the input.
 * Then it measures the raw broker (bench/raw-broker.ts) on the same broker at the same record
 * size (`--no-baseline` skips it) and prints the processor's share of the consumer's rate.
 * Last line: `processor records/s N`.
 *
 *   npx tsx bench/processor.ts [--records 1000000] [--workers 1] [--no-patterns | --no-fan-in] [--no-baseline] [--max-poll-records N]
 */
import fs from 'node:fs';
import { execa, type ResultPromise } from 'execa';
import { createKafkaAdmin, createProducer } from '../src/clients/kafka.ts';
import { loadConfig } from '../src/config/load.ts';
import { WORKER_MALLOC_ENV, workerNodeArgs } from '../src/local-stack/worker-runtime.ts';
import { DEFAULT_PATTERNS } from '../src/domain/patterns.ts';
import { StreamFixture } from '../test/integration/stream-fixture.ts';
import { BIN_ENTRY } from '../test/integration/cli.ts';
import { checkOutputs, PARTITIONS, produceInput } from './processor-input.ts';
import { formatBaseline, rawBrokerBaseline } from './raw-broker.ts';

const arg = (name: string, fallback: number) => Number(process.argv[process.argv.indexOf(`--${name}`) + 1] || fallback) || fallback;
const total = arg('records', 1_000_000);
const workers = arg('workers', 1);
const withPatterns = !process.argv.includes('--no-patterns');
const withFanIn = !process.argv.includes('--no-fan-in');
const withBaseline = !process.argv.includes('--no-baseline');
// processor.maxPollRecords for the workers (the batch, hence the transaction, size); the default config's otherwise.
const maxPollRecords = arg('max-poll-records', 0);

const processor = maxPollRecords > 0 ? { processor: { maxPollRecords } } : {};
const rules = !withPatterns ? { rules: { patterns: [] } } : withFanIn ? {} : { rules: { patterns: DEFAULT_PATTERNS.filter((p) => p.kind !== 'fan-in') } };
const fixture = new StreamFixture(`bench${Date.now().toString(36)}`, PARTITIONS, { ...processor, ...rules });
await fixture.createTopics();
const { config } = loadConfig({ cwd: fixture.cwd });
const producer = createProducer(config.kafka, 'bench-producer');
const admin = createKafkaAdmin(config.kafka, 'bench-admin', { retries: 3 });
let failed = false;

try {
  const started = Date.now();
  const input = await produceInput(producer, fixture.topics, total);
  console.log(`produced ${total} order records (${input.status.size} orders, ${input.tierChanges} tier changes) in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  const workerStarted = Date.now();
  // BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the workers.
  // The flags and malloc settings the supervisor gives every worker.
  const nodeArgs = [...workerNodeArgs(config), ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean)];
  const children: ResultPromise[] = [];
  for (let i = 0; i < workers; i++) {
    children.push(execa(process.execPath, [...nodeArgs, BIN_ENTRY, 'processor', 'run', '--instance', `bench-${i}`, '--metrics-port', '0'], { cwd: fixture.cwd, reject: false, all: true, env: { ...WORKER_MALLOC_ENV, ...process.env } }));
  }
  const peakRss = children.map(() => 0);
  // CPU seconds (user + system) each worker has used: less sensitive to the host's other load than wall time.
  const cpuSeconds = children.map(() => 0);
  const sampler = setInterval(() => {
    children.forEach((child, i) => {
      try {
        const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
        const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
        peakRss[i] = Math.max(peakRss[i] ?? 0, hwm);
        // /proc/<pid>/stat fields 14 and 15 (after the parenthesised command name): utime and stime, in clock ticks (100 a second).
        const fields = fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
        cpuSeconds[i] = (Number(fields[11]) + Number(fields[12])) / 100;
      } catch {
        // The worker may not have started yet, or has exited.
      }
    });
  }, 250);
  // Done when the group has consumed both stages to the end.
  for (;;) {
    await new Promise((r) => setTimeout(r, 1_000));
    const exited = children.find((c) => c.exitCode !== null && c.exitCode !== undefined);
    if (exited) throw new Error(`a worker exited (code ${exited.exitCode}) before the input was processed:\n${String((await exited).all ?? '').slice(-3000)}`);
    const lags = await admin.groupLag(config.processor.groupId).catch(() => []);
    const orders = lags.filter((l) => l.topic === fixture.topics.orders);
    const routed = lags.filter((l) => l.topic === fixture.topics.ordersByCustomer);
    // A transactional topic ends with a commit marker the consumer never returns: lag 1 there is "caught up".
    const lag = orders.reduce((n, l) => n + l.lag, 0n) + routed.reduce((n, l) => n + (l.lag > 1n ? l.lag : 0n), 0n);
    if (orders.length === PARTITIONS && routed.length === PARTITIONS && lag === 0n) break;
    if (process.env.BENCH_VERBOSE) console.log(`lag ${lag}`);
  }
  const seconds = (Date.now() - workerStarted) / 1000;
  clearInterval(sampler);
  const cpuUsed = [...cpuSeconds];

  // The tier changes reach the workers through the customers table, outside the group's lag: give
  // their recomputation a moment before calling a difference a failure.
  const checkStarted = Date.now();
  let check = await checkOutputs(config, fixture.topics, input);
  while (check.problems.length > 0 && Date.now() - checkStarted < 30_000) {
    await new Promise((r) => setTimeout(r, 2_000));
    check = await checkOutputs(config, fixture.topics, input);
  }
  for (const child of children) child.kill('SIGTERM');
  const outcomes = await Promise.all(children);
  // BENCH_WORKER_LOG=/tmp/worker keeps each worker's output (e.g. with BENCH_NODE_ARGS="--trace-gc") as /tmp/worker-<i>.log.
  const logPrefix = process.env.BENCH_WORKER_LOG;
  if (logPrefix) outcomes.forEach((outcome, i) => fs.writeFileSync(`${logPrefix}-${i}.log`, String(outcome.all ?? '')));
  const alerts = await fixture.latest(fixture.topics.fraudAlerts);
  const patternAlerts = [...alerts.keys()].filter((k) => k.includes('"pattern"')).length;
  console.log(`fraud patterns ${withPatterns ? config.rules.patterns.map((p) => p.name).join(', ') : 'off'}: ${patternAlerts} live pattern alerts (not checked)`);
  console.log(`check ${check.problems.length === 0 ? 'PASS' : 'FAIL'}: ${check.summary}`);
  for (const problem of check.problems) console.log(`  ${problem}`);
  failed = check.problems.length > 0;
  console.log(`worker CPU ${cpuUsed.map((s) => `${s.toFixed(1)} s (${((1e6 * s) / total).toFixed(1)} µs a record)`).join(', ')}`);
  console.log(`worker peak RSS ${peakRss.map((b) => `${(b / 1024 / 1024).toFixed(0)} MiB`).join(', ')}`);
  console.log(`processed ${total} records with ${workers} worker${workers === 1 ? '' : 's'} in ${seconds.toFixed(1)} s (including start-up and restore)`);
  const rate = Math.round(total / seconds);
  if (withBaseline) {
    const baseline = await rawBrokerBaseline(config, fixture.cwd, total);
    for (const line of formatBaseline(baseline)) console.log(line);
    console.log(`processor share of the raw consumer ${((100 * rate) / baseline.consumedPerSec).toFixed(1)}% (${rate} / ${baseline.consumedPerSec})`);
  }
  console.log(`processor records/s ${rate}`);
} catch (error) {
  failed = true;
  console.error(`bench failed: ${error instanceof Error ? error.message : String(error)}`);
} finally {
  await producer.close();
  await admin.close();
  await fixture.cleanup();
}
process.exit(failed ? 1 : 0);
