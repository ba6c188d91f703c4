import { describe, expect, it } from 'vitest';
import { NumberHash, PairHash, windowKey } from './pair-hash.ts';

describe('PairHash', () => {
  it('after 200 000 random sets and deletes holds exactly what a Map of the same operations holds', () => {
    const hash = new PairHash(16);
    const model = new Map<string, number>();
    let seed = 11;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    // Few distinct firsts and a dense range of seconds: long probe runs, so deletes shift entries back often.
    // One first in 40 is past 32 bits, one value in 20 too: those go to the map beside the table, and a key moves between the two.
    const firstOf = (i: number) => (i === 39 ? 2 ** 40 : i);
    for (let i = 0; i < 200_000; i++) {
      const a = firstOf(Math.floor(random() * 40));
      const b = Math.floor(random() * 3000);
      if (random() < 0.4) {
        hash.delete(a, b);
        model.delete(`${a}/${b}`);
      } else {
        const value = random() < 0.05 ? 2 ** 33 + i : Math.floor(random() * 1e6);
        hash.set(a, b, value);
        model.set(`${a}/${b}`, value);
      }
    }
    expect(hash.size).toBe(model.size);
    for (let i = 0; i < 40; i++) for (let b = 0; b < 3000; b++) expect(hash.get(firstOf(i), b)).toBe(model.get(`${firstOf(i)}/${b}`));
  });

  it('stays right at 9/10 full in a small table, where runs wrap around its end', () => {
    for (let trial = 0; trial < 200; trial++) {
      const hash = new PairHash(16); // 14 entries of 16 buckets stay in it
      const model = new Map<string, number>();
      let seed = trial + 1;
      const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
      while (model.size < 14) {
        const [a, b] = [Math.floor(random() * 1000), Math.floor(random() * 1000)];
        hash.set(a, b, model.size);
        model.set(`${a}|${b}`, model.size);
      }
      for (const key of [...model.keys()].filter(() => random() < 0.5)) {
        const [a, b] = key.split('|').map(Number) as [number, number];
        hash.delete(a, b);
        model.delete(key);
      }
      for (const [key, value] of model) {
        const [a, b] = key.split('|').map(Number) as [number, number];
        expect(hash.get(a, b)).toBe(value);
      }
      expect(hash.size).toBe(model.size);
    }
  });

  it('moves a key between the table and the map beside it as its value changes, and deletes it from either', () => {
    const hash = new PairHash();
    hash.set(1, 2, 5);
    hash.set(1, 2, 0.5); // not a 32-bit integer
    expect(hash.get(1, 2)).toBe(0.5);
    expect(hash.size).toBe(1);
    hash.set(1, 2, 6);
    expect(hash.get(1, 2)).toBe(6);
    expect(hash.size).toBe(1);
    hash.set(1, 2, -0x80000000); // the table's free-bucket mark: held beside it
    expect(hash.get(1, 2)).toBe(-0x80000000);
    hash.delete(1, 2);
    expect(hash.get(1, 2)).toBeUndefined();
    expect(hash.size).toBe(0);
  });

  it('tells apart keys that are not 32-bit integers: large ids, negatives, fractions; -0 is 0', () => {
    const hash = new PairHash();
    const keys: [number, number][] = [[2 ** 40 + 1, 1], [2 ** 40 + 2, 1], [1, 2 ** 40 + 1], [-5, 3], [5, -3], [0.5, 1], [1.5, 1], [Date.UTC(2026, 10, 25), 7]];
    keys.forEach(([a, b], i) => hash.set(a, b, i));
    keys.forEach(([a, b], i) => expect(hash.get(a, b)).toBe(i));
    expect(hash.get(2 ** 40, 1)).toBeUndefined();
    hash.set(0, 0, 42);
    expect(hash.get(-0, 0)).toBe(42);
    expect(hash.size).toBe(keys.length + 1);
  });

  it('holds values beyond 32 bits and refuses a NaN key', () => {
    const hash = new PairHash();
    hash.set(1, 2, 2 ** 50 + 3);
    expect(hash.get(1, 2)).toBe(2 ** 50 + 3);
    expect(() => hash.set(Number.NaN, 3, 1)).toThrow(/NaN/);
    expect(hash.size).toBe(1);
  });
});

describe('NumberHash', () => {
  it('maps single numbers, deletes, and counts', () => {
    const routes = new NumberHash();
    for (let id = 1; id <= 5000; id++) routes.set(id, id % 97);
    for (let id = 1; id <= 5000; id += 2) routes.delete(id);
    routes.set(4, 1234);
    expect(routes.size).toBe(2500);
    expect(routes.get(4)).toBe(1234);
    expect(routes.get(3)).toBeUndefined();
    expect(routes.get(4998)).toBe(4998 % 97);
  });
});

describe('windowKey', () => {
  it('is the window start in whole minutes', () => {
    // 2026-11-25 is day 20 782 of the epoch (56 years, 14 leap days, 328 days into 2026); 10:30 is minute 630.
    expect(windowKey(Date.UTC(2026, 10, 25, 10, 30))).toBe(20_782 * 1440 + 630);
    expect(windowKey(Date.UTC(2026, 10, 25, 10, 30)) | 0).toBe(29_926_710); // a 32-bit integer, hashed as it is
  });
});
