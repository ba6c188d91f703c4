import { describe, expect, it } from 'vitest';
import { bucketCount, bucketOf, keyComponent, keyHash, parseTables, positiveMod, TABLE_SPECS } from './tables.ts';

describe('bucket arithmetic both engines share', () => {
  it('a single integer key buckets by its non-negative remainder', () => {
    expect(bucketOf(keyHash([42n]), 16)).toBe(10);
    expect(bucketOf(keyHash([-7n]), 16)).toBe(9);
    expect(positiveMod(-7n, 2n)).toBe(1n);
  });

  it('composite keys combine customer and window start with reductions that keep every step below 2^52', () => {
    const start = keyComponent('timestamp', '2026-11-25T12:05:00Z');
    expect(start).toBe(1_795_608_300n);
    const hash = keyHash([9_223_372_036_854_775_807n, start]);
    // (2^63−1 mod p) × 1000003 + (start mod p): p = 2^31−1, so 2^63−1 mod p = 1.
    expect(hash).toBe(1n * 1_000_003n + (1_795_608_300n % 2_147_483_647n));
    expect(hash < 2n ** 52n).toBe(true);
    expect(bucketOf(hash, 1024)).toBe(Number(hash % 1024n));
  });

  it('the two keys of a window differ in bucket input', () => {
    const a = keyHash([7n, keyComponent('timestamp', '2026-11-25T12:00:00Z')]);
    const b = keyHash([7n, keyComponent('timestamp', '2026-11-25T12:05:00Z')]);
    expect(a).not.toBe(b);
  });

  it('bucket counts aim at ~512 rows, as powers of two between 1 and 65 536', () => {
    expect(bucketCount(0)).toBe(1);
    expect(bucketCount(512)).toBe(1);
    expect(bucketCount(513)).toBe(2);
    expect(bucketCount(10_000_000)).toBe(32_768);
    expect(bucketCount(1e12)).toBe(65_536);
  });

  it('--tables picks known tables in a fixed order and names the unknown ones', () => {
    expect(parseTables(undefined).tables).toEqual(['processed_orders', 'order_summaries', 'fraud_alerts']);
    expect(parseTables('fraud_alerts, processed_orders')).toEqual({ tables: ['processed_orders', 'fraud_alerts'], unknown: [] });
    expect(parseTables('orders').unknown).toEqual(['orders']);
  });

  it('processing timestamps are left out of the comparison and say why', () => {
    expect(TABLE_SPECS.processed_orders.columns.map((c) => c.name)).not.toContain('processed_at');
    expect(TABLE_SPECS.fraud_alerts.excluded.map((e) => e.name)).toEqual(['alerted_at']);
    expect(TABLE_SPECS.order_summaries.key.map((c) => c.name)).toEqual(['customer_id', 'window_start']);
  });
});
