/**
 * Exactly-once under SIGKILL (docs/decisions/kafka-client.md).
 *
 *   npx tsx bench/kafka-client-sigkill.ts [--client kafkajs|platformatic] [--records N] [--kills K]
 *
 * Pre-produces N orders; a child process runs the transactional consume→transform→produce loop
 * with a fixed transactional id; the parent SIGKILLs it at a random moment K times (3–5 at random
 * by default), each time while transactions are flowing, and restarts it; the last child runs
 * until the group has committed every input record. Then the output topic is read with
 * read_committed, by the adapter and by kafkajs independently, and every input id must appear
 * exactly once. Also reports, per restart, how long the new process took to its first committed
 * transaction. Prints per client last: `<client> sigkill <kills> kills: <lost> lost, <dup> duplicated, restart-to-first-commit median <ms> ms`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import { createConsumer, createKafkaAdmin, type KafkaSettings } from '../src/clients/kafka.ts';
import {
  argValue,
  cleanup,
  CLIENTS,
  kafkaSettings,
  median,
  parseClient,
  prepare,
  runWorker,
  uniqueTopics,
  type BenchTopics,
  type ClientName,
} from './kafka-client-workers.ts';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The child: the worker loop, reporting each committed transaction on stdout, until SIGTERM or SIGKILL. */
async function child(client: ClientName, topics: BenchTopics, groupId: string, transactionalId: string): Promise<void> {
  let stopping = false;
  process.on('SIGTERM', () => (stopping = true));
  let first = true;
  await runWorker(client, kafkaSettings(), {
    topics,
    groupId,
    transactionalId,
    onCommit: (n) => {
      if (first) process.stdout.write(`first-commit ${Math.round(performance.now())}\n`);
      first = false;
      process.stdout.write(`commit ${n}\n`);
    },
    done: () => stopping,
    onInit: () => process.stdout.write(`init ${Math.round(performance.now())}\n`),
  });
}

interface Incarnation {
  readonly process: ChildProcess;
  readonly spawnedAt: number;
  /** Resolves with ms from spawn to the first committed transaction. */
  readonly firstCommit: Promise<number>;
  /** ms from the child's start to its producer init (fencing) and to its first commit, as the child measured them. */
  initMs: number;
  firstCommitMs: number;
  committed: number;
}

function spawnChild(client: ClientName, topics: BenchTopics, groupId: string, transactionalId: string): Incarnation {
  const script = fileURLToPath(import.meta.url);
  const args = ['--import', 'tsx', script, '--child', '--client', client, '--input', topics.input, '--output', topics.output, '--group', groupId, '--txid', transactionalId];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, KAFKAJS_NO_PARTITIONER_WARNING: '1' } });
  const spawnedAt = performance.now();
  let resolveFirst: (ms: number) => void = () => undefined;
  const incarnation: Incarnation = {
    process: proc,
    spawnedAt,
    firstCommit: new Promise<number>((resolve) => (resolveFirst = resolve)),
    initMs: -1,
    firstCommitMs: -1,
    committed: 0,
  };
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    const [kind, n] = line.split(' ');
    if (kind === 'init') incarnation.initMs = Number(n);
    if (kind === 'first-commit') {
      incarnation.firstCommitMs = Number(n);
      resolveFirst(Math.round(performance.now() - spawnedAt));
    }
    if (kind === 'commit') incarnation.committed += Number(n);
  });
  return incarnation;
}

const exited = (proc: ChildProcess): Promise<number | null> =>
  proc.exitCode !== null || proc.signalCode !== null ? Promise.resolve(proc.exitCode) : new Promise((resolve) => proc.once('exit', (code) => resolve(code)));

/** Waits until the group's committed offsets cover every input record. */
async function waitCaughtUp(kafka: KafkaSettings, groupId: string, records: number, timeoutMs: number): Promise<void> {
  const admin = createKafkaAdmin(kafka, 'bench-lag', { retries: 3 });
  try {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const lag = await admin.groupLag(groupId);
      const committed = lag.reduce((sum, p) => sum + (p.committed ?? 0n), 0n);
      if (committed >= BigInt(records) && lag.every((p) => p.lag === 0n)) return;
      await sleep(250);
    }
    throw new Error(`group ${groupId} did not commit all ${records} records within ${timeoutMs} ms`);
  } finally {
    await admin.close();
  }
}

/** Reads the whole output topic with read_committed through the adapter; returns the order ids. */
async function readWithAdapter(kafka: KafkaSettings, topic: string, expected: number): Promise<number[]> {
  const consumer = createConsumer(kafka, { groupId: `${topic}-verify-adapter`, topics: [topic], clientSuffix: 'bench-verify' });
  const ids: number[] = [];
  try {
    let quietSince = Date.now();
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline && (ids.length < expected || Date.now() - quietSince < 3_000)) {
      const batch = await consumer.poll({ maxRecords: 10_000, maxWaitMs: 200 });
      if (batch.records.length > 0) quietSince = Date.now();
      for (const r of batch.records) ids.push(orderIdOf(r.value));
    }
  } finally {
    await consumer.close();
  }
  return ids;
}

