import { describe, expect, it } from 'vitest';
import { insertBisecting } from './bisect-insert.ts';

class Refused extends Error {}

/** A fake table that refuses any insert holding a negative number, as ClickHouse refuses a batch for one bad row. */
function fakeTable() {
  const stored: number[] = [];
  let calls = 0;
  const insert = async (rows: readonly number[]): Promise<void> => {
    calls++;
    const bad = rows.find((r) => r < 0);
    if (bad !== undefined) throw new Refused(`value ${bad} out of range`);
    stored.push(...rows);
  };
  return { stored, insert, calls: () => calls };
}

const reasonOf = (error: unknown): string | undefined => (error instanceof Refused ? error.message : undefined);

describe('insertBisecting', () => {
  it('writes a clean batch in one insert', async () => {
    const table = fakeTable();
    expect(await insertBisecting([1, 2, 3], table.insert, reasonOf)).toEqual([]);
    expect(table.stored).toEqual([1, 2, 3]);
    expect(table.calls()).toBe(1);
  });

  it('isolates each refused row, with its reason, and writes every other row once', async () => {
    const table = fakeTable();
    const rows = Array.from({ length: 1000 }, (_, i) => (i === 17 || i === 640 ? -i : i));
    const rejected = await insertBisecting(rows, table.insert, reasonOf);
    expect(rejected).toEqual([
      { row: -17, reason: 'value -17 out of range' },
      { row: -640, reason: 'value -640 out of range' },
    ]);
    expect(table.stored.sort((a, b) => a - b)).toEqual(rows.filter((r) => r >= 0));
    // Two bad rows among 1 000: a few dozen inserts, not a thousand.
    expect(table.calls()).toBeLessThanOrEqual(2 * 2 * Math.ceil(Math.log2(1000)) + 1);
  });

  it('lets errors that are not about the data through', async () => {
    const unreachable = new Error('ECONNREFUSED');
    await expect(insertBisecting([1, 2], async () => Promise.reject(unreachable), reasonOf)).rejects.toBe(unreachable);
  });

  it('does nothing for no rows', async () => {
    const table = fakeTable();
    expect(await insertBisecting([], table.insert, reasonOf)).toEqual([]);
    expect(table.calls()).toBe(0);
  });
});
