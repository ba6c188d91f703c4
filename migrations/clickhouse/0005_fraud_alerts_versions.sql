-- Every version of every fraud alert read from `fraud-alerts`; see 0001 for versions, tombstones
-- and why there is no PARTITION BY.
CREATE TABLE IF NOT EXISTS {{database}}.fraud_alerts_versions (
  order_id      Int64,
  customer_id   Int64,
  final_amount  Decimal(18, 2),
  severity      String,
  reason        String,
  created_at    DateTime,
  alerted_at    DateTime,
  version       UInt64,
  is_deleted    UInt8
) ENGINE = ReplacingMergeTree(version)
ORDER BY (order_id, customer_id)