/** The same with kafkajs, whose aborted-transaction filter is an independent implementation. */
async function readWithKafkajs(kafka: KafkaSettings, topic: string, expected: number): Promise<number[]> {
  const client = new kafkajs.Kafka({ clientId: `${kafka.clientId}-bench-verify`, brokers: [...kafka.brokers], logLevel: kafkajs.logLevel.ERROR });
  const consumer = client.consumer({ groupId: `${topic}-verify-kafkajs`, readUncommitted: false, maxWaitTimeInMs: 200 });
  const ids: number[] = [];
  let lastAt = Date.now();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) ids.push(orderIdOf(m.value));
      lastAt = Date.now();
    },
  });
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline && (ids.length < expected || Date.now() - lastAt < 3_000)) await sleep(200);
  await consumer.disconnect();
  return ids;
}

function orderIdOf(value: Buffer | null): number {
  if (value === null) return -1;
  const parsed: unknown = JSON.parse(value.toString('utf8'));
  const id = typeof parsed === 'object' && parsed !== null ? Reflect.get(parsed, 'order_id') : undefined;
  return typeof id === 'number' ? id : -1;
}

function audit(ids: readonly number[], records: number): { lost: number; duplicated: number; foreign: number } {
  const seen = new Uint32Array(records);
  let foreign = 0;
  for (const id of ids) {
    if (id >= 0 && id < records) seen[id]! += 1;
    else foreign += 1;
  }
  let lost = 0;
  let duplicated = 0;
  for (const count of seen) {
    if (count === 0) lost += 1;
    if (count > 1) duplicated += count - 1;
  }
  return { lost, duplicated, foreign };
}

async function runClient(client: ClientName, records: number, kills: number): Promise<string> {
  const kafka = kafkaSettings();
  const topics = uniqueTopics(`kill-${client}`);
  const groupId = `${topics.input}-group`;
  const transactionalId = `${topics.input}-tx-0`;
  await prepare(kafka, topics, records);
  const restarts: number[] = [];
  try {
    let committedBeforeKill = 0;
    for (let kill = 1; kill <= kills; kill++) {
      const worker = spawnChild(client, topics, groupId, transactionalId);
      const toFirst = await Promise.race([worker.firstCommit, exited(worker.process).then(() => -1)]);
      if (toFirst < 0) throw new Error(`${client}: worker exited before committing`);
      if (kill > 1) restarts.push(toFirst);
      // A random moment while transactions flow: by then one is almost always open.
      const delay = 150 + Math.floor(Math.random() * 900);
      await sleep(delay);
      worker.process.kill('SIGKILL');
      await exited(worker.process);
      committedBeforeKill += worker.committed;
      console.log(
        `${client}: kill ${kill} after ${delay} ms of work; this incarnation: first commit ${toFirst} ms after spawn (in-process: init done at ${worker.initMs} ms, first commit at ${worker.firstCommitMs} ms), ${worker.committed} records committed`,
      );
    }
    const last = spawnChild(client, topics, groupId, transactionalId);
    restarts.push(await last.firstCommit);
    console.log(`${client}: last incarnation: first commit ${restarts.at(-1)} ms after spawn (in-process: init done at ${last.initMs} ms, first commit at ${last.firstCommitMs} ms)`);
    await waitCaughtUp(kafka, groupId, records, 300_000);
    last.process.kill('SIGTERM');
    await exited(last.process);
    console.log(`${client}: last incarnation committed ${last.committed}; ${committedBeforeKill + last.committed} reported committed in all (more than ${records} would mean reprocessing, which is allowed)`);

    const [byAdapter, byKafkajs] = [await readWithAdapter(kafka, topics.output, records), await readWithKafkajs(kafka, topics.output, records)];
    const a = audit(byAdapter, records);
    const k = audit(byKafkajs, records);
    console.log(`${client}: read_committed via adapter: ${byAdapter.length} records, ${a.lost} lost, ${a.duplicated} duplicated, ${a.foreign} foreign`);
    console.log(`${client}: read_committed via kafkajs: ${byKafkajs.length} records, ${k.lost} lost, ${k.duplicated} duplicated, ${k.foreign} foreign`);
    console.log(`${client}: restart (spawn) to first committed transaction, ms: ${restarts.join(', ')}`);
    const lost = Math.max(a.lost, k.lost);
    const duplicated = Math.max(a.duplicated, k.duplicated);
    return `${client} sigkill ${kills} kills: ${lost} lost, ${duplicated} duplicated, restart-to-first-commit median ${median(restarts)} ms`;
  } finally {
    await cleanup(kafka, topics);
  }
}

async function main(): Promise<void> {
  if (process.argv.includes('--child')) {
    const client = parseClient(argValue('client'));
    const input = argValue('input');
    const output = argValue('output');
    const group = argValue('group');
    const txid = argValue('txid');
    if (!client || !input || !output || !group || !txid) throw new Error('child needs --client --input --output --group --txid');
    await child(client, { input, output }, group, txid);
    return;
  }
  const only = parseClient(argValue('client'));
  const records = Number(argValue('records') ?? 200_000);
  const fixedKills = argValue('kills');
  const summaries: string[] = [];
  for (const client of only ? [only] : CLIENTS) {
    const kills = fixedKills ? Number(fixedKills) : 3 + Math.floor(Math.random() * 3);
    summaries.push(await runClient(client, records, kills));
  }
  for (const line of summaries) console.log(line);
  if (summaries.some((l) => !/ 0 lost, 0 duplicated/.test(l))) process.exitCode = 1;
}

await main();
