import { describe, expect, it } from 'vitest';
import { toConsumed } from './records.ts';

const message = (headers: unknown) => ({ topic: 't', partition: 2, offset: 7n, key: Buffer.from('k'), value: Buffer.from('v'), timestamp: 1_700_000_000_000n, headers });

describe('toConsumed', () => {
  it('reads a message without headers as an empty, frozen headers object, the same one every time', () => {
    const a = toConsumed(message(new Map()));
    const b = toConsumed(message(undefined));
    expect(a.headers).toEqual({});
    expect(Object.isFrozen(a.headers)).toBe(true);
    expect(b.headers).toBe(a.headers);
  });

  it('decodes headers to strings, each message its own object', () => {
    const a = toConsumed(message(new Map([[Buffer.from('trace'), Buffer.from('abc')]])));
    const b = toConsumed(message(new Map([[Buffer.from('trace'), Buffer.from('xyz')]])));
    expect(a.headers).toEqual({ trace: 'abc' });
    expect(b.headers).toEqual({ trace: 'xyz' });
    expect(a).toMatchObject({ topic: 't', partition: 2, offset: 7n, timestamp: 1_700_000_000_000 });
    expect(a.key?.toString()).toBe('k');
  });
});
