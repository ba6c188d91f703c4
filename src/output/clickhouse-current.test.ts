import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkClickHouseSql } from '../../test/clickhouse-conformance.ts';
import { createClickHouse, type ClickHouse, type ClickHouseConnection } from '../clients/clickhouse.ts';
import { buildConfig } from '../config/load.ts';
import { migrateClickHouse, readClickHouseMigrations } from './clickhouse-migrations.ts';

/**
 * The ClickHouse SQL on a current release: chdb embeds ClickHouse 26.x in this process, and
 * @clickhouse/client talks to it through chdb's connection adapter instead of HTTP, so the very
 * adapter, migrator, sink rows, views and validation SQL that run against 18.16 on the test stack
 * (test/integration/output-tables.test.ts) run here too. No service needed.
 */
const DATABASE = 'stream_current';
let dir: string;
let ch: ClickHouse;

/**
 * chdb is not a dependency in package.json: its package names binary packages for four platforms
 * and the registry serves only linux-x64's, so `npm ci` would refuse the lock file. `.ci/run`
 * installs it (`npm install --no-save chdb@3.4.0`); without it this file is skipped and says why.
 * Loaded by a computed name so the type check does not need it either.
 */
type ChdbConnectionModule = { createChdbConnection(options: { path: string }): unknown };
const CHDB_MODULE = 'chdb/connection';
const chdb = await import(CHDB_MODULE).then(
  (loaded: unknown) => loaded as ChdbConnectionModule,
  () => undefined,
);
if (!chdb) console.warn('chdb is not installed: the ClickHouse 26.x SQL test is skipped (install it with `npm install --no-save chdb@3.4.0`, as .ci/run does)');

beforeAll(() => {
  if (!chdb) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-chdb-'));
  // chdb declares the Connection interface from its own copy of @clickhouse/client-common: the same shape, another type identity.
  const connection = chdb.createChdbConnection({ path: dir }) as ClickHouseConnection;
  ch = createClickHouse(buildConfig({}, undefined).config.clickhouse, 'default', connection);
});

afterAll(async () => {
  await ch?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!chdb)('ClickHouse SQL on a current release (chdb)', () => {
  it('is a release beyond 18.16', async () => {
    const [row] = await ch.query<{ v: string }>('SELECT version() AS v');
    expect(Number(row?.v.split('.')[0])).toBeGreaterThanOrEqual(23);
  });

  it('applies every migration in order, and again as a no-op; a re-run of the channel migrations changes nothing', async () => {
    const first = await migrateClickHouse(ch, DATABASE);
    expect(first.applied).toEqual(readClickHouseMigrations().map((f) => f.name));
    expect((await migrateClickHouse(ch, DATABASE)).applied).toEqual([]);
    // As if a concurrent applier had not recorded them: ADD COLUMN is skipped, the view recreated.
    const again = readClickHouseMigrations().filter((f) => f.version >= 10);
    await ch.command(`ALTER TABLE ${DATABASE}.schema_migrations DELETE WHERE version >= 10`);
    await waitForMutations();
    expect((await migrateClickHouse(ch, DATABASE)).applied).toEqual(again.map((f) => f.name));
  });

  it('runs the sink inserts, views, validation and status SQL with the answers computed here', async () => {
    await checkClickHouseSql(ch, DATABASE);
  });
});

async function waitForMutations(): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const [row] = await ch.query<{ n: string }>(`SELECT toString(count()) AS n FROM system.mutations WHERE database = '${DATABASE}' AND NOT is_done`);
    if (Number(row?.n) === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('mutation not done');
}
