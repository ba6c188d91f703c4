import { createConnectClient } from '../clients/connect.ts';
import { withPostgres } from '../clients/postgres.ts';
import type { Config } from '../config/schema.ts';
import { CheckFailedError } from '../core/errors.ts';
import { assertTakesSignals, followSnapshot, insertSignal, type FollowedSnapshot, type SnapshotDeps } from '../snapshot/incremental-snapshot.ts';
import { executeSnapshotSignal, idInFilter } from '../snapshot/signal.ts';
import { AuditLog } from '../state/audit-log.ts';
import { openStateStore } from '../state/state-store.ts';
import { streamTopics } from '../stream/topics.ts';
import { coordinates, countByReason, matchesFilter, parseDeadLetter, planReplay, replaySignalId, type DeadLetter, type DeadLetterFilter, type OrderFacts, type ReasonClass } from './dead-letters.ts';
import { DeadLetterReplays, type ReplayRecord } from './replays.ts';

/** The source table whose rows a replay re-sends: the one the orders CDC topic carries. */
export const ORDERS_TABLE = 'public.orders';

export interface ListedDeadLetter extends DeadLetter {
  readonly replayed: Pick<ReplayRecord, 'signalId' | 'actor' | 'replayedAt'> | null;
}

export interface DeadLetterList {
  readonly topic: string;
  readonly deadLetters: readonly ListedDeadLetter[];
  /** Dead letters on the topic before filtering. */
  readonly total: number;
  readonly byReason: readonly { readonly reason: ReasonClass; readonly count: number }[];
}

/** Every dead letter on the topic (read_committed, from the beginning) that matches the filter, with whether it was replayed. */
export async function listDeadLetters(config: Config, filter: DeadLetterFilter): Promise<DeadLetterList> {
  const topic = streamTopics(config).deadLetter;
  const all = await readDeadLetters(config);
  const selected = all.filter((d) => matchesFilter(d, filter));
  const store = await openStateStore(config.warehouse);
  let replays: ReadonlyMap<string, ReplayRecord>;
  try {
    replays = await new DeadLetterReplays(store.pool).forTopic(topic);
  } finally {
    await store.close();
  }
  const deadLetters = selected.map((d) => {
    const r = replays.get(coordinates(d));
    return { ...d, replayed: r ? { signalId: r.signalId, actor: r.actor, replayedAt: r.replayedAt } : null };
  });
  return { topic, deadLetters, total: all.length, byReason: countByReason(selected) };
}

