import { describe, expect, it } from 'vitest';
import type { ConsumedRecord } from '../clients/kafka.ts';
import { DEAD_LETTER_VALUE_LIMIT, deadLetter } from './dead-letter.ts';

const record = (value: Buffer | null): ConsumedRecord => ({ topic: 'cdc.public.orders', partition: 2, offset: 41n, key: Buffer.from('{"id":7}'), value, headers: {}, timestamp: 0 });

describe('deadLetter', () => {
  it('keeps a record as it was, with why and where it came from', () => {
    const letter = deadLetter('stream-migrate.dlq', record(Buffer.from('{not json')), 'not valid JSON', 'decode', Date.UTC(2026, 10, 30));
    expect(letter.value?.toString()).toBe('{not json');
    expect(letter.headers).toEqual({
      'dlq.reason': 'not valid JSON',
      'dlq.stage': 'decode',
      'dlq.source.topic': 'cdc.public.orders',
      'dlq.source.partition': '2',
      'dlq.source.offset': '41',
      'dlq.at': '2026-11-30T00:00:00.000Z',
    });
  });

  it('cuts a 10 MB value to its first 64 KiB and says how large it was', () => {
    const huge = Buffer.alloc(10 * 1024 * 1024, 0x61);
    const letter = deadLetter('dlq', record(huge), 'too large', 'decode', 0);
    expect(letter.value?.length).toBe(65_536);
    expect(DEAD_LETTER_VALUE_LIMIT).toBe(65_536);
    expect(letter.headers).toMatchObject({ 'dlq.value.bytes': '10485760', 'dlq.value.truncated': 'true' });
  });
});
