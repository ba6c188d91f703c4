-- The matched order ids of a pattern alert, ascending and comma-separated; '' for threshold alerts.
ALTER TABLE {{database}}.fraud_alerts_versions ADD COLUMN matched_order_ids String AFTER pattern
