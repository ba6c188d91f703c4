-- When a customer's tier last changed, for the escalation fraud pattern (an order above X within
-- W minutes after the tier changed; docs/decisions/fraud-patterns.md). NULL: never changed since
-- the column exists. Set by the database, so every writer of tiers (the workload, a person, an
-- application) is covered, and Debezium carries it in the customers change record. now() is the
-- transaction's time, the same clock the orders' created_at default reads.
ALTER TABLE public.customers ADD COLUMN tier_changed_at timestamptz;

CREATE FUNCTION public.stamp_tier_changed_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.tier IS DISTINCT FROM OLD.tier THEN
    NEW.tier_changed_at := now();
  END IF;
  RETURN NEW;
END;
$$;
CREATE TRIGGER customers_tier_changed BEFORE UPDATE OF tier ON public.customers FOR EACH ROW EXECUTE FUNCTION public.stamp_tier_changed_at();
