-- The view of 0004 again, with the column types of 0008 on every release: clickhouseViewSql of src/domain/output-tables.ts.
CREATE VIEW IF NOT EXISTS {{database}}.order_summaries AS
SELECT
  customer_id,
  window_start,
  argMax(window_end, version) AS window_end,
  argMax(order_count, version) AS order_count,
  argMax(total_amount, version) AS total_amount,
  argMax(total_final_amount, version) AS total_final_amount
FROM {{database}}.order_summaries_versions
GROUP BY customer_id, window_start
HAVING argMax(is_deleted, version) = 0
