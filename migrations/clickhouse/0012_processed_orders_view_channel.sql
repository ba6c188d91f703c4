-- 0002's view with channel: clickhouseViewSql of src/domain/output-tables.ts.
CREATE VIEW IF NOT EXISTS {{database}}.processed_orders AS
SELECT
  order_id,
  customer_id,
  argMax(customer_tier, version) AS customer_tier,
  argMax(product_id, version) AS product_id,
  argMax(product_category, version) AS product_category,
  argMax(quantity, version) AS quantity,
  argMax(amount, version) AS amount,
  argMax(discount, version) AS discount,
  argMax(tax, version) AS tax,
  argMax(final_amount, version) AS final_amount,
  argMax(status, version) AS status,
  argMax(created_at, version) AS created_at,
  argMax(processed_at, version) AS processed_at,
  argMax(channel, version) AS channel
FROM {{database}}.processed_orders_versions
GROUP BY order_id, customer_id
HAVING argMax(is_deleted, version) = 0
