import { describe, expect, it } from 'vitest';
import { NumberColumn } from './number-column.ts';

describe('NumberColumn', () => {
  it('holds 32-bit integers narrow, widens on the first value that is not one, and keeps every value through both', () => {
    const column = new NumberColumn();
    column.grow(4);
    column.set(0, 2 ** 31 - 1);
    column.set(1, -(2 ** 31));
    column.set(2, 7);
    expect(column.narrow).toBe(true);
    expect([column.get(0), column.get(1), column.get(2), column.get(3)]).toEqual([2 ** 31 - 1, -(2 ** 31), 7, 0]);
    column.set(3, 2 ** 31); // one past: widens
    expect(column.narrow).toBe(false);
    column.grow(8);
    column.set(5, 0.25);
    expect([column.get(0), column.get(1), column.get(2), column.get(3), column.get(4), column.get(5)]).toEqual([2 ** 31 - 1, -(2 ** 31), 7, 2 ** 31, 0, 0.25]);
  });

  it('keeps its values when it grows narrow', () => {
    const column = new NumberColumn();
    column.grow(2);
    column.set(1, 123);
    column.grow(1024);
    column.set(1000, -5);
    expect([column.get(1), column.get(1000), column.narrow]).toEqual([123, -5, true]);
  });
});
