-- A pattern alert's window start; the epoch (DateTime's 0) for threshold alerts, which have none.
ALTER TABLE {{database}}.fraud_alerts_versions ADD COLUMN window_start DateTime('UTC') AFTER matched_order_ids
