-- A pattern alert's window end (exclusive); the epoch for threshold alerts.
ALTER TABLE {{database}}.fraud_alerts_versions ADD COLUMN window_end DateTime('UTC') AFTER window_start
