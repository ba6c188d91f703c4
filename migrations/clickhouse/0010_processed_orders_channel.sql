-- The order's channel (src/domain/output-tables.ts), after processed_at so that the storage
-- columns keep the definition's order. Versions stored before it read the default, `web`: every
-- order so far came from the source `orders` table by CDC. ClickHouse 18.16 has no
-- ADD COLUMN IF NOT EXISTS: the migrator skips this statement when the column is there already.
ALTER TABLE {{database}}.processed_orders_versions ADD COLUMN channel String DEFAULT 'web' AFTER processed_at
