import type { ConsumedRecord, OutgoingRecord } from '../clients/kafka.ts';

/**
 * A record that cannot be processed, kept as it was with headers saying why and where it came
 * from, so it can be inspected and replayed; processing goes on.
 */
export function deadLetter(topic: string, record: ConsumedRecord, reason: string, stage: string, nowMs: number): OutgoingRecord {
  return {
    topic,
    key: record.key,
    value: record.value,
    headers: {
      'dlq.reason': reason,
      'dlq.stage': stage,
      'dlq.source.topic': record.topic,
      'dlq.source.partition': String(record.partition),
      'dlq.source.offset': String(record.offset),
      'dlq.at': new Date(nowMs).toISOString(),
    },
  };
}
