/**
 * Restart-to-first-commit after a SIGKILL: the processor bench's input (bench/processor-input.ts)
 * flows through one `processor run` worker; once it commits, the worker is SIGKILLed and started
 * again with the same --instance, and the time from that start to the new process's first
 * committed transaction (its /metrics `stream_migrate_processor_transactions_total` leaving 0) is
 * one sample. `--kills` samples, each with a backlog still flowing. Afterwards the backlog is
 * drained and the outputs checked as bench/processor.ts checks them (exactly once through the
 * kills); a wrong result or a restart that never commits exits 1.
 * Last line: `restart-to-first-commit ms N` (the median).
 *
 *   npx tsx bench/restart.ts [--records 300000] [--kills 5]
 * BENCH_NODE_ARGS adds Node options to each worker, as in bench/processor.ts (e.g. "--cpu-prof --cpu-prof-dir=DIR": the last,
 * SIGTERMed worker writes its profile, restore included).
 */
import net from 'node:net';
import { execa, type ResultPromise } from 'execa';
import { createKafkaAdmin, createProducer } from '../src/clients/kafka.ts';
import { loadConfig } from '../src/config/load.ts';
import { WORKER_MALLOC_ENV, workerNodeArgs } from '../src/local-stack/worker-runtime.ts';
import { scrapeMetric } from '../src/core/metrics.ts';
import { StreamFixture } from '../test/integration/stream-fixture.ts';
import { BIN_ENTRY } from '../test/integration/cli.ts';
import { checkOutputs, PARTITIONS, produceInput } from './processor-input.ts';

const arg = (name: string, fallback: number) => Number(process.argv[process.argv.indexOf(`--${name}`) + 1] || fallback) || fallback;
const total = arg('records', 300_000);
const kills = arg('kills', 5);
/** How long each worker runs after its first commit before it is killed. */
const RUN_BEFORE_KILL_MS = 1_000;
const FIRST_COMMIT_TIMEOUT_MS = 60_000;

const fixture = new StreamFixture(`restart${Date.now().toString(36)}`, PARTITIONS);
await fixture.createTopics();
const { config } = loadConfig({ cwd: fixture.cwd });
const producer = createProducer(config.kafka, 'bench-producer');
const admin = createKafkaAdmin(config.kafka, 'bench-admin', { retries: 3 });
let failed = false;
let worker: ResultPromise | undefined;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function transactions(port: number): Promise<number> {
  // 0 while the worker is not listening yet.
  return (await scrapeMetric(`http://127.0.0.1:${port}/metrics`, 'stream_migrate_processor_transactions_total', 500)) ?? 0;
}

/** How long the worker's state restore took and where it waited, as its log line says (ms from the session's start). */
function restoreTimes(log: string): string {
  const field = (name: string) => new RegExp(`${name}=(\\d+)`).exec(log)?.[1] ?? '?';
  const total = /fan-in parts in (\d+) ms/.exec(log)?.[1] ?? '?';
  return `state restore ${total} ms: open transactions settled ${field('openTransactionsSettledMs')}, tables ${field('tablesMs')}, orders ${field('ordersMs')}, fan-in ${field('fanInMs')}`;
}

/** Starts a worker; the ms from its start to its first committed transaction, and how long its state restore took (its log says). */
async function startAndTimeFirstCommit(): Promise<{ readonly ms: number; readonly restore: string }> {
  const port = await freePort();
  const started = Date.now();
  const child = execa(process.execPath, [...workerNodeArgs(config), ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean), BIN_ENTRY, 'processor', 'run', '--instance', 'bench', '--metrics-port', String(port)], { cwd: fixture.cwd, reject: false, all: true, env: { ...WORKER_MALLOC_ENV, ...process.env } });
  worker = child;
  let output = '';
  child.all?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  while (Date.now() - started < FIRST_COMMIT_TIMEOUT_MS) {
    if (child.exitCode !== null && child.exitCode !== undefined) throw new Error(`the worker exited (code ${child.exitCode}) before its first commit:\n${String((await child).all ?? '').slice(-3000)}`);
    if ((await transactions(port)) > 0) return { ms: Date.now() - started, restore: restoreTimes(output) };
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no committed transaction within ${FIRST_COMMIT_TIMEOUT_MS / 1000} s of the worker's start`);
}

