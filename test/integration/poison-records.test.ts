import crypto from 'node:crypto';
import { execa, type ResultPromise } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import type { SourceOrder } from '../../src/domain/process-order.ts';
import { createProducer } from '../../src/clients/kafka.ts';
import { loadConfig } from '../../src/config/load.ts';
import { BIN } from './cli.ts';
import { runId, waitFor } from './connector-fixture.ts';
import { StreamFixture } from './stream-fixture.ts';
import { freePort } from './ports.ts';

const T0 = Date.UTC(2026, 10, 25, 10, 0, 0);
/** Input topics take records up to 16 MiB here, so a 10 MB value reaches the processor at all (the broker's default is 1 MiB). */
const LARGE_TOPIC = { 'max.message.bytes': String(16 * 1024 * 1024) };
const TEN_MB = 10 * 1024 * 1024;

interface Poison {
  readonly kind: string;
  readonly key: string;
  readonly value: (id: number) => Buffer | string;
  /** The reason the dead letter must carry (prefixed by `customer record: ` / `product record: ` for those topics). */
  readonly reason: string | RegExp;
}

const orderRow = (id: number) => ({ id, customer_id: 1, product_id: 1, quantity: 1, amount: '10.00', status: 'PAID', created_at: '2026-11-25T10:00:00Z', __op: 'c' });

/** The malformed kinds sent to every input topic; `id` is the key's id. */
const POISON: readonly Poison[] = [
  { kind: 'random bytes', key: '{"id":ID}', value: () => crypto.randomBytes(512), reason: /^not valid JSON$|^JSON is not an object$/ },
  { kind: 'truncated JSON', key: '{"id":ID}', value: (id) => JSON.stringify({ ...orderRow(id), tier: 'GOLD', category: 'books' }).slice(0, 40), reason: 'not valid JSON' },
  { kind: 'wrong types', key: '{"id":ID}', value: (id) => JSON.stringify({ id, customer_id: 'one', product_id: [1], quantity: {}, amount: 10, status: 7, tier: 3, category: 42 }), reason: /must be|unknown|missing product category/ },
  { kind: '10 MB value', key: '{"id":ID}', value: () => Buffer.alloc(TEN_MB, 0x61), reason: 'not valid JSON' },
  { kind: 'key that does not match the value', key: '{"id":ID}', value: (id) => JSON.stringify({ ...orderRow(id + 1), tier: 'GOLD', category: 'books' }), reason: /^key does not match value: key id \d+, value id \d+$/ },
];

let fixture: StreamFixture | undefined;
let worker: ResultPromise | undefined;
afterEach(async () => {
  worker?.kill('SIGKILL');
  await worker;
  worker = undefined;
  await fixture?.cleanup();
  fixture = undefined;
});

async function deadLetterMetrics(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^stream_migrate_processor_dead_letters_total\{reason="([^"]+)"\} (\d+)/.exec(line);
    if (match) out.set(match[1]!, Number(match[2]));
  }
  return out;
}

function order(id: number): SourceOrder {
  return { id, customerId: 1, productId: 1, quantity: 2, amountCents: 12_345 + id, status: 'PAID', createdAt: T0 + id * 1_000 };
}

