-- Outputs of the legacy batch ETL (schema public of the warehouse database): the tables that
-- `validate` compares with the stream's ClickHouse tables of the same names and columns.
-- `batch run` replaces one window of them at a time, so each table has an index on the column
-- that decides which window a row belongs to (created_at, or window_start for summaries).
-- Migrations are append-only: never edit an applied file, add the next one.

CREATE TABLE public.processed_orders (
  order_id          bigint        PRIMARY KEY,
  customer_id       bigint        NOT NULL,
  customer_tier     text          NOT NULL,
  product_id        bigint        NOT NULL,
  product_category  text          NOT NULL,
  quantity          integer       NOT NULL,
  amount            numeric(12,2) NOT NULL,
  discount          numeric(12,2) NOT NULL,
  tax               numeric(12,2) NOT NULL,
  final_amount      numeric(14,2) NOT NULL,
  status            text          NOT NULL,
  created_at        timestamptz   NOT NULL,
  processed_at      timestamptz   NOT NULL
);
CREATE INDEX processed_orders_created_at ON public.processed_orders (created_at);

CREATE TABLE public.order_summaries (
  customer_id         bigint        NOT NULL,
  window_start        timestamptz   NOT NULL,
  window_end          timestamptz   NOT NULL CHECK (window_end > window_start),
  order_count         integer       NOT NULL CHECK (order_count > 0),
  total_amount        numeric(14,2) NOT NULL,
  total_final_amount  numeric(14,2) NOT NULL,
  PRIMARY KEY (customer_id, window_start)
);
CREATE INDEX order_summaries_window_start ON public.order_summaries (window_start);

CREATE TABLE public.fraud_alerts (
  order_id      bigint        PRIMARY KEY,
  customer_id   bigint        NOT NULL,
  final_amount  numeric(14,2) NOT NULL,
  severity      text          NOT NULL CHECK (severity IN ('HIGH', 'MEDIUM')),
  reason        text          NOT NULL,
  created_at    timestamptz   NOT NULL,
  alerted_at    timestamptz   NOT NULL
);
CREATE INDEX fraud_alerts_created_at ON public.fraud_alerts (created_at);
