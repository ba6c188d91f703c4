-- Every version of every 5-minute summary read from `order-summaries`; see 0001 for versions and
-- tombstones. The key holds window_start, so a tombstone lands in the same monthly partition as
-- the versions it retracts and merges can collapse them.
CREATE TABLE IF NOT EXISTS {{database}}.order_summaries_versions (
  customer_id         Int64,
  window_start        DateTime,
  window_end          DateTime,
  order_count         Int64,
  total_amount        Decimal(18, 2),
  total_final_amount  Decimal(18, 2),
  version             UInt64,
  is_deleted          UInt8
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(window_start)
ORDER BY (customer_id, window_start)
