/**
 * The raw broker's rate on this machine: Kafka's own ProducerPerformance and ConsumerPerformance
 * (org.apache.kafka.tools, the kafka-tools jar of the stack's Kafka version) against the tests'
 * broker, on a scratch topic of 6 partitions, at the processor bench's record size (~330 bytes).
 * The local stack's jar set (src/local-stack/kafka-service.ts) has no kafka-tools, so the first
 * run copies that one jar from Maven Central beside it (the rest of its classpath is the stack's).
 * bench/processor.ts calls `rawBrokerBaseline` after its own run, so both share one run.
 *
 *   npx tsx bench/raw-broker.ts [--records 1000000] [--record-size 330]
 */
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { createKafkaAdmin } from '../src/clients/kafka.ts';
import type { Config } from '../src/config/schema.ts';
import { stackPaths } from '../src/local-stack/paths.ts';
import { testConfig, TEST_HOME } from '../test/integration/test-env.ts';

export interface BrokerBaseline {
  readonly records: number;
  readonly recordSize: number;
  readonly producedPerSec: number;
  readonly consumedPerSec: number;
  /** ConsumerPerformance's rate without its group join (fetch.nMsg.sec). */
  readonly consumedFetchPerSec: number;
}

/** The stack's Kafka jars plus kafka-tools of the same version, as a `java -cp` value. */
async function toolsClasspath(config: Config, cwd: string): Promise<string> {
  const paths = stackPaths(config, cwd);
  if (!fs.existsSync(paths.kafkaLib)) throw new Error(`no Kafka jars in ${paths.kafkaLib}: run \`stream-migrate dev up\` for the tests' stack (or an integration test) first`);
  const version = config.dev.versions.kafka;
  const toolsDir = path.join(paths.cache, `kafka-tools-${version}`);
  const jar = path.join(toolsDir, `kafka-tools-${version}.jar`);
  if (!fs.existsSync(jar)) {
    fs.mkdirSync(toolsDir, { recursive: true });
    const copy = await execa('mvn', ['-q', '-B', 'dependency:copy', `-Dartifact=org.apache.kafka:kafka-tools:${version}`, `-DoutputDirectory=${toolsDir}`], { reject: false, cwd: toolsDir });
    if (copy.exitCode !== 0 || !fs.existsSync(jar)) throw new Error(`mvn could not fetch org.apache.kafka:kafka-tools:${version}: ${copy.stderr || copy.stdout}`.trim());
  }
  return `${paths.kafkaLib}/*:${toolsDir}/*`;
}

export async function rawBrokerBaseline(config: Config, cwd: string, records: number, recordSize = 330): Promise<BrokerBaseline> {
  const classpath = await toolsClasspath(config, cwd);
  const bootstrap = config.kafka.brokers.join(',');
  const topic = `bench-raw-${Date.now().toString(36)}`;
  const admin = createKafkaAdmin(config.kafka, 'bench-raw', { retries: 3 });
  const java = (main: string, args: string[]) => execa('java', ['-Xmx512m', '-cp', classpath, main, ...args], { reject: false, timeout: 30 * 60_000 });
  try {
    await admin.createTopics([{ name: topic, partitions: 6, replicationFactor: 1 }]);
    const produce = await java('org.apache.kafka.tools.ProducerPerformance', ['--bootstrap-server', bootstrap, '--topic', topic, '--num-records', String(records), '--record-size', String(recordSize), '--throughput', '-1']);
    // Last summary line: "N records sent, X records/sec (Y MB/sec), ..."
    const sent = [...String(produce.stdout).matchAll(/(\d+) records sent, ([\d.]+) records\/sec/g)].at(-1);
    if (produce.exitCode !== 0 || !sent) throw new Error(`ProducerPerformance failed (exit ${produce.exitCode}): ${String(produce.stderr || produce.stdout).slice(-2000)}`);
    const consume = await java('org.apache.kafka.tools.ConsumerPerformance', ['--bootstrap-server', bootstrap, '--topic', topic, '--num-records', String(records), '--group', `${topic}-group`, '--timeout', '60000']);
    // CSV: start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
    const row = String(consume.stdout).trim().split('\n').at(-1)?.split(',').map((s) => s.trim()) ?? [];
    const consumed = Number(row[4]);
    if (consume.exitCode !== 0 || !(consumed >= records)) throw new Error(`ConsumerPerformance read ${row[4] ?? 'nothing'} of ${records} records (exit ${consume.exitCode}): ${String(consume.stderr || consume.stdout).slice(-2000)}`);
    return { records, recordSize, producedPerSec: Math.round(Number(sent[2])), consumedPerSec: Math.round(Number(row[5])), consumedFetchPerSec: Math.round(Number(row[9])) };
  } finally {
    await admin.deleteTopics([topic]).catch(() => undefined);
    await admin.close();
  }
}

export function formatBaseline(b: BrokerBaseline): string[] {
  return [
    `raw broker produce records/s ${b.producedPerSec} (ProducerPerformance, ${b.records} records of ${b.recordSize} bytes, 6 partitions, acks=all)`,
    `raw broker consume records/s ${b.consumedPerSec} (ConsumerPerformance, group join included; ${b.consumedFetchPerSec} without it)`,
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name: string, fallback: number) => Number(process.argv[process.argv.indexOf(`--${name}`) + 1] || fallback) || fallback;
  const { config } = testConfig();
  const baseline = await rawBrokerBaseline(config, TEST_HOME, arg('records', 1_000_000), arg('record-size', 330));
  for (const line of formatBaseline(baseline)) console.log(line);
}
