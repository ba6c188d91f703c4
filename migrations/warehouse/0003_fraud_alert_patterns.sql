-- Fraud patterns over time (src/domain/patterns.ts, docs/decisions/fraud-patterns.md): an alert
-- row names its pattern ('' for the per-order HIGH/MEDIUM threshold alerts), the orders it
-- matched and its window (the epoch for a threshold alert, which has none). Existing rows are
-- threshold alerts; the defaults fill them and are dropped, as src/domain/output-tables.ts
-- declares no default (ClickHouse cannot have one on a sorting-key column).
-- A pattern alert is anchored at an order that may also have a threshold alert: the key gains pattern.
ALTER TABLE public.fraud_alerts
  ADD COLUMN pattern text NOT NULL DEFAULT '',
  ADD COLUMN matched_order_ids text NOT NULL DEFAULT '',
  ADD COLUMN window_start timestamptz NOT NULL DEFAULT 'epoch',
  ADD COLUMN window_end timestamptz NOT NULL DEFAULT 'epoch';
ALTER TABLE public.fraud_alerts
  ALTER COLUMN pattern DROP DEFAULT,
  ALTER COLUMN matched_order_ids DROP DEFAULT,
  ALTER COLUMN window_start DROP DEFAULT,
  ALTER COLUMN window_end DROP DEFAULT;
ALTER TABLE public.fraud_alerts DROP CONSTRAINT fraud_alerts_pkey, ADD PRIMARY KEY (order_id, pattern);
