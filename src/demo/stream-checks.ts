import fs from 'node:fs';
import path from 'node:path';
import { createClickHouse } from '../clients/clickhouse.ts';
import { lagToRead } from '../clients/consumer-lag.ts';
import { withPostgres } from '../clients/postgres.ts';
import type { Config } from '../config/schema.ts';
import { CheckFailedError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { scrapeMetric } from '../core/metrics.ts';
import { stackPaths } from '../local-stack/paths.ts';
import { workerMetricsUrl, workerStatus } from '../local-stack/workers.ts';
import { sleep } from '../core/time.ts';
import type { Channel } from '../domain/output-tables.ts';
import { CHANNEL_ID_BASE } from '../sources/order-input.ts';

/** What ClickHouse must hold of one external channel's orders once caught up: this run's id range, live rows, their quantities. */
export interface ChannelExpectation {
  readonly channel: Channel;
  /** Output keys (order_id) of this run's orders of the channel, [from, to). */
  readonly orderIds: { readonly from: number; readonly to: number };
  readonly orders: number;
  readonly quantity: number;
}

/**
 * Waits until the stream has caught up with the sources: processor and sink have nothing left to
 * read, ClickHouse holds as many current web orders as the source has live, joined orders, and,
 * for each external channel, this run's live orders with their last quantities (so a correction
 * or cancellation still on its way is waited for, not only new orders).
 */
export async function waitForCatchUp(config: Config, timeoutMs: number, external: readonly ChannelExpectation[] = []): Promise<{ readonly seconds: number }> {
  const kafka = await import('../clients/kafka.ts');
  const admin = kafka.createKafkaAdmin(config.kafka, 'demo-catch-up', { retries: 2 });
  const ch = createClickHouse(config.clickhouse);
  const db = config.clickhouse.database;
  const started = Date.now();
  let last = '';
  try {
    while (Date.now() - started < timeoutMs) {
      const [processorLag, sinkLag, sourceLive, streamRows, channels] = await Promise.all([
        admin.groupLag(config.processor.groupId).then(lagToRead),
        admin.groupLag(config.sink.groupId).then(lagToRead),
        withPostgres(config.source, 'source', async (c) =>
          Number(
            (
              await c.query<{ n: string }>(
                "SELECT count(*) AS n FROM public.orders o JOIN public.customers c ON c.id = o.customer_id JOIN public.products p ON p.id = o.product_id WHERE o.status <> 'CANCELLED'",
              )
            ).rows[0]?.n ?? 0,
          ),
        ),
        ch.query<{ n: string }>(`SELECT count() AS n FROM ${db}.processed_orders WHERE order_id < ${CHANNEL_ID_BASE.partner}`).then((r) => Number(r[0]?.n ?? 0)),
        Promise.all(
          external.map(async (e) => {
            const [row] = await ch.query<{ n: string; q: string }>(`SELECT count() AS n, sum(quantity) AS q FROM ${db}.processed_orders WHERE order_id >= ${e.orderIds.from} AND order_id < ${e.orderIds.to}`);
            return { ...e, streamOrders: Number(row?.n ?? 0), streamQuantity: Number(row?.q ?? 0) };
          }),
        ),
      ]);
      const behind = channels.filter((c) => c.streamOrders !== c.orders || c.streamQuantity !== c.quantity);
      last = [
        `processor lag ${processorLag}, sink lag ${sinkLag}, ${streamRows} of ${sourceLive} live web orders in ClickHouse`,
        ...channels.map((c) => `${c.channel} ${c.streamOrders} of ${c.orders} orders (quantity ${c.streamQuantity} of ${c.quantity})`),
      ].join('; ');
      if (processorLag === 0n && sinkLag === 0n && streamRows === sourceLive && behind.length === 0) return { seconds: (Date.now() - started) / 1000 };
      await sleep(1_000);
    }
  } finally {
    await admin.close();
    await ch.close();
  }
  throw new CheckFailedError(`the stream did not catch up within ${Math.round(timeoutMs / 1000)} s (${last})`);
}

export interface RecoveryFigure {
  readonly killedPid: number;
  /** From SIGKILL until the restarted worker's first committed transaction. */
  readonly secondsToFirstCommit: number;
}

/**
 * Kills processor worker w1 with SIGKILL (the supervisor restarts it) and measures how long until
 * the restarted w1 commits its first transaction, read from its own /metrics. The group's committed
 * offsets would not do: another worker commits through the restart, and a transaction the killed
 * worker had ended just before the kill still completes at the coordinator after it.
 */
export async function measureRecovery(config: Config, cwd: string, logger: Logger): Promise<RecoveryFigure | undefined> {
  const paths = stackPaths(config, cwd);
  const w1 = () => workerStatus(paths).find((w) => w.name === 'processor-w1')?.pid ?? null;
  const pid = w1();
  if (pid === null) return undefined;
  const metricsUrl = workerMetricsUrl(config, 'processor-w1');
  const killedAt = Date.now();
  process.kill(pid, 'SIGKILL');
  logger.info(`processor worker w1 (pid ${pid}) killed with SIGKILL; waiting for the restarted worker to commit`);
  while (Date.now() - killedAt < 120_000) {
    await sleep(100);
    const restarted = w1();
    if (restarted !== null && restarted !== pid && (await committedTransactions(metricsUrl)) > 0) return { killedPid: pid, secondsToFirstCommit: (Date.now() - killedAt) / 1000 };
  }
  return undefined;
}

/** A processor worker's committed transactions so far, 0 while it does not answer yet. */
async function committedTransactions(metricsUrl: string): Promise<number> {
  return (await scrapeMetric(metricsUrl, 'stream_migrate_processor_transactions_total', 1_000)) ?? 0;
}
