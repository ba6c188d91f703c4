-- The view of 0006 again, with the column types of 0009 on every release: clickhouseViewSql of src/domain/output-tables.ts.
CREATE VIEW IF NOT EXISTS {{database}}.fraud_alerts AS
SELECT
  order_id,
  customer_id,
  argMax(final_amount, version) AS final_amount,
  argMax(severity, version) AS severity,
  argMax(reason, version) AS reason,
  argMax(created_at, version) AS created_at,
  argMax(alerted_at, version) AS alerted_at
FROM {{database}}.fraud_alerts_versions
GROUP BY order_id, customer_id
HAVING argMax(is_deleted, version) = 0
