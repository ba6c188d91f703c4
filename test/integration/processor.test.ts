import { Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import type { SourceOrder } from '../../src/domain/process-order.ts';
import type { OrderStatus, Tier } from '../../src/domain/rules.ts';
import { StreamFixture } from './stream-fixture.ts';

const TIERS: readonly Tier[] = ['NEW', 'BRONZE', 'SILVER', 'GOLD', 'PLATINUM'];
const CATEGORIES = ['books', 'electronics', 'groceries', 'garden'];
const T0 = Date.UTC(2026, 10, 25, 10, 0, 0);

let fixture: StreamFixture | undefined;
afterEach(async () => {
  await fixture?.cleanup();
  fixture = undefined;
});

async function newFixture(): Promise<StreamFixture> {
  fixture = new StreamFixture(`itp${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`);
  await fixture.createTopics();
  for (let c = 1; c <= 20; c++) await fixture.upsertCustomer(c, TIERS[c % TIERS.length]!);
  for (let p = 1; p <= 8; p++) await fixture.upsertProduct(p, CATEGORIES[p % CATEGORIES.length]!);
  return fixture;
}

/** A deterministic changelog: inserts, updates, cancellations, deletes and large (fraud) orders. */
function order(id: number, overrides: Partial<SourceOrder> = {}): SourceOrder {
  return {
    id,
    customerId: 1 + (id % 20),
    productId: 1 + (id % 8),
    quantity: 1 + (id % 4),
    amountCents: id % 50 === 0 ? 1_500_000 + id : 999 + ((id * 7919) % 250_000),
    status: 'PLACED',
    createdAt: T0 + id * 7_000,
    ...overrides,
  };
}

async function workload(f: StreamFixture, from: number, to: number): Promise<void> {
  const batch: SourceOrder[] = [];
  for (let id = from; id < to; id++) batch.push(order(id));
  await f.upsertOrders(batch);
  const updates: SourceOrder[] = [];
  for (let id = from; id < to; id += 5) {
    const status: OrderStatus = id % 15 === 0 ? 'CANCELLED' : 'PAID';
    updates.push(order(id, { status, amountCents: order(id).amountCents + 1 }));
  }
  await f.upsertOrders(updates);
  for (let id = from + 3; id < to; id += 40) await f.deleteOrder(id);
}

describe('stream processor', () => {
  it('computes exactly what the domain rules give for the final source rows, including tier and category changes', async () => {
    const f = await newFixture();
    await workload(f, 1, 400);
    f.startWorker('w1');
    expect(await f.converge()).toBeUndefined();

    // Foreign-key joins: a tier change and a category change recompute every live order that joins them.
    await f.upsertCustomer(3, 'PLATINUM');
    await f.upsertCustomer(7, 'NEW');
    await f.upsertProduct(2, 'books');
    await workload(f, 400, 500);
    expect(await f.converge()).toBeUndefined();
    const { exitCode } = await f.stopWorker('w1');
    expect(exitCode).toBe(0);
  });

  it('restores only once no transaction is open in its processed-orders partitions (a previous owner still committing), then converges', async () => {
    const f = await newFixture();
    await workload(f, 1, 120);
    f.startWorker('w1');
    expect(await f.converge()).toBeUndefined();
    expect((await f.stopWorker('w1')).exitCode).toBe(0);

    // A transaction of another producer (kafkajs, not the product's client) left open in processed-orders
    // partition 0, holding a copy of a row already there: the outputs are the same however it ends.
    const { config } = loadConfig({ cwd: f.cwd });
    const kafka = new Kafka({ clientId: `${f.id}-previous-owner`, brokers: [...config.kafka.brokers], logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ transactionalId: `${f.id}-previous-owner`, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      const onPartition0 = [...(await f.latest(f.topics.processedOrders))].find(([, v]) => Number((JSON.parse(v) as { customer_id: number }).customer_id) % 3 === 0);
      expect(onPartition0).toBeDefined();
      const transaction = await producer.transaction();
      await transaction.send({ topic: f.topics.processedOrders, messages: [{ key: onPartition0![0], value: onPartition0![1], partition: 0 }] });

      // A new order of a customer on partition 1 waits while the worker's restore waits for partition 0.
      const late = order(500, { customerId: 4 });
      await f.upsertOrders([late]);
      f.startWorker('w1');
      await new Promise((r) => setTimeout(r, 8_000));
      const processedIds = async () => [...(await f.latest(f.topics.processedOrders)).values()].map((v) => Number((JSON.parse(v) as { order_id: number }).order_id));
      expect(await processedIds()).not.toContain(500);

      await transaction.abort();
      expect(await f.converge()).toBeUndefined();
      expect(await processedIds()).toContain(500);
    } finally {
      await producer.disconnect();
    }
  });

  it('sends poison records to the dead-letter topic with their reason and carries on', async () => {
    const f = await newFixture();
    f.startWorker('w1');
    await f.sendRaw(f.topics.orders, '{"id":9001}', '{not json', 1);
    await f.sendRaw(f.topics.orders, '{"id":9002}', JSON.stringify({ id: 9002, customer_id: 1, product_id: 1, quantity: 1, amount: '5.00', status: 'LOST', created_at: '2026-11-25T10:00:00Z' }), 2);
    await f.upsertOrders([order(9003, { customerId: 999 })]);
    f.orders.delete(9003);
    await workload(f, 1, 50);
    expect(await f.converge()).toBeUndefined();
    const deadline = Date.now() + 20_000;
    let dead = await f.all(f.topics.deadLetter);
    while (dead.length < 3 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      dead = await f.all(f.topics.deadLetter);
    }
    const reasons = dead.map((d) => d.headers['dlq.reason']);
    expect(reasons).toContain('not valid JSON');
    expect(reasons).toContain('unknown order status "LOST"');
    expect(reasons.some((r) => r?.startsWith('customer 999 of order 9003 not found within 3s'))).toBe(true);
    const poison = dead.find((d) => d.headers['dlq.reason'] === 'not valid JSON');
    expect(poison?.headers).toMatchObject({ 'dlq.source.topic': f.topics.orders, 'dlq.source.partition': '1', 'dlq.stage': 'decode' });
    expect(poison?.value).toBe('{not json');
  });

  it('loses nothing and duplicates nothing when the worker is SIGKILLed again and again', async () => {
    const f = await newFixture();
    f.startWorker('w1');
    let next = 1;
    for (let round = 0; round < 4; round++) {
      // Changes keep arriving while the worker dies, so kills land mid-transaction and mid-restore.
      const producing = (async () => {
        for (let chunk = 0; chunk < 10; chunk++) {
          await workload(f, next, next + 40);
          next += 40;
          await new Promise((r) => setTimeout(r, 150));
        }
      })();
      await new Promise((r) => setTimeout(r, 1_500 + Math.random() * 1_500));
      await f.stopWorker('w1', 'SIGKILL');
      f.startWorker('w1');
      await producing;
    }
    expect(await f.converge(90_000)).toBeUndefined();
    // The kills left aborted transactions in the repartition topic; once idle, the group still
    // commits past them (its fetch position, not only "last record + 1"), so its lag reaches 0.
    const groupId = `${f.id}-processor`;
    let lag: readonly { topic: string; partition: number; lag: bigint | null }[] = [];
    for (const deadline = Date.now() + 20_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 500))) {
      lag = await f.admin.groupLag(groupId);
      if (lag.length > 0 && lag.every((p) => p.lag === 0n)) break;
    }
    expect(lag.filter((p) => p.lag !== 0n).map((p) => `${p.topic}[${p.partition}] lag ${p.lag}`)).toEqual([]);
    await f.stopWorker('w1');
    // No order has more processed-order records than it had input changes (no duplicate emissions).
    const perKey = new Map<number, number>();
    for (const record of await f.all(f.topics.processedOrders)) {
      const orderId = (JSON.parse(record.key) as { order_id: number }).order_id;
      perKey.set(orderId, (perKey.get(orderId) ?? 0) + 1);
    }
    for (const [orderId, records] of perKey) {
      // An emitted record per change, plus the tombstone of a cancellation or delete.
      expect(records, `order ${orderId}`).toBeLessThanOrEqual((f.changesPerOrder.get(orderId) ?? 0) + 1);
    }
  });

  it('gives with two workers in one group exactly the outputs of one', async () => {
    const f = await newFixture();
    f.startWorker('w1');
    f.startWorker('w2');
    await workload(f, 1, 600);
    await f.upsertCustomer(4, 'GOLD');
    await workload(f, 600, 700);
    expect(await f.converge(90_000)).toBeUndefined();
  });

  describe('orders that change customer, across partitions', () => {
    /**
     * Moves live orders to a neighbouring customer (another partition: customer c is task c mod 3),
     * some there and back again, while other changes keep arriving, and checks the outputs equal
     * the final source rows: nothing lost, nothing doubled. Measured on the old state keyed by
     * order id alone: 35 of 200 moved orders vanished.
     */
    async function moveWhileProducing(f: StreamFixture): Promise<number> {
      await workload(f, 1, 400);
      let moved = 0;
      for (let round = 0; round < 4; round++) {
        const moves: SourceOrder[] = [];
        for (const o of [...f.orders.values()]) {
          if (o.status === 'CANCELLED' || (o.id + round) % 3 !== 0) continue;
          moves.push({ ...o, customerId: 1 + (o.customerId % 20) });
        }
        await f.upsertOrders(moves);
        moved += moves.length;
        await workload(f, 400 + round * 50, 450 + round * 50);
        // Some go straight back, so one worker may read "there" and "back" of both partitions in any order.
        await f.upsertOrders(moves.filter((o) => o.id % 4 === 0).map((o) => ({ ...o, customerId: 1 + ((o.customerId + 18) % 20) })));
      }
      return moved;
    }

    it('with one worker, which owns both partitions of every move', async () => {
      const f = await newFixture();
      f.startWorker('w1');
      const moved = await moveWhileProducing(f);
      expect(moved).toBeGreaterThan(200);
      expect(await f.converge(90_000)).toBeUndefined();
      // Independent check of the totals: the live processed orders are exactly the source's live orders.
      const live = [...f.orders.values()].filter((o) => o.status !== 'CANCELLED').length;
      expect((await f.latest(f.topics.processedOrders)).size).toBe(live);
    });

    it('with two workers, while one of them is SIGKILLed mid-way', async () => {
      const f = await newFixture();
      f.startWorker('w1');
      f.startWorker('w2');
      const moving = moveWhileProducing(f);
      await new Promise((r) => setTimeout(r, 2_000));
      await f.stopWorker('w2', 'SIGKILL');
      f.startWorker('w2');
      await moving;
      expect(await f.converge(120_000)).toBeUndefined();
      const live = [...f.orders.values()].filter((o) => o.status !== 'CANCELLED').length;
      expect((await f.latest(f.topics.processedOrders)).size).toBe(live);
    });
  });

  it('dead-letters an invalid customer record once, with its reason, and drops the customer from the join', async () => {
    const f = await newFixture();
    f.startWorker('w1');
    await workload(f, 1, 100);
    expect(await f.converge()).toBeUndefined();
    // Customer 5 becomes DIAMOND, a tier the rules do not know: the batch skips its orders, so must the stream.
    await f.sendRaw(f.topics.customers, '{"id":5}', JSON.stringify({ id: 5, name: 'c5', tier: 'DIAMOND', __op: 'u' }), 0);
    f.customers.delete(5);
    expect(await f.converge()).toBeUndefined();
    // A restart re-reads the customers topic from the beginning: the dead letter must not be repeated.
    await f.stopWorker('w1', 'SIGKILL');
    f.startWorker('w1');
    await workload(f, 100, 120);
    expect(await f.converge()).toBeUndefined();
    await f.stopWorker('w1');
    const dead = (await f.all(f.topics.deadLetter)).filter((d) => d.headers['dlq.stage'] === 'reference');
    expect(dead.map((d) => d.headers['dlq.reason'])).toEqual(['customer record: unknown customer tier "DIAMOND"']);
    expect(dead[0]?.headers).toMatchObject({ 'dlq.source.topic': f.topics.customers, 'dlq.source.partition': '0' });
  });

  it('commits past orders that waited and were dead-lettered, so a restart does not dead-letter them again', async () => {
    const f = await newFixture();
    f.startWorker('w1');
    // Customer 777 never arrives: the order waits missingReferenceWait (3 s), then is dead-lettered, with no later record in its partition.
    await f.upsertOrders([order(5001, { customerId: 777 })]);
    f.orders.delete(5001);
    const deadline = Date.now() + 30_000;
    const waited = async () => (await f.all(f.topics.deadLetter)).filter((d) => d.headers['dlq.reason']?.startsWith('customer 777 of order 5001')).length;
    while ((await waited()) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
    expect(await waited()).toBe(1);
    await new Promise((r) => setTimeout(r, 1_000));
    await f.stopWorker('w1', 'SIGKILL');
    f.startWorker('w1');
    await workload(f, 1, 60);
    expect(await f.converge()).toBeUndefined();
    await new Promise((r) => setTimeout(r, 4_000));
    await f.stopWorker('w1');
    expect(await waited()).toBe(1);
  });
});

