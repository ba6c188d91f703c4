-- Every version of every processed order, as the sink read it from `processed-orders`.
-- version is the record's Kafka offset: each key (order_id, customer_id) is written by one
-- partition only, so a later offset is a later version. A tombstone is a row with is_deleted = 1
-- and defaults elsewhere. ReplacingMergeTree(version) keeps the highest version per key when it
-- merges parts; until then the view below picks it with argMax. No PARTITION BY: a tombstone does
-- not know its order's created_at, and versions of one key must share a partition to be merged.
-- source_ts is the source commit (0 when unknown) and ingested_at the sink's write, for latency.
CREATE TABLE IF NOT EXISTS {{database}}.processed_orders_versions (
  order_id          Int64,
  customer_id       Int64,
  customer_tier     String,
  product_id        Int64,
  product_category  String,
  quantity          Int32,
  amount            Decimal(18, 2),
  discount          Decimal(18, 2),
  tax               Decimal(18, 2),
  final_amount      Decimal(18, 2),
  status            String,
  created_at        DateTime,
  processed_at      DateTime,
  source_ts         DateTime,
  ingested_at       DateTime,
  version           UInt64,
  is_deleted        UInt8
) ENGINE = ReplacingMergeTree(version)
ORDER BY (order_id, customer_id)