describe('malformed CDC records in every input topic', () => {
  it('dead-letter with their reason, the partition keeps moving, and /metrics counts them', async () => {
    const f = (fixture = new StreamFixture(`itpoison${runId()}`, 2));
    const t = f.topics;
    const compact = { 'cleanup.policy': 'compact' };
    await f.admin.createTopics([
      { name: t.orders, partitions: 2, replicationFactor: 1, configs: { ...compact, ...LARGE_TOPIC } },
      { name: t.customers, partitions: 1, replicationFactor: 1, configs: { ...compact, ...LARGE_TOPIC } },
      { name: t.products, partitions: 1, replicationFactor: 1, configs: { ...compact, ...LARGE_TOPIC } },
      { name: t.ordersByCustomer, partitions: 2, replicationFactor: 1 },
      { name: t.ordersByProduct, partitions: 2, replicationFactor: 1, configs: compact },
      { name: t.changelog, partitions: 2, replicationFactor: 1, configs: compact },
      { name: t.processedOrders, partitions: 2, replicationFactor: 1, configs: compact },
      { name: t.orderSummaries, partitions: 2, replicationFactor: 1, configs: compact },
      { name: t.fraudAlerts, partitions: 2, replicationFactor: 1, configs: compact },
      // As the infrastructure phase makes it, from the configured stream-migrate.dlq topic.
      { name: t.deadLetter, partitions: 1, replicationFactor: 1, configs: { ...loadConfig({ cwd: f.cwd }).config.topics['stream-migrate.dlq']?.configs } },
    ]);
    await f.upsertCustomer(1, 'GOLD');
    await f.upsertProduct(1, 'books');
    await f.upsertOrders([order(2), order(4)]);

    // Every kind in every input topic; all orders on partition 0, followed there by good records.
    const sent: { topic: string; key: string; kind: string; prefix: string; reason: string | RegExp }[] = [];
    const producer = createProducer(loadConfig({ cwd: f.cwd }).config.kafka, 'itpoison-source');
    const inputs = [
      { topic: t.orders, firstId: 9000, prefix: '' },
      { topic: t.customers, firstId: 600, prefix: 'customer record: ' },
      { topic: t.products, firstId: 700, prefix: 'product record: ' },
    ];
    for (const { topic, firstId, prefix } of inputs) {
      for (const [i, poison] of POISON.entries()) {
        const id = firstId + i * 2;
        const key = poison.key.replace('ID', String(id));
        await producer.send([{ topic, key, value: poison.value(id), partition: 0 }]);
        sent.push({ topic, key, kind: poison.kind, prefix, reason: poison.reason });
      }
    }
    await producer.close();
    // Decided: a delete of an order the stream never saw retracts nothing, so it has no output and no dead letter.
    await f.sendRaw(t.orders, '{"id":9100}', JSON.stringify({ id: 9100, __op: 'd', __deleted: 'true' }), 0);
    await f.sendRaw(t.orders, '{"id":9100}', null, 0);

    const port = await freePort();
    worker = execa(BIN, ['processor', 'run', '--instance', 'w1', '--metrics-port', String(port)], { cwd: f.cwd, reject: false, all: true });
    worker.all?.on('data', (chunk: Buffer) => {
      if (process.env.SM_TEST_VERBOSE) process.stderr.write(`[w1] ${chunk.toString()}`);
    });

    // Later good records on the same partitions: a customer and a product change, new orders.
    await f.upsertCustomer(1, 'PLATINUM');
    await f.upsertProduct(1, 'electronics');
    await f.upsertOrders([order(6), order(8), order(10)]);
    expect(await f.converge(90_000)).toBeUndefined();

    const dead = await waitFor(
      'the dead letters',
      async () => {
        const records = await f.all(t.deadLetter);
        return records.length >= sent.length ? records : undefined;
      },
      60_000,
    );
    expect(dead).toHaveLength(sent.length);
    for (const expected of sent) {
      const letter = dead.find((d) => d.headers['dlq.source.topic'] === expected.topic && d.key === expected.key);
      expect(letter, `${expected.kind} in ${expected.topic}`).toBeDefined();
      const reason = letter!.headers['dlq.reason'] ?? '';
      expect(reason.startsWith(expected.prefix), `${expected.kind} in ${expected.topic}: ${reason}`).toBe(true);
      expect(reason.slice(expected.prefix.length), `${expected.kind} in ${expected.topic}`).toMatch(expected.reason);
      expect(letter!.headers['dlq.stage']).toBe(expected.topic === t.orders ? 'decode' : 'reference');
    }
    expect(dead.some((d) => d.key === '{"id":9100}')).toBe(false);

    const counted = await deadLetterMetrics(port);
    expect(counted.get('decode')).toBe(POISON.length);
    expect(counted.get('invalid-reference')).toBe(2 * POISON.length);
    expect(worker.exitCode).toBeNull();
  });
});
