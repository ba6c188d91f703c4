-- The demo OLTP source (schema public of database `source`): what the legacy ETL extracts and
-- Debezium streams. id, created_at and updated_at have defaults, so a plain
-- INSERT INTO orders (customer_id, product_id, quantity, amount, status) VALUES (...) RETURNING id works.

CREATE TABLE public.customers (
  id          bigserial   PRIMARY KEY,
  name        text        NOT NULL,
  tier        text        NOT NULL CHECK (tier IN ('NEW', 'BRONZE', 'SILVER', 'GOLD', 'PLATINUM')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE public.products (
  id          bigserial     PRIMARY KEY,
  name        text          NOT NULL,
  category    text          NOT NULL,
  price       numeric(12,2) NOT NULL CHECK (price >= 0),
  updated_at  timestamptz   NOT NULL DEFAULT now()
);

CREATE TABLE public.orders (
  id           bigserial     PRIMARY KEY,
  customer_id  bigint        NOT NULL REFERENCES public.customers (id),
  product_id   bigint        NOT NULL REFERENCES public.products (id),
  quantity     integer       NOT NULL CHECK (quantity > 0),
  amount       numeric(12,2) NOT NULL CHECK (amount >= 0),
  status       text          NOT NULL CHECK (status IN ('PLACED', 'PAID', 'SHIPPED', 'CANCELLED')),
  created_at   timestamptz   NOT NULL DEFAULT now(),
  updated_at   timestamptz   NOT NULL DEFAULT now()
);
-- The batch ETL extracts one day of orders by event time.
CREATE INDEX orders_created_at ON public.orders (created_at);
CREATE INDEX orders_customer_id ON public.orders (customer_id);

-- updated_at follows every change, so a CDC record says when its version was written.
CREATE FUNCTION public.touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END;
$$;
CREATE TRIGGER customers_touch BEFORE UPDATE ON public.customers FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();
CREATE TRIGGER products_touch BEFORE UPDATE ON public.products FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();
CREATE TRIGGER orders_touch BEFORE UPDATE ON public.orders FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();
