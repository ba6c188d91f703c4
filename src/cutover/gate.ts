import type pg from 'pg';
import { createConnectClient, type ConnectClient } from '../clients/connect.ts';
import type { KafkaAdmin } from '../clients/kafka.ts';
import { lagToRead } from '../clients/consumer-lag.ts';
import type { Config } from '../config/schema.ts';
import { durationMs } from '../core/duration.ts';
import { messageOf } from '../core/errors.ts';
import { stackPaths } from '../local-stack/paths.ts';
import { workerStatus } from '../local-stack/workers.ts';
import { ValidationReports } from '../state/validation-reports.ts';
import { streamTopics } from '../stream/topics.ts';
import { evidencePolicy } from '../validation/provenance.ts';
import { readSlotPosition } from '../validation/source-position.ts';
import { CutoverDecisions, type MigrationState } from './decisions.ts';
import { evaluateGate, type GateInput, type GatePolicy, type GateResult, type GroupObservation, type Observed, type WorkersObservation } from './policy.ts';

export const CUTOVER_LOCK = 'stream-migrate:cutover';

/** Reports the gate reads: enough to find N counting ones among re-runs and narrowed reports. */
const REPORTS_READ = 200;

export function gatePolicy(config: Config): GatePolicy {
  const c = config.cutover;
  return {
    requiredReports: c.requiredReports,
    minCoverageMs: durationMs(c.minCoverage),
    maxReportAgeMs: durationMs(c.maxReportAge),
    maxConsumerLag: c.maxConsumerLag,
    maxDeadLetterGrowth: c.maxDeadLetterGrowth,
    maxSlotLagBytes: c.maxSlotLagBytes,
    evidence: evidencePolicy(config),
  };
}

/** The state store's tables, read through a pool the caller already holds. */
type StateDb = Pick<pg.Pool, 'query'>;

/** Clients a long-lived caller (status, the dashboard) already holds; without them the gate opens its own for one reading. */
export interface GateClients {
  readonly connect?: Pick<ConnectClient, 'status'>;
  readonly kafka?: Pick<KafkaAdmin, 'listGroups' | 'groupLag'>;
}

/** Reads every fact the gate needs, concurrently; a fact that cannot be read is an error, never a pass. */
export async function observeGate(
  config: Config,
  db: StateDb,
  otherChangeInProgress: boolean,
  options: { readonly now?: Date; readonly cwd: string; readonly clients?: GateClients },
): Promise<GateInput> {
  const { cwd, clients = {} } = options;
  const [reports, connector, slot, groups, workers] = await Promise.all([
    observe(() => new ValidationReports(db).latest(REPORTS_READ)),
    observe(() => connectorStatus(config, clients.connect ?? createConnectClient(config.connect))),
    observe(() => readSlotPosition(config.source, config.connector.slotName)),
    observe(() => consumerGroups(config, clients.kafka)),
    observe(async () => localWorkers(config, cwd)),
  ]);
  const newest = reports.ok ? reports.value[0] : undefined;
  const deadLetterGrowth = await observe(() => deadLettersSince(config, newest?.createdAt ?? new Date(0)));
  return { reports, connector, slot, groups, workers, deadLetterGrowth, otherChangeInProgress, now: options.now ?? new Date() };
}

/**
 * The gate as the status screen and the dashboard show it (read-only): checks, verdict and the
 * migration's state. Runs on every refresh, so it reads through the caller's warehouse pool
 * rather than opening (and migrating) a state store each time.
 */
export async function gatherGate(ctx: { readonly config: Config; readonly cwd: string; readonly db: StateDb; readonly clients?: GateClients }): Promise<GateResult & { readonly state: MigrationState }> {
  const input = await observeGate(ctx.config, ctx.db, false, { cwd: ctx.cwd, ...(ctx.clients ? { clients: ctx.clients } : {}) });
  return { ...evaluateGate(input, gatePolicy(ctx.config)), state: await new CutoverDecisions(ctx.db).state() };
}

async function observe<T>(read: () => Promise<T>): Promise<Observed<T>> {
  try {
    return { ok: true, value: await read() };
  } catch (error) {
    return { ok: false, error: messageOf(error) };
  }
}

async function connectorStatus(config: Config, connect: Pick<ConnectClient, 'status'>): Promise<{ name: string; state: string; tasks: { id: number; state: string }[] }> {
  const status = await connect.status(config.connector.name);
  if (!status) throw new Error(`connector ${config.connector.name} does not exist; run \`stream-migrate phase run ingestion\``);
  return { name: config.connector.name, state: status.connector.state, tasks: status.tasks.map((t) => ({ id: t.id, state: t.state })) };
}

/** The processor and sink groups: existence and state from the coordinator's group list, lag from committed offsets. */
async function consumerGroups(config: Config, held: Pick<KafkaAdmin, 'listGroups' | 'groupLag'> | undefined): Promise<GroupObservation[]> {
  const { createKafkaAdmin } = await import('../clients/kafka.ts');
  const owned = held ? undefined : createKafkaAdmin(config.kafka, 'cutover', { retries: 2 });
  const admin = held ?? owned!;
  try {
    const listed = new Map((await admin.listGroups()).map((g) => [g.groupId, g]));
    const result: GroupObservation[] = [];
    for (const [role, group] of [['processor', config.processor.groupId], ['sink', config.sink.groupId]] as const) {
      const found = listed.get(group);
      const lag = found ? Number(lagToRead(await admin.groupLag(group))) : 0;
      result.push({ role, group, exists: found !== undefined, state: found?.state ?? 'absent', lag });
    }
    return result;
  } finally {
    await owned?.close();
  }
}

function localWorkers(config: Config, cwd: string): WorkersObservation {
  if (config.processor.deploy === 'external') return { deploy: 'external', workers: [] };
  return { deploy: 'local', workers: workerStatus(stackPaths(config, cwd)).map((w) => ({ name: w.name, pid: w.pid })) };
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
