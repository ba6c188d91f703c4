-- The view of 0016 with the pattern columns, grouped by the new stream key: clickhouseViewSql of src/domain/output-tables.ts.
CREATE VIEW IF NOT EXISTS {{database}}.fraud_alerts AS
SELECT
  order_id,
  customer_id,
  argMax(final_amount, version) AS final_amount,
  argMax(severity, version) AS severity,
  argMax(reason, version) AS reason,
  argMax(created_at, version) AS created_at,
  argMax(alerted_at, version) AS alerted_at,
  pattern,
  argMax(matched_order_ids, version) AS matched_order_ids,
  argMax(window_start, version) AS window_start,
  argMax(window_end, version) AS window_end
FROM {{database}}.fraud_alerts_versions
GROUP BY order_id, customer_id, pattern
HAVING argMax(is_deleted, version) = 0
