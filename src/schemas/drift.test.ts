import { describe, expect, it } from 'vitest';
import { compareTypes } from './columns.ts';
import { classifyChanges, diffColumns } from './drift.ts';
import { cdcValueSchema, registeredColumns, type RegisteredColumn } from './json-schema.ts';
import type { SourceColumn } from './columns.ts';

const orders: readonly SourceColumn[] = [
  { name: 'id', type: 'bigint', nullable: false, hasDefault: true, position: 1 },
  { name: 'customer_id', type: 'bigint', nullable: false, hasDefault: false, position: 2 },
  { name: 'product_id', type: 'bigint', nullable: false, hasDefault: false, position: 3 },
  { name: 'quantity', type: 'integer', nullable: false, hasDefault: false, position: 4 },
  { name: 'amount', type: 'numeric(12,2)', nullable: false, hasDefault: false, position: 5 },
  { name: 'status', type: 'text', nullable: false, hasDefault: false, position: 6 },
  { name: 'created_at', type: 'timestamp with time zone', nullable: false, hasDefault: true, position: 7 },
];
const registered: readonly RegisteredColumn[] = registeredColumns(cdcValueSchema('public.orders', orders)) ?? [];

const classify = (current: readonly SourceColumn[]) => classifyChanges('public.orders', diffColumns(registered, current));
const verdictOf = (c: ReturnType<typeof classify>[number], consumer: string) => c.consumers.find((v) => v.consumer === consumer)?.verdict;

describe('source schema drift', () => {
  it('reads back exactly the columns it registered', () => {
    expect(registered.map((c) => `${c.name} ${c.type}`)).toEqual(orders.map((c) => `${c.name} ${c.type}`));
    expect(classify(orders)).toEqual([]);
  });

  it('a new nullable column is compatible for every consumer', () => {
    const [change, ...rest] = classify([...orders, { name: 'coupon', type: 'text', nullable: true, hasDefault: false, position: 8 }]);
    expect(rest).toEqual([]);
    expect(change?.change.kind).toBe('added');
    expect(change?.verdict).toBe('compatible');
    expect(change?.consumers.map((v) => v.verdict)).toEqual(['compatible', 'compatible', 'compatible', 'compatible', 'compatible']);
  });

  it('a new NOT NULL column without a default is breaking (the schema), with a default it is not', () => {
    const [bare] = classify([...orders, { name: 'region', type: 'text', nullable: false, hasDefault: false, position: 8 }]);
    expect(bare?.verdict).toBe('breaking');
    expect(verdictOf(bare!, 'schema')).toBe('breaking');
    expect(verdictOf(bare!, 'processor')).toBe('compatible');
    const [withDefault] = classify([...orders, { name: 'region', type: 'text', nullable: false, hasDefault: true, position: 8 }]);
    expect(withDefault?.verdict).toBe('compatible');
  });

  it('dropping amount breaks the processor, the batch, the sinks and validation; dropping an unread column breaks nothing', () => {
    const [dropped] = classify(orders.filter((c) => c.name !== 'amount'));
    expect(dropped?.change).toEqual({ kind: 'dropped', column: 'amount', type: 'numeric(12,2)' });
    expect(dropped?.verdict).toBe('breaking');
    expect(dropped?.consumers.filter((v) => v.verdict === 'breaking').map((v) => v.consumer)).toEqual(['processor', 'batch', 'sinks', 'validation']);
    expect(verdictOf(dropped!, 'processor') && dropped?.consumers[0]?.reason).toMatch(/decodes public.orders.amount/);
    const withNote = registeredColumns(cdcValueSchema('public.orders', [...orders, { name: 'note', type: 'text', nullable: true, hasDefault: false, position: 8 }])) ?? [];
    const [noteDropped] = classifyChanges('public.orders', diffColumns(withNote, orders));
    expect(noteDropped?.verdict).toBe('compatible');
  });

  it('a rename is told apart from a drop by the attribute number', () => {
    const renamed = orders.map((c) => (c.name === 'amount' ? { ...c, name: 'total' } : c));
    const changes = classify(renamed);
    expect(changes.map((c) => c.change)).toEqual([{ kind: 'renamed', column: 'amount', to: 'total', type: 'numeric(12,2)' }]);
    expect(changes[0]?.verdict).toBe('breaking');
  });

  it('numeric widening is compatible, narrowing and a change of JSON type are breaking', () => {
    const widen = classify(orders.map((c) => (c.name === 'amount' ? { ...c, type: 'numeric(14,2)' } : c)));
    expect(widen.map((c) => [c.change.kind, c.verdict])).toEqual([['widened', 'compatible']]);
    const narrow = classify(orders.map((c) => (c.name === 'amount' ? { ...c, type: 'numeric(10,2)' } : c)));
    expect(narrow.map((c) => [c.change.kind, c.verdict])).toEqual([['narrowed', 'breaking']]);
    const retyped = classify(orders.map((c) => (c.name === 'quantity' ? { ...c, type: 'numeric(10,2)' } : c)));
    expect(retyped[0]?.change.kind).toBe('retyped');
    expect(verdictOf(retyped[0]!, 'schema')).toBe('breaking');
    expect(compareTypes('integer', 'bigint')).toBe('widened');
    expect(compareTypes('character varying(40)', 'text')).toBe('widened');
    expect(compareTypes('numeric(12,2)', 'numeric(12,3)')).toBe('narrowed');
    expect(compareTypes('numeric(12,2)', 'numeric')).toBe('widened');
  });

  it('a dropped column stays in the next schema as a deprecated property and is not reported again', () => {
    const next = cdcValueSchema('public.orders', orders.filter((c) => c.name !== 'amount'), registered);
    const back = registeredColumns(next) ?? [];
    expect(back.find((c) => c.name === 'amount')?.dropped).toBe(true);
    expect(diffColumns(back, orders.filter((c) => c.name !== 'amount'))).toEqual([]);
    expect(JSON.parse(next).properties.amount).toMatchObject({ deprecated: true });
  });

  it('a column that becomes nullable breaks the consumers that read it', () => {
    const [change] = classify(orders.map((c) => (c.name === 'status' ? { ...c, nullable: true } : c)));
    expect(change?.change.kind).toBe('null-allowed');
    expect(change?.verdict).toBe('breaking');
  });
});
