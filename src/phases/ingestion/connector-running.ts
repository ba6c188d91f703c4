import type { ConnectClient, ConnectorOffset, ConnectorStatus } from '../../clients/connect.ts';
import type { TopicAdmin } from '../../clients/kafka.ts';
import { durationMs } from '../../core/duration.ts';
import { CheckFailedError } from '../../core/errors.ts';
import type { PhaseContext, PhaseStep, PlannedChange } from '../phase.ts';
import { cdcTopic } from './connector-config.ts';
import { firstRow, num, quoteTable, type SqlClient } from './sql.ts';

export type ConnectorRuntimeApi = Pick<ConnectClient, 'status' | 'restart' | 'offsets'>;
export type EndOffsetsApi = Pick<TopicAdmin, 'endOffsets'>;

export interface ConnectorRunningOptions {
  readonly pollMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** How long a connector just created may have no status yet (the worker is picking it up). */
const STATUS_GRACE_MS = 20_000;
/** After a restart, Connect may still report the old FAILED state for a moment. */
const RESTART_GRACE_MS = 5_000;
/** Above this estimate, a table's size comes from the planner's statistics rather than count(*). */
const EXACT_COUNT_LIMIT = 1_000_000;

/**
 * The Java stack trace of a FAILED connector or task, summarised to its root cause: the last
 * `Caused by:` that has a message, without the package of the exception class.
 */
export function summariseTrace(trace: string | undefined): string {
  if (trace === undefined || trace.trim() === '') return 'no error trace reported';
  const lines = trace
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('at ') && !/^\.\.\. \d+ more$/.test(l));
  const chain = [lines[0]!, ...lines.filter((l) => l.startsWith('Caused by: ')).map((l) => l.slice('Caused by: '.length))];
  const withMessage = chain.filter((l) => /^[\w.$]+: \S/.test(l));
  const root = (withMessage.at(-1) ?? chain.at(-1)!).replace(/^(?:[a-z_$][\w$]*\.)+([A-Z][\w$]*)/, '$1');
  // Some Debezium messages embed a whole offset context; the error line stays readable.
  return root.length > MAX_SUMMARY ? `${root.slice(0, MAX_SUMMARY - 1)}…` : root;
}

const MAX_SUMMARY = 400;

export interface Failure {
  readonly who: string;
  readonly summary: string;
}

/** The connector and tasks in state FAILED, each with its trace summarised. */
export function failuresOf(status: ConnectorStatus): Failure[] {
  const failures: Failure[] = [];
  if (status.connector.state === 'FAILED') failures.push({ who: 'connector', summary: summariseTrace(status.connector.trace) });
  for (const task of status.tasks) if (task.state === 'FAILED') failures.push({ who: `task ${task.id}`, summary: summariseTrace(task.trace) });
  return failures;
}

export function allRunning(status: ConnectorStatus): boolean {
  return status.connector.state === 'RUNNING' && status.tasks.length > 0 && status.tasks.every((t) => t.state === 'RUNNING');
}

function describeStates(status: ConnectorStatus): string {
  return [`connector ${status.connector.state}`, ...status.tasks.map((t) => `task ${t.id} ${t.state}`)].join(', ');
}

export type SnapshotState = 'pending' | 'running' | 'done' | 'unknown';

/**
 * Where Debezium's initial snapshot stands, from the source offsets Connect committed: during the
 * snapshot they carry `snapshot: "INITIAL"` with `snapshot_completed: false`; once streaming, the
 * `snapshot` key is gone. No offsets yet: pending. No offsets endpoint (Connect < 3.6): unknown.
 */
export function snapshotState(offsets: readonly ConnectorOffset[] | undefined): SnapshotState {
  if (offsets === undefined) return 'unknown';
  if (offsets.length === 0) return 'pending';
  const inProgress = offsets.some((o) => {
    const snapshot = o.offset.snapshot;
    return snapshot !== undefined && snapshot !== false && snapshot !== 'false' && o.offset.snapshot_completed !== true;
  });
  return inProgress ? 'running' : 'done';
}

