/**
 * Transactional consume→transform→produce throughput of kafkajs vs @platformatic/kafka on the
 * local broker (docs/decisions/kafka-client.md).
 *
 *   npx tsx bench/kafka-client.ts [--client kafkajs|platformatic] [--records N] [--runs R]
 *
 * Each run pre-produces N orders into a fresh 6-partition input topic, then one worker consumes
 * them (read_committed), transforms each and produces it to an output topic, committing the
 * consumer offsets inside each transaction, until all N are committed. The figure is the
 * steady-state rate, from the first committed transaction to the last (group join and producer
 * init are reported apart, as "startup"). Without --client both clients run, alternately.
 * Prints one line per client last: `<client> transactional records/s <median of runs>`.
 */
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
  type ClientName,
} from './kafka-client-workers.ts';

interface RunResult {
  readonly recordsPerSecond: number;
  readonly startupMs: number;
  readonly transactions: number;
}

async function runOnce(client: ClientName, records: number): Promise<RunResult> {
  const kafka = kafkaSettings();
  const topics = uniqueTopics(client);
  await prepare(kafka, topics, records);
  try {
    let committed = 0;
    let transactions = 0;
    let firstCommitAt = 0;
    let firstCommitRecords = 0;
    let lastCommitAt = 0;
    const startedAt = performance.now();
    await runWorker(client, kafka, {
      topics,
      groupId: `${topics.input}-group`,
      transactionalId: `${topics.input}-tx-0`,
      onCommit: (n) => {
        committed += n;
        transactions += 1;
        lastCommitAt = performance.now();
        if (transactions === 1) {
          firstCommitAt = lastCommitAt;
          firstCommitRecords = n;
        }
      },
      done: () => committed >= records,
    });
    if (committed !== records) throw new Error(`${client}: committed ${committed} records, expected ${records}`);
    const seconds = (lastCommitAt - firstCommitAt) / 1000;
    return {
      recordsPerSecond: Math.round((records - firstCommitRecords) / seconds),
      startupMs: Math.round(firstCommitAt - startedAt),
      transactions,
    };
  } finally {
    await cleanup(kafka, topics);
  }
}

async function main(): Promise<void> {
  const only = parseClient(argValue('client'));
  const records = Number(argValue('records') ?? 200_000);
  const runs = Number(argValue('runs') ?? 3);
  if (!Number.isInteger(records) || records < 1 || !Number.isInteger(runs) || runs < 1) throw new Error('--records and --runs take positive integers');
  const clients = only ? [only] : CLIENTS;
  const rates = new Map<ClientName, number[]>(clients.map((c) => [c, []]));
  for (let run = 1; run <= runs; run++) {
    for (const client of clients) {
      const result = await runOnce(client, records);
      rates.get(client)!.push(result.recordsPerSecond);
      console.log(
        `run ${run} ${client}: ${result.recordsPerSecond} records/s, ${result.transactions} transactions (${Math.round(records / result.transactions)} records each), startup ${result.startupMs} ms`,
      );
    }
  }
  for (const client of clients) console.log(`${client} transactional records/s ${median(rates.get(client)!)}`);
}

await main();
