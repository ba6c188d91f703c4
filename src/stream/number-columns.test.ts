import { describe, expect, it } from 'vitest';
import { NumberColumns } from './number-columns.ts';

describe('NumberColumns', () => {
  it('keeps each row through growth, overwrites in place and reuses a removed slot', () => {
    const grown: number[] = [];
    const rows = new NumberColumns(['a', 'b'], (capacity) => grown.push(capacity));
    const slots = Array.from({ length: 2500 }, (_, i) => rows.add({ a: i, b: 2 ** 40 + i }));
    expect(grown).toEqual([1024, 2048, 4096]);
    rows.write(slots[7]!, { a: -1, b: 0.5 });
    rows.remove(slots[9]!);
    expect(rows.add({ a: 99, b: 98 })).toBe(slots[9]);
    for (let i = 0; i < 2500; i++) {
      const expected = i === 7 ? [-1, 0.5] : i === 9 ? [99, 98] : [i, 2 ** 40 + i];
      expect([rows.value(slots[i]!, 'a'), rows.value(slots[i]!, 'b')]).toEqual(expected);
    }
  });
});
