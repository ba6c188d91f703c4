import { createConnectClient } from '../clients/connect.ts';
import { lagToRead } from '../clients/consumer-lag.ts';
import type { Config } from '../config/schema.ts';
import { parseDuration } from '../core/duration.ts';
import { messageOf } from '../core/errors.ts';
import type { StateStore } from '../state/state-store.ts';
import { openStateStore } from '../state/state-store.ts';
import { ValidationReports } from '../state/validation-reports.ts';
import { streamTopics } from '../stream/topics.ts';
import { CutoverDecisions, type MigrationState } from './decisions.ts';
import { evaluateGate, type GateInput, type GatePolicy, type GateResult, type Observed } from './policy.ts';

export const CUTOVER_LOCK = 'stream-migrate:cutover';

export function gatePolicy(config: Config): GatePolicy {
  const c = config.cutover;
  return {
    requiredReports: c.requiredReports,
    minCoverageMs: parseDuration(c.minCoverage) ?? 0,
    maxReportAgeMs: parseDuration(c.maxReportAge) ?? 0,
    maxConsumerLag: c.maxConsumerLag,
    maxDeadLetterGrowth: c.maxDeadLetterGrowth,
  };
}

/** Reads every fact the gate needs, concurrently; a fact that cannot be read is an error, never a pass. */
export async function observeGate(config: Config, store: StateStore, otherChangeInProgress: boolean, now = new Date()): Promise<GateInput> {
  const [reports, connector, lags] = await Promise.all([observe(() => new ValidationReports(store.pool).latest(20)), observe(() => connectorStatus(config)), observe(() => consumerLags(config))]);
  const newest = reports.ok ? reports.value[0] : undefined;
  const deadLetterGrowth = await observe(() => deadLettersSince(config, newest?.createdAt ?? new Date(0)));
  return { reports, connector, lags, deadLetterGrowth, otherChangeInProgress, now };
}

/** The gate as the status screen shows it: checks, verdict and the migration's state. */
export async function gatherGate(ctx: { readonly config: Config }): Promise<GateResult & { readonly state: MigrationState }> {
  const store = await openStateStore(ctx.config.warehouse);
  try {
    const input = await observeGate(ctx.config, store, false);
    return { ...evaluateGate(input, gatePolicy(ctx.config)), state: await new CutoverDecisions(store.pool).state() };
  } finally {
    await store.close();
  }
}

async function observe<T>(read: () => Promise<T>): Promise<Observed<T>> {
  try {
    return { ok: true, value: await read() };
  } catch (error) {
    return { ok: false, error: messageOf(error) };
  }
}


async function connectorStatus(config: Config): Promise<{ name: string; state: string; tasks: { id: number; state: string }[] }> {
  const status = await createConnectClient(config.connect).status(config.connector.name);
  if (!status) throw new Error(`connector ${config.connector.name} does not exist; run \`stream-migrate phase run ingestion\``);
  return { name: config.connector.name, state: status.connector.state, tasks: status.tasks.map((t) => ({ id: t.id, state: t.state })) };
}

async function consumerLags(config: Config): Promise<{ group: string; lag: number }[]> {
  const { createKafkaAdmin } = await import('../clients/kafka.ts');
  const admin = createKafkaAdmin(config.kafka, 'cutover', { retries: 2 });
  try {
    const groups = new Set((await admin.listGroups()).map((g) => g.groupId));
    const result: { group: string; lag: number }[] = [];
    for (const group of [config.processor.groupId, config.sink.groupId]) {
      if (!groups.has(group)) continue;
      const lag = Number(lagToRead(await admin.groupLag(group)));
      result.push({ group, lag });
    }
    return result;
  } finally {
    await admin.close();
  }
}

async function deadLettersSince(config: Config, since: Date): Promise<number> {
  const { createPartitionReader } = await import('../clients/kafka.ts');
  const reader = createPartitionReader(config.kafka, { topic: streamTopics(config).deadLetter, clientSuffix: 'cutover-dlq' });
  let count = 0;
  try {
    await reader.readToEnd((records) => {
      for (const r of records) if (r.timestamp > since.getTime()) count++;
    });
  } finally {
    await reader.close();
  }
  return count;
}
