import { describe, expect, it } from 'vitest';
import { withPostgres } from '../../src/clients/postgres.ts';
import { readMigrations } from '../../src/state/migrator.ts';
import { openStateStore } from '../../src/state/state-store.ts';
import { jsonOf, runCli } from './cli.ts';
import { ownDatabase, type OwnDatabase } from './own-database.ts';
import { testConfig, writeTestConfig } from './test-env.ts';

const { config } = testConfig();

/** A brand-new database per test, so "first start" really is the first. */
async function freshDatabase(): Promise<OwnDatabase> {
  const database = ownDatabase(config.warehouse, `sm_it_state_${process.pid}_${Math.floor(Math.random() * 1e9)}`);
  await database.create();
  return database;
}

describe('the control-plane state store', () => {
  it('applies each migration exactly once when several commands start at the same moment', async () => {
    const db = await freshDatabase();
    try {
      const env = { STREAM_MIGRATE_ACTOR: 'it-concurrency' };
      const yaml = `warehouse:\n  url: ${db.url}\n`;
      const fs = await import('node:fs');
      const os = await import('node:os');
      const path = await import('node:path');
      const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-state-'));
      writeTestConfig(cwd, yaml);
      const runs = await Promise.all([1, 2, 3, 4].map(() => runCli(['audit', '--json'], { cwd, env })));
      for (const run of runs) expect(run.exitCode, run.stderr).toBe(0);
      const appliedBy = runs.map((r) => jsonOf<{ migrationsApplied: string[] }>(r).migrationsApplied);
      const files = readMigrations('state').map((f) => f.name);
      // Exactly one of the concurrent commands applied the migrations; the others found them applied.
      expect(appliedBy.filter((a) => a.length > 0)).toEqual([files]);
      const rows = await withPostgres({ url: db.url }, 'test', async (c) => (await c.query('SELECT set, version FROM stream_migrate.schema_migrations')).rows);
      expect(rows).toHaveLength(files.length);
    } finally {
      await db.drop();
    }
  });

  it('keeps the audit log append-only', async () => {
    const db = await freshDatabase();
    const store = await openStateStore({ url: db.url });
    try {
      const id = await store.audit.append({ actor: 'it', command: 'phase run', target: 'infrastructure', outcome: 'succeeded', detail: { steps: 3 } });
      expect(id).toBeGreaterThan(0);
      await expect(store.pool.query('UPDATE stream_migrate.audit_log SET outcome = $1', ['failed'])).rejects.toThrow(/append-only/);
      await expect(store.pool.query('DELETE FROM stream_migrate.audit_log')).rejects.toThrow(/append-only/);
      await expect(store.pool.query('TRUNCATE stream_migrate.audit_log')).rejects.toThrow(/append-only/);
      const [entry] = await store.audit.recent(1);
      expect(entry).toMatchObject({ actor: 'it', command: 'phase run', target: 'infrastructure', outcome: 'succeeded', detail: { steps: 3 } });
    } finally {
      await store.close();
      await db.drop();
    }
  });

  it('refuses to run when an applied migration file has changed', async () => {
    const db = await freshDatabase();
    try {
      (await openStateStore({ url: db.url })).close();
      await withPostgres({ url: db.url }, 'test', (c) => c.query("UPDATE stream_migrate.schema_migrations SET checksum = 'tampered' WHERE version = 1"));
      await expect(openStateStore({ url: db.url })).rejects.toThrow(/changed after it was applied/);
    } finally {
      await db.drop();
    }
  });
});
