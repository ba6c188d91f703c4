-- The channel an order arrived through (web, partner, store: DESIGN.md). Every order so far came
-- from the source `orders` table by CDC, i.e. `web`, which the default gives existing rows (a
-- constant default: PostgreSQL adds the column without rewriting the table).
-- Declared in src/domain/output-tables.ts; test/integration/output-tables.test.ts checks the match.
ALTER TABLE public.processed_orders
  ADD COLUMN channel text NOT NULL DEFAULT 'web' CHECK (channel IN ('web', 'partner', 'store'));
