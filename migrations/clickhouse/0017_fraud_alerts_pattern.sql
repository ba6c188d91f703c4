-- The fraud pattern of an alert ('' for the per-order threshold alerts), part of the row's key:
-- a pattern alert is anchored at an order that may have a threshold alert too. 18.16 extends the
-- sorting key only with a column added in the same ALTER and without a DEFAULT; existing rows
-- take String's '' (threshold alerts), as the definition's olderRecords says.
ALTER TABLE {{database}}.fraud_alerts_versions ADD COLUMN pattern String AFTER alerted_at, MODIFY ORDER BY (order_id, customer_id, pattern)