export async function readDeadLetters(config: Config): Promise<readonly DeadLetter[]> {
  const topics = streamTopics(config);
  const kafka = await import('../clients/kafka.ts');
  const admin = kafka.createKafkaAdmin(config.kafka, 'dlq-admin', { retries: 2 });
  try {
    if ((await admin.describeTopics([topics.deadLetter])).length === 0) {
      throw new CheckFailedError(`dead-letter topic ${topics.deadLetter} does not exist; run \`stream-migrate phase run infrastructure\` first`);
    }
  } finally {
    await admin.close().catch(() => undefined);
  }
  const reader = kafka.createPartitionReader(config.kafka, { topic: topics.deadLetter, clientSuffix: 'dlq-reader' });
  const out: DeadLetter[] = [];
  try {
    await reader.readToEnd((records) => {
      for (const r of records) out.push(parseDeadLetter(r, topics));
    });
  } finally {
    await reader.close().catch(() => undefined);
  }
  return out.sort((a, b) => (a.at ?? '').localeCompare(b.at ?? '') || a.partition - b.partition || (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
}

/** For each order id, what the source holds now; ids of deleted orders are absent. */
export async function readOrderFacts(config: Config, orderIds: readonly number[]): Promise<ReadonlyMap<number, OrderFacts>> {
  if (orderIds.length === 0) return new Map();
  return withPostgres(config.source, 'source', async (client) => {
    const { rows } = await client.query<{ id: string; customer_id: string; product_id: string; customer_exists: boolean; product_exists: boolean }>(
      `SELECT o.id, o.customer_id, o.product_id,
              EXISTS (SELECT 1 FROM public.customers c WHERE c.id = o.customer_id) AS customer_exists,
              EXISTS (SELECT 1 FROM public.products p WHERE p.id = o.product_id) AS product_exists
         FROM public.orders o WHERE o.id = ANY($1::bigint[])`,
      [[...new Set(orderIds)]],
    );
    return new Map(rows.map((r) => [Number(r.id), { customerId: Number(r.customer_id), productId: Number(r.product_id), customerExists: r.customer_exists, productExists: r.product_exists }] as const));
  });
}

export interface ReplayOptions {
  readonly filter: DeadLetterFilter;
  readonly dryRun: boolean;
  /** Follow the snapshot to its end (the default); false returns once the signal is sent. */
  readonly wait: boolean;
  readonly actor: string;
}

export interface ReplayResult {
  readonly topic: string;
  readonly dryRun: boolean;
  /** Null when nothing is (or would be) replayed. */
  readonly signalId: string | null;
  /** False on a dry run, with nothing to replay, or when a retried replay found its signal already sent. */
  readonly signalSent: boolean;
  readonly replay: readonly DeadLetter[];
  readonly orderIds: readonly number[];
  readonly skipped: readonly { readonly deadLetter: DeadLetter; readonly reason: string }[];
  readonly alreadyReplayed: number;
  readonly snapshot: FollowedSnapshot | null;
}

/**
 * Re-injects dead-lettered orders whose cause is gone: asks Debezium to re-send each order's
 * current row (an incremental snapshot with `id IN (...)`), which cannot regress a newer version
 * the way re-producing the old record could. Exactly once per dead letter: under a lock per
 * dead-letter topic, the replay rows and the audit entry are written in one warehouse transaction
 * that commits only after the signal is in the source; the signal id derives from the dead
 * letters, so a retry after a crash between the two finds its signal there and does not send it again.
 */
export async function replayDeadLetters(config: Config, options: ReplayOptions, deps: SnapshotDeps): Promise<ReplayResult> {
  const topic = streamTopics(config).deadLetter;
  if (!config.connector.tables.includes(ORDERS_TABLE)) throw new CheckFailedError(`the connector does not capture ${ORDERS_TABLE} (connector.tables), so orders cannot be re-sent`);
  const connect = createConnectClient(config.connect);
  await assertTakesSignals(config, connect);
  const selected = (await readDeadLetters(config)).filter((d) => matchesFilter(d, options.filter));
  const facts = await readOrderFacts(
    config,
    selected.flatMap((d) => (d.orderId === null ? [] : [d.orderId])),
  );
  const store = await openStateStore(config.warehouse);
  let outcome: { plan: ReturnType<typeof planReplay>; signalId: string | null; sent: boolean };
  try {
    if (options.dryRun) {
      const replayed = new Set((await new DeadLetterReplays(store.pool).forTopic(topic)).keys());
      const plan = planReplay(selected, replayed, facts);
      return result(topic, true, plan, plan.replay.length > 0 ? replaySignalId(plan.replay) : null, false, null);
    }
    const client = await store.pool.connect();
    try {
      await client.query('BEGIN');
      // Two replays at once: the second waits, then sees what the first recorded.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`stream-migrate:dlq-replay:${topic}`]);
      const replays = new DeadLetterReplays(client);
      const plan = planReplay(selected, new Set((await replays.forTopic(topic)).keys()), facts);
      let signalId: string | null = null;
      let sent = false;
      if (plan.replay.length > 0) {
        const signal = executeSnapshotSignal(replaySignalId(plan.replay), ORDERS_TABLE, idInFilter(plan.orderIds));
        signalId = signal.id;
        await replays.record(plan.replay, signal.id, options.actor);
        sent = await withPostgres(config.source, 'source', (source) => insertSignal(source, config.connector.signalTable, signal, true));
      }
      await new AuditLog(client).append({
        actor: options.actor,
        command: 'dlq replay',
        target: topic,
        outcome: 'succeeded',
        detail: {
          signalId,
          signalSent: sent,
          deadLetters: plan.replay.map(coordinates),
          orders: plan.orderIds,
          skipped: plan.skipped.length,
          alreadyReplayed: plan.alreadyReplayed.length,
          ...(options.filter.reason !== undefined ? { reason: options.filter.reason } : {}),
        },
      });
      await client.query('COMMIT');
      outcome = { plan, signalId, sent };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  } finally {
    await store.close();
  }
  const { plan, signalId, sent } = outcome;
  const snapshot = signalId !== null && options.wait ? await followSnapshot(signalId, plan.orderIds.length, deps, connect) : null;
  return result(topic, false, plan, signalId, sent, snapshot);
}

function result(topic: string, dryRun: boolean, plan: ReturnType<typeof planReplay>, signalId: string | null, sent: boolean, snapshot: FollowedSnapshot | null): ReplayResult {
  return { topic, dryRun, signalId, signalSent: sent, replay: plan.replay, orderIds: plan.orderIds, skipped: plan.skipped, alreadyReplayed: plan.alreadyReplayed.length, snapshot };
}
