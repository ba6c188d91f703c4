import { describe, expect, it } from 'vitest';
import { copartitionedAssignment, toAssignment } from './assignor.ts';

describe('copartitionedAssignment', () => {
  const subscriptions = new Map([
    ['m-b', ['orders', 'customers']],
    ['m-a', ['orders', 'customers']],
    ['m-c', ['orders', 'customers']],
  ]);

  it('assigns partition i of every topic to sorted members[i % n]', () => {
    const equal = copartitionedAssignment(subscriptions, new Map([['orders', 4], ['customers', 4]]));
    expect(equal.get('m-a')).toEqual([
      { topic: 'customers', partitions: [0, 3] },
      { topic: 'orders', partitions: [0, 3] },
    ]);
    expect(equal.get('m-b')).toEqual([
      { topic: 'customers', partitions: [1] },
      { topic: 'orders', partitions: [1] },
    ]);
    expect(equal.get('m-c')).toEqual([
      { topic: 'customers', partitions: [2] },
      { topic: 'orders', partitions: [2] },
    ]);
  });

  it('gives partition i one owner across topics of unequal counts, the larger continuing the rotation', () => {
    const unequal = copartitionedAssignment(subscriptions, new Map([['orders', 5], ['customers', 2]]));
    expect(unequal.get('m-a')).toEqual([
      { topic: 'customers', partitions: [0] },
      { topic: 'orders', partitions: [0, 3] },
    ]);
    expect(unequal.get('m-c')).toEqual([{ topic: 'orders', partitions: [2] }]);
  });

  it('lists surplus members with nothing, and skips topics without metadata or subscribers', () => {
    const surplus = copartitionedAssignment(subscriptions, new Map([['orders', 1], ['payments', 3]]));
    expect([...surplus]).toEqual([
      ['m-a', [{ topic: 'orders', partitions: [0] }]],
      ['m-b', []],
      ['m-c', []],
    ]);
  });

  it('assigns a topic only among the members subscribed to it', () => {
    const mixed = copartitionedAssignment(
      new Map([
        ['a', ['orders']],
        ['b', ['orders', 'customers']],
      ]),
      new Map([['orders', 2], ['customers', 2]]),
    );
    expect(mixed.get('a')).toEqual([{ topic: 'orders', partitions: [0] }]);
    expect(mixed.get('b')).toEqual([
      { topic: 'customers', partitions: [0, 1] },
      { topic: 'orders', partitions: [1] },
    ]);
  });
});

describe('toAssignment', () => {
  it('narrows the join event payload to sorted topics and partitions, dropping malformed entries', () => {
    const narrowed = toAssignment([{ topic: 'b', partitions: [3, 1] }, { topic: 'a', partitions: [0] }, { topic: 'c', partitions: [] }, { partitions: [1] }, null, 'x']);
    expect(narrowed).toEqual([
      { topic: 'a', partitions: [0] },
      { topic: 'b', partitions: [1, 3] },
    ]);
    expect(Object.isFrozen(narrowed)).toBe(true);
    expect(toAssignment(undefined)).toEqual([]);
  });
});
