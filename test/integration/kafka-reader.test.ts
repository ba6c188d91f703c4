import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createConsumer,
  createKafkaAdmin,
  createPartitionReader,
  createProducer,
  createTransactionalProducer,
  type ConsumedRecord,
  type KafkaAdmin,
  type KafkaConsumer,
  type OutgoingRecord,
  type TopicAssignment,
} from '../../src/clients/kafka.ts';
import { testConfig } from './test-env.ts';

const { config } = testConfig();
const kafka = config.kafka;
const unique = (what: string): string => `it-kreader-${what}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
const text = (b: Buffer | null): string | null => (b === null ? null : b.toString('utf8'));

/** Topic → partitions, for comparing assignments. */
const byTopic = (assignment: readonly TopicAssignment[]): Map<string, readonly number[]> => new Map(assignment.map((a) => [a.topic, a.partitions]));

/** Polls every consumer together (keeping them all in the group) until `done` holds or `timeoutMs` passes. */
async function pollUntil(consumers: readonly KafkaConsumer[], done: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the group to settle');
    await Promise.all(consumers.map((c) => c.poll({ maxWaitMs: 200 })));
  }
}

describe('co-partitioned group assignment and assignment tracking', () => {
  let admin: KafkaAdmin;
  const topics: string[] = [];

  beforeAll(() => {
    admin = createKafkaAdmin(kafka, 'it-reader-admin', { retries: 3 });
  });
  afterAll(async () => {
    await admin.deleteTopics(topics);
    await admin.close();
  });

  // With 4 partitions the library's default round robin happens to line up as well (it continues
  // its member counter across topics, and 4 % 2 = 0); with 3 it does not.
  it.each([4, 3])('gives two co-partitioned members the same partition numbers of two %i-partition topics, disjoint and covering', async (count) => {
    const orders = unique('cp-orders');
    const customers = unique('cp-customers');
    topics.push(orders, customers);
    await admin.createTopics([
      { name: orders, partitions: count, replicationFactor: 1 },
      { name: customers, partitions: count, replicationFactor: 1 },
    ]);
    const groupId = unique('cp-group');
    const members = [0, 1].map((i) => createConsumer(kafka, { groupId, topics: [orders, customers], copartitioned: true, clientSuffix: `it-cp-${i}` }));
    try {
      const settled = (): boolean => {
        const [a, b] = members.map((m) => m.generation());
        return a !== null && a === b && members.every((m) => m.assignment().length > 0);
      };
      await pollUntil(members, settled);
      const numbers = members.map((member) => {
        const owned = byTopic(member.assignment());
        expect([...owned.keys()].sort()).toEqual([orders, customers].sort());
        // The co-partitioning property: the same partition numbers of each topic.
        expect(owned.get(orders)).toEqual(owned.get(customers));
        return owned.get(orders) ?? [];
      });
      expect(numbers.every((n) => n.length > 0)).toBe(true);
      expect(numbers.flat().sort()).toEqual(Array.from({ length: count }, (_, i) => i));
    } finally {
      await Promise.all(members.map((m) => m.close()));
    }
  });

  it('reports the assignment and its generation, both changing when a second member joins', async () => {
    const topic = unique('assign');
    topics.push(topic);
    await admin.createTopics([{ name: topic, partitions: 4, replicationFactor: 1 }]);
    const groupId = unique('assign-group');
    const first = createConsumer(kafka, { groupId, topics: [topic], clientSuffix: 'it-assign-1' });
    const second = createConsumer(kafka, { groupId, topics: [topic], clientSuffix: 'it-assign-2' });
    try {
      expect(first.assignment()).toEqual([]);
      expect(first.generation()).toBeNull();
      await first.poll({ maxWaitMs: 100 });
      expect(first.assignment()).toEqual([{ topic, partitions: [0, 1, 2, 3] }]);
      const generation = first.generation();
      expect(generation).not.toBeNull();

      await pollUntil([first, second], () => first.generation() !== generation && first.generation() === second.generation());
      const mine = byTopic(first.assignment()).get(topic) ?? [];
      const theirs = byTopic(second.assignment()).get(topic) ?? [];
      expect(mine.length).toBeGreaterThan(0);
      expect(mine.length).toBeLessThan(4);
      expect([...mine, ...theirs].sort()).toEqual([0, 1, 2, 3]);
      expect(first.generation()).toBeGreaterThan(generation ?? Infinity);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });
});

describe('the group-less partition reader', () => {
  let admin: KafkaAdmin;
  const topics: string[] = [];

  beforeAll(() => {
    admin = createKafkaAdmin(kafka, 'it-reader-admin', { retries: 3 });
  });
  afterAll(async () => {
    await admin.deleteTopics(topics);
    await admin.close();
  });

  const createTopic = async (what: string, partitions: number): Promise<string> => {
    const name = unique(what);
    topics.push(name);
    await admin.createTopics([{ name, partitions, replicationFactor: 1 }]);
    return name;
  };

  it('reads committed transactions exactly once, never aborted ones, and stops before an open transaction', async () => {
    const topic = await createTopic('tx', 2);
    const producer = createTransactionalProducer(kafka, { transactionalId: unique('txid') });
    const expected: string[] = [];
    try {
      await producer.init();
      // One producer id aborting several times: the library's own filter would let the earlier
      // aborted ranges through.
      for (const [round, outcome] of (['commit', 'abort', 'commit', 'abort', 'abort', 'commit', 'abort'] as const).entries()) {
        await producer.begin();
        const records = Array.from({ length: 50 }, (_, i) => ({ topic, key: `k-${round}-${i}`, value: `${outcome}-${round}-${i}`, headers: { round: String(round) } }));
        await producer.send(records);
        if (outcome === 'commit') {
          await producer.commit();
          expected.push(...records.map((r) => r.value));
        } else {
          await producer.abort();
        }
      }
      // A transaction still open: its records are past the last stable offset.
      await producer.begin();
      await producer.send([{ topic, key: 'k-open', value: 'open', partition: 0 }]);

      const stable = await admin.lastStableOffsets(topic);
      const ends = await admin.endOffsets(topic);
      expect(stable[0]!.offset).toBeLessThan(ends[0]!.offset);

      const reader = createPartitionReader(kafka, { topic, clientSuffix: 'it-reader-tx' });
      try {
        const seen: ConsumedRecord[] = [];
        const started = Date.now();
        const count = await reader.readToEnd((batch) => void seen.push(...batch));
        expect(Date.now() - started).toBeLessThan(10_000);
        expect(count).toBe(expected.length);
        expect(seen.map((r) => text(r.value)).sort()).toEqual([...expected].sort());
        const first = seen.find((r) => text(r.value) === 'commit-0-7');
        expect(text(first?.key ?? null)).toBe('k-0-7');
        expect(first?.headers).toEqual({ round: '0' });
        expect(typeof first?.offset).toBe('bigint');
        expect(first?.timestamp).toBeGreaterThan(Date.now() - 600_000);

        // Nothing new is visible while the transaction is open; its commit makes it readable.
        expect(await reader.poll({ maxWaitMs: 200 })).toEqual([]);
        await producer.commit();
        const after: ConsumedRecord[] = [];
        const deadline = Date.now() + 10_000;
        while (after.length === 0 && Date.now() < deadline) after.push(...(await reader.poll({ maxWaitMs: 500 })));
        expect(after.map((r) => text(r.value))).toEqual(['open']);
      } finally {
        await reader.close();
      }
    } finally {
      await producer.close();
    }
  });

  it('stops at the end taken when readToEnd starts while records keep arriving; poll then returns the newer ones', async () => {
    const topic = await createTopic('follow', 3);
    const producer = createProducer(kafka, 'it-reader-follow');
    const reader = createPartitionReader(kafka, { topic, clientSuffix: 'it-reader-follow', maxBytesPerFetch: 64 * 1024 });
    try {
      // Small sends make small batches, so 64 KiB fetches take many rounds (a batch is never split).
      for (let from = 0; from < 6_000; from += 300) {
        const initial: OutgoingRecord[] = Array.from({ length: 300 }, (_, i) => ({ topic, key: `k-${from + i}`, value: `initial-${from + i}-${'x'.repeat(200)}` }));
        await producer.send(initial);
      }

      let batches = 0;
      let produced = 0;
      const seen: string[] = [];
      const count = await reader.readToEnd(async (batch) => {
        batches += 1;
        seen.push(...batch.map((r) => text(r.value) ?? ''));
        // Records keep arriving while the read is in progress.
        await producer.send(Array.from({ length: 100 }, (_, i) => ({ topic, key: `late-${produced + i}`, value: `late-${produced + i}` })));
        produced += 100;
      });
      // Small fetches: the read took several batches, with late records produced after each.
      expect(batches).toBeGreaterThan(3);
      expect(count).toBe(6_000);
      expect(new Set(seen).size).toBe(6_000);
      expect(seen.every((v) => v.startsWith('initial-'))).toBe(true);

      const late: string[] = [];
      const deadline = Date.now() + 20_000;
      while (late.length < produced && Date.now() < deadline) late.push(...(await reader.poll({ maxWaitMs: 500, maxRecords: 150 })).map((r) => text(r.value) ?? ''));
      expect(late.sort()).toEqual(Array.from({ length: produced }, (_, i) => `late-${i}`).sort());
      expect(await reader.poll({ maxWaitMs: 300 })).toEqual([]);
    } finally {
      await reader.close();
      await producer.close();
    }
  });

  it('returns 0 at once for an empty topic', async () => {
    const topic = await createTopic('empty', 3);
    const reader = createPartitionReader(kafka, { topic, clientSuffix: 'it-reader-empty' });
    try {
      let calls = 0;
      const started = Date.now();
      expect(await reader.readToEnd(() => void (calls += 1))).toBe(0);
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(calls).toBe(0);
    } finally {
      await reader.close();
    }
  });

  it('reads only the requested partitions', async () => {
    const topic = await createTopic('subset', 4);
    const producer = createProducer(kafka, 'it-reader-subset');
    try {
      await producer.send(Array.from({ length: 400 }, (_, i) => ({ topic, partition: i % 4, key: `k-${i}`, value: `p${i % 4}-${i}` })));
    } finally {
      await producer.close();
    }
    const reader = createPartitionReader(kafka, { topic, partitions: [3, 1], clientSuffix: 'it-reader-subset' });
    try {
      const seen: ConsumedRecord[] = [];
      expect(await reader.readToEnd((batch) => void seen.push(...batch))).toBe(200);
      expect(new Set(seen.map((r) => r.partition))).toEqual(new Set([1, 3]));
      expect(seen.every((r) => text(r.value)?.startsWith(`p${r.partition}-`))).toBe(true);
      // Offsets rise within each partition: no batch delivered twice or out of order.
      for (const p of [1, 3]) {
        const offsets = seen.filter((r) => r.partition === p).map((r) => r.offset);
        expect(offsets).toEqual(Array.from({ length: 100 }, (_, i) => BigInt(i)));
      }
    } finally {
      await reader.close();
    }
    const wrong = createPartitionReader(kafka, { topic, partitions: [4] });
    try {
      await expect(wrong.readToEnd(() => undefined)).rejects.toThrow(/has 4 partitions; cannot read partition 4/);
    } finally {
      await wrong.close();
    }
  });

  it('restores a large partition in bounded batches, quickly', async () => {
    const topic = await createTopic('restore', 1);
    const total = 200_000;
    const producer = createProducer(kafka, 'it-reader-restore');
    try {
      for (let from = 0; from < total; from += 2_000) {
        await producer.send(Array.from({ length: 2_000 }, (_, i) => ({ topic, key: `order-${from + i}`, value: JSON.stringify({ id: from + i, pad: 'x'.repeat(270) }) })));
      }
    } finally {
      await producer.close();
    }
    const reader = createPartitionReader(kafka, { topic, clientSuffix: 'it-reader-restore' });
    try {
      let batches = 0;
      let largest = 0;
      let next = 0n;
      const started = performance.now();
      const count = await reader.readToEnd((batch) => {
        batches += 1;
        largest = Math.max(largest, batch.length);
        for (const r of batch) {
          if (r.offset !== next) throw new Error(`expected offset ${next}, got ${r.offset}`);
          next += 1n;
        }
      });
      const seconds = (performance.now() - started) / 1000;
      console.log(`restore of ${count} records (~300 bytes) from one partition: ${Math.round(count / seconds)} records/s, ${batches} batches, largest ${largest}`);
      expect(count).toBe(total);
      // Streamed, not read whole: no batch holds more than a few thousand records.
      expect(largest).toBeLessThan(total / 10);
      expect(seconds).toBeLessThan(30);
    } finally {
      await reader.close();
    }
  });
});