async function remainingLag(): Promise<bigint> {
  const lags = await admin.groupLag(config.processor.groupId).catch(() => []);
  const orders = lags.filter((l) => l.topic === fixture.topics.orders);
  const routed = lags.filter((l) => l.topic === fixture.topics.ordersByCustomer);
  if (orders.length < PARTITIONS || routed.length < PARTITIONS) return -1n; // not every partition committed yet
  // A transactional topic ends with a commit marker the consumer never returns: lag 1 there is "caught up".
  return orders.reduce((n, l) => n + l.lag, 0n) + routed.reduce((n, l) => n + (l.lag > 1n ? l.lag : 0n), 0n);
}

/** Order records the group has not committed past yet (the backlog still to process in stage 1). */
async function backlog(): Promise<bigint> {
  const ends = await admin.endOffsets(fixture.topics.orders);
  const committed = (await admin.groupLag(config.processor.groupId).catch(() => [])).filter((l) => l.topic === fixture.topics.orders);
  return ends.reduce((n, e) => n + e.offset, 0n) - committed.reduce((n, l) => n + (l.committed ?? 0n), 0n);
}

try {
  const input = await produceInput(producer, fixture.topics, total);
  console.log(`produced ${total} order records (${input.status.size} orders, ${input.tierChanges} tier changes)`);
  const cold = await startAndTimeFirstCommit();
  console.log(`cold start-to-first-commit ms ${cold.ms} (${cold.restore})`);
  const samples: number[] = [];
  for (let k = 0; k < kills; k++) {
    await new Promise((r) => setTimeout(r, RUN_BEFORE_KILL_MS));
    const left = await backlog();
    if ((await remainingLag()) === 0n) {
      console.log(`backlog drained after ${k} kills: give more --records for ${kills}`);
      break;
    }
    worker?.kill('SIGKILL');
    await worker;
    const { ms, restore } = await startAndTimeFirstCommit();
    samples.push(ms);
    console.log(`kill ${k + 1}: backlog ${left} order records, restart-to-first-commit ${ms} ms (${restore})`);
  }
  while ((await remainingLag()) !== 0n) await new Promise((r) => setTimeout(r, 1_000));
  const checkStarted = Date.now();
  let check = await checkOutputs(config, fixture.topics, input);
  while (check.problems.length > 0 && Date.now() - checkStarted < 30_000) {
    await new Promise((r) => setTimeout(r, 2_000));
    check = await checkOutputs(config, fixture.topics, input);
  }
  console.log(`check after ${samples.length} SIGKILLs ${check.problems.length === 0 ? 'PASS' : 'FAIL'}: ${check.summary}`);
  for (const problem of check.problems) console.log(`  ${problem}`);
  failed = check.problems.length > 0 || samples.length === 0;
  samples.sort((a, b) => a - b);
  const median = samples.length % 2 === 1 ? samples[(samples.length - 1) / 2] : Math.round(((samples[samples.length / 2 - 1] ?? NaN) + (samples[samples.length / 2] ?? NaN)) / 2);
  console.log(`restart-to-first-commit samples ms ${samples.join(', ')} (max ${samples.at(-1) ?? 'none'})`);
  console.log(`restart-to-first-commit ms ${median ?? 'none'}`);
} catch (error) {
  failed = true;
  console.error(`bench failed: ${error instanceof Error ? error.message : String(error)}`);
} finally {
  worker?.kill('SIGTERM');
  await worker;
  await producer.close();
  await admin.close();
  await fixture.cleanup();
}
process.exit(failed ? 1 : 0);