/** Rows per included table: exact for ordinary sizes, the planner's estimate for huge tables. */
async function sourceCounts(sql: SqlClient, tables: readonly string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const table of tables) {
    const estimate = firstRow(await sql.query(`SELECT reltuples::bigint AS n FROM pg_class WHERE oid = $1::regclass`, [quoteTable(table)]));
    const approx = estimate ? num(estimate, 'n') : 0;
    if (approx >= EXACT_COUNT_LIMIT) counts.set(table, approx);
    else counts.set(table, num(firstRow(await sql.query(`SELECT count(*) AS n FROM ${quoteTable(table)}`))!, 'n'));
  }
  return counts;
}

/**
 * The connector and all its tasks RUNNING, and its initial snapshot followed to the end. `apply`
 * restarts a FAILED connector or tasks once; `verify` fails with the root cause of a FAILED one.
 */
export function connectorRunningStep(ctx: PhaseContext, connect: ConnectorRuntimeApi, sql: SqlClient, kafka: EndOffsetsApi | undefined, options: ConnectorRunningOptions = {}): PhaseStep {
  const { config, clock, progress, logger } = ctx;
  const name = config.connector.name;
  const pollMs = options.pollMs ?? 1_000;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const timeoutMs = durationMs(config.connector.snapshotTimeout);
  const now = (): number => clock.now().getTime();

  const seenInTopic = async (table: string): Promise<number | undefined> => {
    if (!kafka) return undefined;
    try {
      const ends = await kafka.endOffsets(cdcTopic(config.connector, table));
      return Number(ends.reduce((sum, p) => sum + p.offset, 0n));
    } catch (error) {
      logger.debug('cannot read end offsets of the CDC topic', { table, error: String(error) });
      return undefined;
    }
  };

  const waitForRunning = async (deadline: number): Promise<{ status: ConnectorStatus; restarted: boolean }> => {
    const started = now();
    let restartedAt: number | undefined;
    for (;;) {
      const status = await connect.status(name);
      if (status === undefined) {
        if (now() - started > STATUS_GRACE_MS) throw new CheckFailedError(`connector ${name} does not exist in Kafka Connect; the connector step creates it`);
      } else {
        const failures = failuresOf(status);
        if (failures.length > 0) {
          if (restartedAt === undefined) {
            logger.info(`restarting failed ${failures.map((f) => f.who).join(', ')} of connector ${name}`, { cause: failures[0]!.summary });
            progress.note(`restarting ${failures.map((f) => f.who).join(', ')}: ${failures[0]!.summary}`);
            await connect.restart(name, { includeTasks: true, onlyFailed: true });
            restartedAt = now();
          } else if (now() - restartedAt > RESTART_GRACE_MS) {
            throw failedError(name, failures, true);
          }
        } else if (status.connector.state === 'PAUSED' || status.connector.state === 'STOPPED') {
          throw new CheckFailedError(
            `connector ${name} is ${status.connector.state}; someone stopped it on purpose, so resume it yourself (PUT /connectors/${name}/resume) and run the phase again`,
          );
        } else if (allRunning(status)) {
          return { status, restarted: restartedAt !== undefined };
        }
        if (now() > deadline) {
          throw new CheckFailedError(`connector ${name} is not RUNNING after ${config.connector.snapshotTimeout} (connector.snapshotTimeout): ${describeStates(status)}`);
        }
      }
      await sleep(pollMs);
    }
  };

  const followSnapshot = async (deadline: number): Promise<string> => {
    if (config.connector.snapshotMode === 'no_data') return 'no snapshot (snapshot.mode no_data)';
    const tables = config.connector.tables;
    const totals = await sourceCounts(sql, tables);
    const started = now();
    for (;;) {
      const state = snapshotState(await connect.offsets(name));
      const seen = new Map<string, number | undefined>();
      for (const table of tables) {
        const rows = await seenInTopic(table);
        seen.set(table, rows);
        const total = totals.get(table) ?? 0;
        progress.update(table, Math.min(rows ?? 0, total), total);
      }
      const everyRowSeen = tables.every((t) => (seen.get(t) ?? -1) >= (totals.get(t) ?? 0));
      const tally = tables.map((t) => `${t} ${Math.min(seen.get(t) ?? 0, totals.get(t) ?? 0)}/${totals.get(t) ?? 0}`).join(', ');
      // Connect's offsets alone are not proof: an offset flushed before the snapshot wrote its
      // first "snapshot in progress" marker reads as done (seen: "complete" at 22 of 100 000 rows).
      // Where the topic can be counted, every row must be there too.
      const topicCounted = tables.every((t) => seen.get(t) !== undefined);
      if (topicCounted ? everyRowSeen && state !== 'running' : state === 'done') {
        const elapsed = now() - started;
        const rows = [...totals.values()].reduce((a, b) => a + b, 0);
        const rate = elapsed > 1_000 ? `, ${Math.round(rows / (elapsed / 1_000))} rows/s` : '';
        return `snapshot complete (${tally}${rate})`;
      }
      const status = await connect.status(name);
      if (status) {
        const failures = failuresOf(status);
        if (failures.length > 0) throw failedError(name, failures, false);
      }
      if (now() > deadline) {
        throw new CheckFailedError(
          `snapshot of connector ${name} not complete after ${config.connector.snapshotTimeout} (connector.snapshotTimeout): ${tally}; it goes on in the background, run the phase again to keep following it`,
        );
      }
      await sleep(pollMs);
    }
  };

  return {
    name: 'connector-running',
    async plan(): Promise<readonly PlannedChange[]> {
      const status = await connect.status(name);
      const resource = `connector ${name}`;
      // A connector created a moment ago has no tasks yet: waiting for them is this step's work.
      if (!status) return [{ resource, action: 'update', diff: 'wait for the connector to start, then follow the initial snapshot' }];
      const failures = failuresOf(status);
      if (failures.length > 0) return [{ resource, action: 'update', diff: failures.map((f) => `restart ${f.who} (FAILED: ${f.summary})`).join('\n') }];
      if (!allRunning(status)) return [{ resource, action: 'update', diff: `wait until RUNNING (now ${describeStates(status)})` }];
      const state = snapshotState(await connect.offsets(name));
      if (state === 'running') return [{ resource, action: 'update', diff: 'follow the initial snapshot to its end' }];
      return [];
    },
    async apply() {
      const deadline = now() + timeoutMs;
      const { status, restarted } = await waitForRunning(deadline);
      try {
        const snapshot = await followSnapshot(deadline);
        return `connector ${name}${restarted ? ' restarted,' : ''} RUNNING with ${status.tasks.length} task${status.tasks.length === 1 ? '' : 's'}; ${snapshot}`;
      } finally {
        progress.done();
      }
    },
    async verify() {
      const status = await connect.status(name);
      if (!status) throw new CheckFailedError(`connector ${name} does not exist in Kafka Connect; run \`stream-migrate phase run ingestion\``);
      const failures = failuresOf(status);
      if (failures.length > 0) throw failedError(name, failures, false);
      if (!allRunning(status)) throw new CheckFailedError(`connector ${name} is not RUNNING: ${describeStates(status)}`, { details: { connector: name, states: describeStates(status) } });
      const state = snapshotState(await connect.offsets(name));
      const snapshot = { running: 'initial snapshot in progress', done: 'streaming', pending: 'no offsets committed yet', unknown: 'snapshot state unknown' }[state];
      return `connector ${name} and ${status.tasks.length} task${status.tasks.length === 1 ? '' : 's'} RUNNING, ${snapshot}`;
    },
  };
}

function failedError(name: string, failures: readonly Failure[], afterRestart: boolean): CheckFailedError {
  const what = failures.map((f) => `${f.who} FAILED: ${f.summary}`).join(' | ');
  const hint = afterRestart ? 'it failed again after a restart; fix the cause, then run the phase again' : 'fix the cause, then `stream-migrate phase run ingestion` restarts it';
  return new CheckFailedError(`connector ${name}: ${what}; ${hint}`, { details: { connector: name, failures } });
}
