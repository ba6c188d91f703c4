import { describe, expect, it } from 'vitest';
import { CreatedAtMerge } from './extract.ts';

const row = (id: number, createdAt: number) => [id, 1, 1, 1, '1.00', 'PAID', String(createdAt), 'NEW', 'books'];

describe('CreatedAtMerge', () => {
  it('keeps created_at order across batches and hands the rest over when the cursor is done', () => {
    const merge = new CreatedAtMerge([row(101, 5), row(102, 15), row(103, 40)]);
    const ids = (rows: readonly (readonly unknown[])[]) => rows.map((r) => r[0]);
    expect(ids(merge.merge([row(1, 0), row(2, 10)]))).toEqual([1, 101, 2]);
    expect(ids(merge.merge([row(3, 15), row(4, 20)]))).toEqual([3, 102, 4]);
    expect(ids(merge.merge([]))).toEqual([103]);
    expect(merge.merge([])).toEqual([]);
  });
});
