import type pg from 'pg';
import { coordinates, type DeadLetter } from './dead-letters.ts';

export interface ReplayRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  readonly orderId: number;
  readonly signalId: string;
  readonly actor: string;
  readonly replayedAt: Date;
}

type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

/** Replayed dead letters in the state store (`stream_migrate.dead_letter_replays`). */
export class DeadLetterReplays {
  private readonly db: Queryable;
  constructor(db: Queryable) {
    this.db = db;
  }

  /** Every replay recorded for a dead-letter topic, by `topic/partition/offset`. */
  async forTopic(topic: string): Promise<ReadonlyMap<string, ReplayRecord>> {
    const { rows } = await this.db.query<{ dlq_partition: number; dlq_offset: string; order_id: string; signal_id: string; actor: string; replayed_at: Date }>(
      'SELECT dlq_partition, dlq_offset, order_id, signal_id, actor, replayed_at FROM stream_migrate.dead_letter_replays WHERE dlq_topic = $1',
      [topic],
    );
    return new Map(
      rows.map((r) => {
        const record: ReplayRecord = { topic, partition: r.dlq_partition, offset: BigInt(r.dlq_offset), orderId: Number(r.order_id), signalId: r.signal_id, actor: r.actor, replayedAt: r.replayed_at };
        return [coordinates(record), record] as const;
      }),
    );
  }

  /** Records the dead letters a signal replays; one that is already recorded is left as it was. */
  async record(deadLetters: readonly DeadLetter[], signalId: string, actor: string): Promise<number> {
    if (deadLetters.length === 0) return 0;
    const { rowCount } = await this.db.query(
      `INSERT INTO stream_migrate.dead_letter_replays (dlq_topic, dlq_partition, dlq_offset, order_id, signal_id, actor)
       SELECT t, p, o, id, $5, $6 FROM unnest($1::text[], $2::int[], $3::bigint[], $4::bigint[]) AS u(t, p, o, id)
       ON CONFLICT DO NOTHING`,
      [deadLetters.map((d) => d.topic), deadLetters.map((d) => d.partition), deadLetters.map((d) => d.offset.toString()), deadLetters.map((d) => d.orderId), signalId, actor],
    );
    return rowCount ?? 0;
  }
}
