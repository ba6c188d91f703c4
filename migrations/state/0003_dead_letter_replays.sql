-- Dead letters replayed by `stream-migrate dlq replay`: one row per dead letter (its topic,
-- partition and offset), so a second replay skips it, with the order it named, the Debezium
-- signal that re-sent the order's current row, who and when. Rows are only ever added.

CREATE TABLE stream_migrate.dead_letter_replays (
  dlq_topic      text        NOT NULL,
  dlq_partition  integer     NOT NULL,
  dlq_offset     bigint      NOT NULL,
  order_id       bigint      NOT NULL,
  signal_id      text        NOT NULL,
  actor          text        NOT NULL,
  replayed_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (dlq_topic, dlq_partition, dlq_offset)
);
CREATE INDEX dead_letter_replays_signal ON stream_migrate.dead_letter_replays (signal_id);
