-- Evidence rules for validation reports (DESIGN.md "Validation and cutover").
-- NO_DATA: a window in which a table had no rows on either side proves nothing; it is stored, never a PASS.
-- provenance: how the report was made (tables, settle, schema/database, tolerances, windows, source
-- position); the cutover gate counts only reports made the configured way. NULL for older reports,
-- which therefore do not count.
ALTER TABLE stream_migrate.validation_reports DROP CONSTRAINT validation_reports_verdict_check;
ALTER TABLE stream_migrate.validation_reports
  ADD CONSTRAINT validation_reports_verdict_check CHECK (verdict IN ('PASS', 'FAIL', 'NO_DATA'));
ALTER TABLE stream_migrate.validation_reports ADD COLUMN provenance jsonb;
-- The gate looks up reports by compared window (a re-run of a window replaces the earlier report).
CREATE INDEX validation_reports_window ON stream_migrate.validation_reports (window_from, window_to, created_at DESC);
