import { describe, expect, it } from 'vitest';
import { MigrationIntegrityError, type MigrationFile } from '../state/migrator.ts';
import { assertIdempotent, readClickHouseMigrations } from './clickhouse-migrations.ts';
import { duplicateKeysSql, identifier, renderMigration } from './clickhouse-sql.ts';

const file = (sql: string): MigrationFile => ({ version: 99, name: '0099_x.sql', sql, checksum: 'c' });

describe('ClickHouse migrations', () => {
  it('are each one idempotent statement on the database token', () => {
    const files = readClickHouseMigrations();
    expect(files.map((f) => f.name)).toEqual([
      '0001_processed_orders_versions.sql',
      '0002_processed_orders_view.sql',
      '0003_order_summaries_versions.sql',
      '0004_order_summaries_view.sql',
      '0005_fraud_alerts_versions.sql',
      '0006_fraud_alerts_view.sql',
      '0007_processed_orders_utc.sql',
      '0008_order_summaries_utc.sql',
      '0009_fraud_alerts_utc.sql',
      '0010_processed_orders_channel.sql',
      '0011_processed_orders_view_drop.sql',
      '0012_processed_orders_view_channel.sql',
      '0013_order_summaries_view_drop.sql',
      '0014_order_summaries_view_utc.sql',
      '0015_fraud_alerts_view_drop.sql',
      '0016_fraud_alerts_view_utc.sql',
      '0017_fraud_alerts_pattern.sql',
      '0018_fraud_alerts_matched_order_ids.sql',
      '0019_fraud_alerts_window_start.sql',
      '0020_fraud_alerts_window_end.sql',
      '0021_fraud_alerts_view_drop.sql',
      '0022_fraud_alerts_view_patterns.sql',
    ]);
  });

  it('refuses a statement that is not CREATE ... IF NOT EXISTS, or two statements', () => {
    expect(() => assertIdempotent(file('CREATE TABLE {{database}}.t (a UInt8) ENGINE = Memory'))).toThrow(MigrationIntegrityError);
    expect(() => assertIdempotent(file('ALTER TABLE {{database}}.t DROP COLUMN b'))).toThrow(/IF NOT EXISTS/);
    expect(() => assertIdempotent(file('ALTER TABLE {{database}}.t MODIFY COLUMN a DateTime, DROP COLUMN b'))).toThrow(/MODIFY COLUMN/);
    expect(() => assertIdempotent(file("ALTER TABLE {{database}}.t\n  MODIFY COLUMN a DateTime('UTC'),\n  MODIFY COLUMN b DateTime('UTC')"))).not.toThrow();
    expect(() => assertIdempotent(file('CREATE VIEW IF NOT EXISTS {{database}}.v AS SELECT 1; CREATE VIEW IF NOT EXISTS {{database}}.w AS SELECT 2'))).toThrow(/more than one statement/);
    expect(() => assertIdempotent(file('CREATE VIEW IF NOT EXISTS stream.v AS SELECT 1'))).toThrow(/{{database}}/);
    expect(() => assertIdempotent(file('-- a comment; with a semicolon\nCREATE VIEW IF NOT EXISTS {{database}}.v AS SELECT 1;\n'))).not.toThrow();
  });

  it('takes one ADD COLUMN (guarded at apply time) and drops only a view an earlier file created', () => {
    expect(() => assertIdempotent(file("ALTER TABLE {{database}}.t ADD COLUMN c String DEFAULT 'web' AFTER b"))).not.toThrow();
    expect(() => assertIdempotent(file('ALTER TABLE {{database}}.t ADD COLUMN c String, ADD COLUMN d String'))).toThrow(/idempotent/);
    const view = file('CREATE VIEW IF NOT EXISTS {{database}}.v AS SELECT 1');
    expect(() => assertIdempotent(file('DROP TABLE IF EXISTS {{database}}.v'), [view])).not.toThrow();
    expect(() => assertIdempotent(file('DROP TABLE IF EXISTS {{database}}.t'), [view])).toThrow(/no earlier migration created as a view/);
    expect(() => assertIdempotent(file('DROP TABLE {{database}}.v'), [view])).toThrow(/idempotent/);
  });

  it('renders the database and refuses names that are not identifiers', () => {
    expect(renderMigration('CREATE VIEW IF NOT EXISTS {{database}}.v AS SELECT * FROM {{database}}.t', 'it_db')).toBe('CREATE VIEW IF NOT EXISTS it_db.v AS SELECT * FROM it_db.t');
    expect(() => identifier('stream; DROP TABLE x')).toThrow(/not a plain identifier/);
    expect(duplicateKeysSql('stream', 'order_summaries')).toBe(
      'SELECT customer_id, window_start, count() AS copies FROM stream.order_summaries GROUP BY customer_id, window_start HAVING count() > 1',
    );
  });
});
