import { describe, expect, it } from 'vitest';
import type { ConsumedRecord } from '../clients/kafka.ts';
import { InMemoryTables } from './reference-tables.ts';
import { TableFeed } from './table-feed.ts';

const topics = { customers: 'cdc.public.customers', products: 'cdc.public.products' };

function record(topic: string, partition: number, offset: bigint, key: object, value: object | null): ConsumedRecord {
  return { topic, partition, offset, key: Buffer.from(JSON.stringify(key)), value: value === null ? null : Buffer.from(JSON.stringify(value)), headers: {}, timestamp: 0n } as unknown as ConsumedRecord;
}

describe('TableFeed', () => {
  it('applies a valid customer and reports a tier change; the owner of the partition commits it', () => {
    const tables = new InMemoryTables();
    const feed = new TableFeed(topics, tables, new Set([0]), new Map());
    expect(feed.apply(record(topics.customers, 0, 7n, { id: 5 }, { id: 5, tier: 'GOLD' }))).toEqual({ customer: 5, commit: { topic: topics.customers, partition: 0, offset: 8n } });
    expect(tables.customer(5)).toEqual({ id: 5, tier: 'GOLD' });
    // Same tier again: nothing to recompute.
    expect(feed.apply(record(topics.customers, 0, 8n, { id: 5 }, { id: 5, tier: 'GOLD' }))).toEqual({ commit: { topic: topics.customers, partition: 0, offset: 9n } });
  });

  it('an invalid tier removes the customer from the join and is dead-lettered by the owner only', () => {
    const owner = new InMemoryTables();
    const other = new InMemoryTables();
    const ownerFeed = new TableFeed(topics, owner, new Set([0, 3]), new Map());
    const otherFeed = new TableFeed(topics, other, new Set([1, 2]), new Map());
    for (const [feed] of [[ownerFeed], [otherFeed]] as const) feed.apply(record(topics.customers, 0, 1n, { id: 5 }, { id: 5, tier: 'GOLD' }));
    const diamond = record(topics.customers, 0, 2n, { id: 5 }, { id: 5, tier: 'DIAMOND' });
    expect(ownerFeed.apply(diamond)).toEqual({ customer: 5, deadLetter: 'customer record: unknown customer tier "DIAMOND"', commit: { topic: topics.customers, partition: 0, offset: 3n } });
    expect(otherFeed.apply(diamond)).toEqual({ customer: 5 });
    expect(owner.customer(5)).toBeUndefined();
    expect(other.customer(5)).toBeUndefined();
  });

  it('does not dead-letter again what the group committed past (a restart re-reads the table)', () => {
    const feed = new TableFeed(topics, new InMemoryTables(), new Set([0]), new Map([[`${topics.products}\u00000`, 10n]]));
    const before = feed.apply(record(topics.products, 0, 9n, { id: 1 }, { id: 1, category: '' }));
    expect(before.deadLetter).toBeUndefined();
    const after = feed.apply(record(topics.products, 0, 10n, { id: 2 }, { id: 2, category: '' }));
    expect(after.deadLetter).toBe('product record: missing product category');
  });

  it('an undecodable key is still dead-lettered, with nothing to remove', () => {
    const feed = new TableFeed(topics, new InMemoryTables(), new Set([0]), new Map());
    const r = { ...record(topics.customers, 0, 0n, {}, null), key: Buffer.from('garbage') } as ConsumedRecord;
    expect(feed.apply(r)).toEqual({ deadLetter: 'customer record: key: not valid JSON', commit: { topic: topics.customers, partition: 0, offset: 1n } });
  });
});
