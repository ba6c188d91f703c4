import { describe, expect, it } from 'vitest';
import { compareColumns, compareKeys, Cursor, differingBuckets, displayKey, mergeDrill } from './reconcile.ts';
import { TABLE_SPECS } from './tables.ts';

async function* rows(list: readonly Record<string, string>[]): AsyncGenerator<{ k0: string; h: string }> {
  for (const r of list) yield r as { k0: string; h: string };
}

async function merge(batch: Record<string, string>[], stream: Record<string, string>[], limit = 10) {
  const b = new Cursor(rows(batch));
  const s = new Cursor(rows(stream));
  await Promise.all([b.advance(), s.advance()]);
  return mergeDrill(TABLE_SPECS.processed_orders, b, s, limit);
}

describe('drill-down merge of two key-ordered streams', () => {
  it('finds each kind of difference exactly once', async () => {
    const out = await merge(
      [{ k0: '1', h: 'a' }, { k0: '2', h: 'b' }, { k0: '4', h: 'd' }, { k0: '5', h: 'e' }],
      [{ k0: '1', h: 'a' }, { k0: '3', h: 'c' }, { k0: '4', h: 'X' }, { k0: '5', h: 'e' }, { k0: '5', h: 'e2' }, { k0: '9', h: 'z' }],
    );
    expect(out.missingInStream).toBe(1);
    expect(out.missingInStreamKeys).toEqual([['2']]);
    expect(out.missingInBatch).toBe(2);
    expect(out.missingInBatchKeys).toEqual([['3'], ['9']]);
    expect(out.mismatched).toBe(2);
    expect(out.mismatches.map((m) => m.key[0])).toEqual(['4', '5']);
    expect(out.mismatches[1]?.reason).toMatch(/holds this key 2 times/);
    expect(out.duplicates).toBe(1);
    expect([out.batchRows, out.streamRows]).toEqual([4, 6]);
  });

  it('keeps at most the limit of keys for details, but counts them all', async () => {
    const batch = Array.from({ length: 5 }, (_, i) => ({ k0: String(i), h: 'x' }));
    const out = await merge(batch, [], 2);
    expect(out.missingInStream).toBe(5);
    expect(out.missingInStreamKeys).toHaveLength(2);
  });

  it('counts each difference under the channel of its order, whatever the limit (a missing store file shows as store rows)', async () => {
    const store = (n: number) => String(2_000_000_000_000 + n);
    const partner = (n: number) => String(1_000_000_000_000 + n);
    const out = await merge(
      [{ k0: '7', h: 'a' }, { k0: partner(1), h: 'p' }, { k0: store(1), h: 's' }, { k0: store(2), h: 's' }],
      [{ k0: '7', h: 'a' }, { k0: partner(1), h: 'P' }],
      1,
    );
    expect(out.channels).toEqual({
      web: { missingInStream: 0, missingInBatch: 0, mismatched: 0 },
      partner: { missingInStream: 0, missingInBatch: 0, mismatched: 1 },
      store: { missingInStream: 2, missingInBatch: 0, mismatched: 0 },
    });
  });

  it('counts each fraud_alerts difference under its pattern, the thresholds under the empty one', async () => {
    const b = new Cursor(rows([
      { k0: '1', k1: '', h: 'a' },
      { k0: '1', k1: 'velocity', h: 'v' },
      { k0: '2', k1: 'fan-in', h: 'f' },
      { k0: '3', k1: 'fan-in', h: 'g' },
    ]));
    const s = new Cursor(rows([
      { k0: '1', k1: '', h: 'a' },
      { k0: '1', k1: 'velocity', h: 'V' },
      { k0: '3', k1: 'fan-in', h: 'g' },
      { k0: '4', k1: 'escalation', h: 'e' },
    ]));
    await Promise.all([b.advance(), s.advance()]);
    const out = await mergeDrill(TABLE_SPECS.fraud_alerts, b, s, 10);
    expect(Object.fromEntries(out.patterns)).toEqual({
      velocity: { missingInStream: 0, missingInBatch: 0, mismatched: 1 },
      'fan-in': { missingInStream: 1, missingInBatch: 0, mismatched: 0 },
      escalation: { missingInStream: 0, missingInBatch: 1, mismatched: 0 },
    });
  });

  it('orders integer keys numerically and text bytewise, as both databases do', () => {
    expect(compareKeys(TABLE_SPECS.processed_orders, ['9'], ['10'])).toBeLessThan(0);
    expect(compareKeys(TABLE_SPECS.order_summaries, ['7', '1795608300'], ['7', '1795608000'])).toBeGreaterThan(0);
    const textKey = { ...TABLE_SPECS.processed_orders, key: [{ name: 'code', kind: 'text' as const }] };
    expect(compareKeys(textKey, ['B'], ['a'])).toBeLessThan(0);
  });
});

describe('first-pass comparison and row details', () => {
  it('a bucket differs when any fingerprint differs or it exists on one side', () => {
    const batch = new Map([[0, [2n, 10n]], [1, [1n, 5n]], [2, [1n, 1n]]]);
    const stream = new Map([[0, [2n, 10n]], [1, [1n, 6n]], [3, [1n, 1n]]]);
    expect(differingBuckets(batch, stream)).toEqual([1, 2, 3]);
  });

  it('names each differing column with both values; copies of a duplicated key are shown together', () => {
    const spec = TABLE_SPECS.fraud_alerts;
    const batch = { k0: '5', c0: '7', c1: '12000.00', c2: '4:HIGH', c3: 'r', c4: '2026-11-25T12:00:00Z' };
    expect(compareColumns(spec, batch, [{ ...batch, c1: '12000.01' }])).toEqual([{ name: 'final_amount', batch: '12000.00', stream: '12000.01' }]);
    expect(compareColumns(spec, batch, [batch, { ...batch, c0: '8' }])).toEqual([{ name: 'customer_id', batch: '7', stream: '7 | 8' }]);
    expect(compareColumns(spec, undefined, [batch])[0]).toEqual({ name: 'customer_id', batch: null, stream: '7' });
  });

  it('shows composite keys with names and ISO timestamps', () => {
    expect(displayKey(TABLE_SPECS.order_summaries, ['7', '1795608300'])).toBe('customer_id=7 window_start=2026-11-25T12:05:00Z');
    expect(displayKey(TABLE_SPECS.processed_orders, ['42'])).toBe('42');
  });
});
