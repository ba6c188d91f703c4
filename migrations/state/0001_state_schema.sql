-- Control-plane state of stream-migrate, in the warehouse database.
-- Migrations are append-only: never edit an applied file, add the next one.

CREATE TABLE stream_migrate.phase_runs (
  id            bigserial PRIMARY KEY,
  phase         text        NOT NULL CHECK (phase IN ('infrastructure', 'ingestion', 'processing', 'output')),
  status        text        NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
  dry_run       boolean     NOT NULL DEFAULT false,
  actor         text        NOT NULL,
  started_at    timestamptz NOT NULL DEFAULT now(),
  finished_at   timestamptz,
  error         text
);
CREATE INDEX phase_runs_phase_started ON stream_migrate.phase_runs (phase, started_at DESC);

CREATE TABLE stream_migrate.phase_steps (
  run_id        bigint      NOT NULL REFERENCES stream_migrate.phase_runs (id) ON DELETE CASCADE,
  seq           integer     NOT NULL,
  name          text        NOT NULL,
  status        text        NOT NULL CHECK (status IN ('succeeded', 'failed', 'skipped')),
  detail        text        NOT NULL DEFAULT '',
  started_at    timestamptz NOT NULL,
  finished_at   timestamptz NOT NULL,
  PRIMARY KEY (run_id, seq)
);

CREATE TABLE stream_migrate.batch_runs (
  id            bigserial PRIMARY KEY,
  window_from   timestamptz NOT NULL,
  window_to     timestamptz NOT NULL CHECK (window_to > window_from),
  mode          text        NOT NULL CHECK (mode IN ('builtin', 'external')),
  scheduled     boolean     NOT NULL DEFAULT false,
  status        text        NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'skipped')),
  rows          jsonb       NOT NULL DEFAULT '{}',
  reason        text,
  exit_code     integer,
  actor         text        NOT NULL,
  started_at    timestamptz NOT NULL DEFAULT now(),
  finished_at   timestamptz
);
CREATE INDEX batch_runs_window ON stream_migrate.batch_runs (window_from, window_to);

CREATE TABLE stream_migrate.validation_reports (
  id            bigserial PRIMARY KEY,
  window_from   timestamptz NOT NULL,
  window_to     timestamptz NOT NULL CHECK (window_to > window_from),
  verdict       text        NOT NULL CHECK (verdict IN ('PASS', 'FAIL')),
  report        jsonb       NOT NULL,
  elapsed_ms    integer     NOT NULL,
  actor         text        NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX validation_reports_created ON stream_migrate.validation_reports (created_at DESC);

CREATE TABLE stream_migrate.cutover_decisions (
  id            bigserial PRIMARY KEY,
  action        text        NOT NULL CHECK (action IN ('cutover', 'rollback')),
  dry_run       boolean     NOT NULL,
  allowed       boolean     NOT NULL,
  executed      boolean     NOT NULL,
  checks        jsonb       NOT NULL DEFAULT '[]',
  report_ids    bigint[]    NOT NULL DEFAULT '{}',
  reason        text,
  actor         text        NOT NULL,
  decided_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cutover_decisions_decided ON stream_migrate.cutover_decisions (decided_at DESC);

-- Who did what, when, with which outcome. Append-only: the trigger below refuses changes.
CREATE TABLE stream_migrate.audit_log (
  id            bigserial PRIMARY KEY,
  at            timestamptz NOT NULL DEFAULT now(),
  actor         text        NOT NULL,
  command       text        NOT NULL,
  target        text        NOT NULL DEFAULT '',
  outcome       text        NOT NULL CHECK (outcome IN ('succeeded', 'failed', 'refused', 'dry-run')),
  detail        jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON stream_migrate.audit_log (at DESC);

CREATE FUNCTION stream_migrate.audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'stream_migrate.audit_log is append-only (% refused)', TG_OP;
END;
$$;

CREATE TRIGGER audit_log_append_only
  BEFORE UPDATE OR DELETE ON stream_migrate.audit_log
  FOR EACH ROW EXECUTE FUNCTION stream_migrate.audit_log_is_append_only();

CREATE TRIGGER audit_log_no_truncate
  BEFORE TRUNCATE ON stream_migrate.audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION stream_migrate.audit_log_is_append_only();
