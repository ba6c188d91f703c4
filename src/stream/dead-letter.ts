import type { ConsumedRecord, OutgoingRecord } from '../clients/kafka.ts';

/**
 * The most of a record's value a dead letter keeps. A record too large to process must still be
 * dead-lettered, whatever the dead-letter topic's max.message.bytes; the head is enough to see
 * what it was, and its size and source position say where the whole of it is.
 */
export const DEAD_LETTER_VALUE_LIMIT = 64 * 1024;

/**
 * A record that cannot be processed, kept as it was (its value cut to DEAD_LETTER_VALUE_LIMIT)
 * with headers saying why and where it came from, so it can be inspected and replayed; processing goes on.
 */
export function deadLetter(topic: string, record: ConsumedRecord, reason: string, stage: string, nowMs: number): OutgoingRecord {
  const value = record.value;
  const truncated = value !== null && value.length > DEAD_LETTER_VALUE_LIMIT;
  return {
    topic,
    key: record.key,
    value: truncated ? value.subarray(0, DEAD_LETTER_VALUE_LIMIT) : value,
    headers: {
      'dlq.reason': reason,
      'dlq.stage': stage,
      'dlq.source.topic': record.topic,
      'dlq.source.partition': String(record.partition),
      'dlq.source.offset': String(record.offset),
      'dlq.at': new Date(nowMs).toISOString(),
      ...(truncated ? { 'dlq.value.bytes': String(value.length), 'dlq.value.truncated': 'true' } : {}),
    },
  };
}
