import type { TopicAdmin } from '../clients/kafka.ts';
import type { Config } from '../config/schema.ts';
import { CheckFailedError } from '../core/errors.ts';
import { sourceSpecs } from '../sources/source-topics.ts';

/** The topics the stream processor reads and writes, named once. */
export interface StreamTopics {
  readonly orders: string;
  /** The order sources' topics (partner API, store files): stage 1 reads them like orders. */
  readonly sourceOrders: readonly string[];
  readonly customers: string;
  readonly products: string;
  readonly processedOrders: string;
  readonly orderSummaries: string;
  readonly fraudAlerts: string;
  /** Orders re-keyed by customer: stage 1 writes, stage 2 reads. */
  readonly ordersByCustomer: string;
  /** NEW-tier orders' parts in fan-in, keyed and partitioned by product: stage 2 writes, stage 3 reads (compacted: it is also stage 3's state). */
  readonly ordersByProduct: string;
  /** Stage 1's state (order → customer), compacted. */
  readonly changelog: string;
  readonly deadLetter: string;
}

export function streamTopics(config: Config): StreamTopics {
  const cdc = (table: string) => `${config.connector.topicPrefix}.public.${table}`;
  const own = (name: string) => `${config.processor.topicPrefix}${name}`;
  return {
    orders: cdc('orders'),
    sourceOrders: sourceSpecs(config).map((s) => s.topic),
    customers: cdc('customers'),
    products: cdc('products'),
    processedOrders: own('processed-orders'),
    orderSummaries: own('order-summaries'),
    fraudAlerts: own('fraud-alerts'),
    ordersByCustomer: own('stream-migrate.processor.orders-by-customer'),
    ordersByProduct: own('stream-migrate.processor.orders-by-product'),
    changelog: own('stream-migrate.processor.changelog'),
    deadLetter: own('stream-migrate.dlq'),
  };
}

/** Topics that must have the same partition count, because partition p of each belongs to task p. */
export function copartitionedTopics(topics: StreamTopics): readonly string[] {
  return [topics.orders, ...topics.sourceOrders, topics.ordersByCustomer, topics.ordersByProduct, topics.changelog, topics.processedOrders, topics.orderSummaries, topics.fraudAlerts];
}

/** The task (partition) that owns a customer's state and outputs. */
export function partitionForCustomer(customerId: number, partitions: number): number {
  return ((customerId % partitions) + partitions) % partitions;
}

/** The task (partition) that owns a product's fan-in state (stage 3). */
export function partitionForProduct(productId: number, partitions: number): number {
  return ((productId % partitions) + partitions) % partitions;
}

/**
 * The stream's topics exist and the co-partitioned ones share one partition count (partition p of
 * each is task p); returns that count, the number of tasks.
 */
export async function checkStreamTopology(admin: Pick<TopicAdmin, 'describeTopics'>, topics: StreamTopics): Promise<number> {
  const copartitioned = copartitionedTopics(topics);
  const names = [...copartitioned, topics.customers, topics.products, topics.deadLetter];
  const counts = new Map((await admin.describeTopics(names)).map((d) => [d.name, d.partitions]));
  const missing = names.filter((n) => !counts.has(n));
  if (missing.length > 0) throw new CheckFailedError(`missing topics ${missing.join(', ')}; run \`stream-migrate phase run infrastructure\` first`);
  const expected = counts.get(topics.orders) ?? 0;
  const mismatched = copartitioned.filter((n) => counts.get(n) !== expected);
  if (mismatched.length > 0) {
    throw new CheckFailedError(
      `topics ${mismatched.map((n) => `${n} (${counts.get(n)})`).join(', ')} must have as many partitions as ${topics.orders} (${expected}); set them equal in topics and run \`phase run infrastructure\``,
    );
  }
  return expected;
}
