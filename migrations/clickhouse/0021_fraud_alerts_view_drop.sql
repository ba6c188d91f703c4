-- Recreated by 0022 with the pattern columns, grouped by the new stream key (order, customer, pattern).
DROP TABLE IF EXISTS {{database}}.fraud_alerts
