import { describe, expect, it } from 'vitest';
import type { ConsumedRecord } from '../clients/kafka.ts';
import { classifyReason, countByReason, matchesFilter, parseDeadLetter, planReplay, replaySignalId, type DeadLetter, type OrderFacts } from './dead-letters.ts';

const topics = { orders: 'cdc.public.orders', ordersByCustomer: 'stream-migrate.processor.orders-by-customer', customers: 'cdc.public.customers', products: 'cdc.public.products' };

function record(offset: number, key: string | null, value: string | null, headers: Record<string, string>): ConsumedRecord {
  return { topic: 'dlq', partition: 0, offset: BigInt(offset), key: key === null ? null : Buffer.from(key), value: value === null ? null : Buffer.from(value), headers, timestamp: 0 };
}

const headers = (stage: string, reason: string, source: string, at = '2026-11-25T10:00:00.000Z') => ({
  'dlq.reason': reason,
  'dlq.stage': stage,
  'dlq.source.topic': source,
  'dlq.source.partition': '2',
  'dlq.source.offset': '41',
  'dlq.at': at,
});

const joinLetter = parseDeadLetter(record(0, '9003', 'u|9003|999|4|1|1250|PLACED|1764064800000|', headers('join', 'customer 999 of order 9003 not found within 3s', topics.ordersByCustomer)), topics);
const decodeLetter = parseDeadLetter(record(1, '{"id":9002}', '{"id":9002,"customer_id":1,"product_id":2,"status":"LOST"}', headers('decode', 'unknown order status "LOST"', topics.orders, '2026-11-25T11:00:00.000Z')), topics);
const poison = parseDeadLetter(record(2, null, '{not json', headers('decode', 'not valid JSON', topics.orders)), topics);
const tier = parseDeadLetter(record(3, '{"id":5}', '{"id":5,"tier":"DIAMOND"}', headers('reference', 'unknown customer tier "DIAMOND"', topics.customers)), topics);

describe('parseDeadLetter', () => {
  it('reads the order, customer and product from a repartition record', () => {
    expect(joinLetter).toMatchObject({ stage: 'join', reasonClass: 'missing-customer', table: 'orders', orderId: 9003, customerId: 999, productId: 4, offset: 0n });
    expect(joinLetter.source).toEqual({ topic: topics.ordersByCustomer, partition: 2, offset: '41' });
    const deleted = parseDeadLetter(record(5, '77', 'd|77|12|', headers('join', 'undecodable repartition record', topics.ordersByCustomer)), topics);
    expect(deleted).toMatchObject({ orderId: 77, customerId: 12, reasonClass: 'undecodable' });
  });

  it('reads the order from a Debezium key or value, and none from a customer record or unreadable bytes', () => {
    expect(decodeLetter).toMatchObject({ orderId: 9002, customerId: 1, productId: 2, reasonClass: 'invalid-row' });
    expect(poison).toMatchObject({ orderId: null, reasonClass: 'invalid-json' });
    expect(tier).toMatchObject({ table: 'customers', orderId: null, reasonClass: 'invalid-reference' });
  });
});

describe('filters and counts', () => {
  it('matches a reason class or text, and a time', () => {
    expect(matchesFilter(joinLetter, { reason: 'missing-customer' })).toBe(true);
    expect(matchesFilter(joinLetter, { reason: 'ORDER 9003' })).toBe(true);
    expect(matchesFilter(decodeLetter, { reason: 'missing-customer' })).toBe(false);
    expect(matchesFilter(decodeLetter, { sinceMs: Date.parse('2026-11-25T10:30:00Z') })).toBe(true);
    expect(matchesFilter(joinLetter, { sinceMs: Date.parse('2026-11-25T10:30:00Z') })).toBe(false);
    expect(classifyReason('product 4 of order 1 not found within 30s')).toBe('missing-product');
    expect(countByReason([joinLetter, decodeLetter, poison, joinLetter])).toEqual([
      { reason: 'missing-customer', count: 2 },
      { reason: 'invalid-json', count: 1 },
      { reason: 'invalid-row', count: 1 },
    ]);
  });
});

describe('planReplay', () => {
  const present: OrderFacts = { customerId: 999, productId: 4, customerExists: true, productExists: true };
  const second: DeadLetter = { ...joinLetter, offset: 7n };

  it('replays orders that exist with their references, once per order, and says why the others are skipped', () => {
    const facts = new Map<number, OrderFacts>([
      [9003, present],
      [9002, { ...present, customerId: 1, customerExists: false }],
    ]);
    const plan = planReplay([joinLetter, second, decodeLetter, poison, tier], new Set(), facts);
    expect(plan.replay.map((d) => d.offset)).toEqual([0n, 7n]);
    expect(plan.orderIds).toEqual([9003]);
    expect(plan.skipped.map((s) => s.reason)).toEqual([
      'customer 1 of order 9002 still missing in the source',
      'names no order (its key and value cannot be read)',
      'a customer record, not an order: fix the row at the source and its next change is streamed',
    ]);
  });

  it('skips deleted orders and what an earlier replay took', () => {
    const plan = planReplay([joinLetter, second], new Set(['dlq/0/0']), new Map());
    expect(plan.alreadyReplayed.map((d) => d.offset)).toEqual([0n]);
    expect(plan.replay).toEqual([]);
    expect(plan.skipped[0]?.reason).toBe('order 9003 no longer exists in the source');
  });

  it('derives the signal id from exactly the dead letters replayed, in any order', () => {
    expect(replaySignalId([joinLetter, second])).toBe(replaySignalId([second, joinLetter]));
    expect(replaySignalId([joinLetter])).not.toBe(replaySignalId([joinLetter, second]));
    expect(replaySignalId([joinLetter])).toMatch(/^dlq-replay-[0-9a-f]{32}$/);
  });
});
