import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnectClient } from '../../src/clients/connect.ts';
import type { SnapshotResult } from '../../src/snapshot/incremental-snapshot.ts';
import { jsonOf } from './cli.ts';
import { ConnectorFixture, runId, waitFor } from './connector-fixture.ts';

const id = `snap${runId()}`;
// Small chunks, so the 60 rows below take several chunks and the progress moves.
const f = new ConnectorFixture(id, { connector: { tables: ['public.orders', 'public.customers', 'public.products'], snapshotChunkSize: 16 } });
const ORDERS = 60;
let orderIds: number[] = [];

beforeAll(async () => {
  await f.ensureSourceSchema();
  await f.createTopics();
}, 120_000);

afterAll(async () => {
  await f.cleanup();
});

describe('snapshot (Debezium incremental snapshot through the signal table)', () => {
  it('the ingestion phase creates the signal table, publishes it and gives the connector signal and notification settings', async () => {
    const run = await f.cli(['phase', 'run', 'ingestion', '--json']);
    const result = jsonOf<{ status: string; steps: { name: string; status: string; detail: string }[] }>(run);
    expect(result.status, run.stderr).toBe('succeeded');
    const step = result.steps.find((s) => s.name === 'signal-table');
    expect(step?.detail).toMatch(new RegExp(`signal table ${f.config.connector.signalTable} created`));

    const [table] = await f.source((sql) =>
      sql(
        `SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position) AS columns FROM information_schema.columns WHERE table_schema = 'stream_migrate' AND table_name = $1`,
        [`it_signal_${id}`],
      ),
    );
    expect(table?.columns).toBe('id text, type text, data text');
    const published = await f.source((sql) => sql('SELECT schemaname || \'.\' || tablename AS t FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1', [f.config.connector.publicationName]));
    expect(published.map((r) => r.t)).toEqual(['public.customers', 'public.orders', 'public.products', f.config.connector.signalTable]);
    const stored = await createConnectClient(f.config.connect).getConfig(f.config.connector.name);
    expect(stored).toMatchObject({
      'signal.enabled.channels': 'source',
      'signal.data.collection': f.config.connector.signalTable,
      'incremental.snapshot.chunk.size': '16',
      'notification.sink.topic.name': `__debezium-notifications.${f.config.connector.topicPrefix}`,
    });
    // Idempotent: a second run changes nothing.
    const plan = jsonOf<{ changes: { step: string }[] }>(await f.cli(['phase', 'plan', 'ingestion', '--json']));
    expect(plan.changes.filter((c) => c.step !== 'connector-running')).toEqual([]);
  }, 240_000);

  it('re-sends exactly the rows the condition selects, as op r records, and reports done', async () => {
    const [customer] = await f.source((sql) => sql(`INSERT INTO public.customers (name, tier) VALUES ('it ${id}', 'SILVER') RETURNING id`));
    const [product] = await f.source((sql) => sql(`INSERT INTO public.products (name, category, price) VALUES ('it ${id}', 'books', 9.99) RETURNING id`));
    const rows = await f.source((sql) =>
      sql(`INSERT INTO public.orders (customer_id, product_id, quantity, amount, status) SELECT $1, $2, 1, g, 'PLACED' FROM generate_series(1, ${ORDERS}) g RETURNING id`, [customer!.id, product!.id]),
    );
    orderIds = rows.map((r) => Number(r.id)).sort((a, b) => a - b);
    f.rows.push(`DELETE FROM public.orders WHERE id BETWEEN ${orderIds[0]} AND ${orderIds.at(-1)} AND customer_id = ${Number(customer!.id)}`, `DELETE FROM public.customers WHERE id = ${Number(customer!.id)}`, `DELETE FROM public.products WHERE id = ${Number(product!.id)}`);
    const ours = new Set(orderIds);
    // Streamed first, as inserts (op c).
    await waitFor('the inserts on the CDC topic', async () => {
      const seen = (await f.all(f.topics.orders)).filter((r) => ours.has(idOf(r.key)));
      return seen.length >= ORDERS ? seen : undefined;
    });

    const dry = await f.cli(['snapshot', '--table', 'public.orders', '--where', `customer_id = ${Number(customer!.id)}`, '--dry-run', '--json']);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(jsonOf<SnapshotResult>(dry)).toMatchObject({ dryRun: true, matchingRows: ORDERS, rows: null });
    const [{ n: signals } = { n: -1 }] = await f.source((sql) => sql(`SELECT count(*)::int AS n FROM ${f.config.connector.signalTable} WHERE type = 'execute-snapshot'`));
    expect(signals).toBe(0);

    const half = orderIds[ORDERS / 2 - 1]!;
    const where = `id <= ${half} AND customer_id = ${Number(customer!.id)}`;
    const started = Date.now();
    const run = await f.cli(['snapshot', '--table', 'public.orders', '--where', where, '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    const result = jsonOf<SnapshotResult>(run);
    console.log(`snapshot of ${ORDERS / 2} rows: ${JSON.stringify({ rows: result.rows, elapsedMs: result.elapsedMs, rowsPerSecond: result.rowsPerSecond })} (command ${Date.now() - started} ms)`);
    expect(result).toMatchObject({ table: 'public.orders', where, dryRun: false, matchingRows: ORDERS / 2, rows: ORDERS / 2 });
    expect(result.signal.id).toMatch(/^snapshot-/);

    const reads = await waitFor('the re-sent rows', async () => {
      const r = (await f.all(f.topics.orders)).filter((rec) => ours.has(idOf(rec.key)) && valueOf(rec)?.__op === 'r');
      return r.length >= ORDERS / 2 ? r : undefined;
    }, 10_000);
    // Exactly the selected rows, each once, with their current values.
    expect(reads.map((r) => idOf(r.key)).sort((a, b) => a - b)).toEqual(orderIds.slice(0, ORDERS / 2));
    expect(reads.every((r) => valueOf(r)?.status === 'PLACED' && valueOf(r)?.__deleted === 'false')).toBe(true);
  }, 240_000);

  it('refuses a table the connector does not capture and a condition PostgreSQL rejects, with exit 2', async () => {
    const table = await f.cli(['snapshot', '--table', 'public.secrets']);
    expect(table.exitCode).toBe(2);
    expect(table.stderr).toMatch(/^error: --table public\.secrets: not a table the connector captures; choose one of public\.orders, public\.customers, public\.products/m);
    const where = await f.cli(['snapshot', '--table', 'public.orders', '--where', 'no_such_column = 1']);
    expect(where.exitCode).toBe(2);
    expect(where.stderr).toMatch(/--where "no_such_column = 1": PostgreSQL rejects it on public\.orders: column "no_such_column" does not exist/);
  }, 60_000);
});

function idOf(key: Buffer | null): number {
  try {
    return Number((JSON.parse(key?.toString('utf8') ?? '{}') as { id?: unknown }).id);
  } catch {
    return Number.NaN;
  }
}

function valueOf(record: { value: Buffer | null }): Record<string, unknown> | null {
  return record.value === null ? null : (JSON.parse(record.value.toString('utf8')) as Record<string, unknown>);
}
