-- Every instant in UTC whatever the server's time zone: a DateTime without a zone reads and writes
-- text in the server's zone, so a server set to another zone would shift every sink write and every
-- comparison. MODIFY COLUMN to the type a column already has is a no-op, so this is safe to re-run.
-- The view over this table takes the new types from its query.
ALTER TABLE {{database}}.processed_orders_versions
  MODIFY COLUMN created_at DateTime('UTC'),
  MODIFY COLUMN processed_at DateTime('UTC'),
  MODIFY COLUMN source_ts DateTime('UTC'),
  MODIFY COLUMN ingested_at DateTime('UTC')
