import { withPostgres } from '../../clients/postgres.ts';
import { CheckFailedError, DependencyError } from '../../core/errors.ts';
import { migrateClickHouse, readClickHouseMigrations } from '../../output/clickhouse-migrations.ts';
import type { Phase, PhaseContext, PhaseStep } from '../phase.ts';
import { groupHealth } from '../processing/group-health.ts';

type ClickHouseModule = typeof import('../../clients/clickhouse.ts');

/** The ClickHouse output schema: versioned storage tables and current-state views. */
function schemaStep(ctx: PhaseContext, ch: ReturnType<ClickHouseModule['createClickHouse']>): PhaseStep {
  const database = ctx.config.clickhouse.database;
  const applied = async (): Promise<Set<number>> => {
    try {
      const rows = await ch.query<{ version: number | string }>(`SELECT version FROM ${database}.schema_migrations GROUP BY version`);
      return new Set(rows.map((r) => Number(r.version)));
    } catch (error) {
      // No migrations table yet means nothing applied; an unreachable ClickHouse is no plan at all.
      if (error instanceof DependencyError) throw error;
      return new Set();
    }
  };
  return {
    name: 'clickhouse-schema',
    async plan() {
      const done = await applied();
      return readClickHouseMigrations()
        .filter((f) => !done.has(f.version))
        .map((f) => ({ resource: `clickhouse/${database}/${f.name}`, action: 'create' as const, diff: f.sql.split('\n').find((l) => /^CREATE/i.test(l.trim()))?.trim() ?? f.name }));
    },
    async apply() {
      const result = await migrateClickHouse(ch, database);
      return `applied ${result.applied.length} migration(s)`;
    },
    async verify() {
      const views = await ch.query<{ name: string }>(`SELECT name FROM system.tables WHERE database = '${database}' AND name IN ('processed_orders', 'order_summaries', 'fraud_alerts')`);
      if (views.length !== 3) throw new CheckFailedError(`ClickHouse ${database} lacks views: found ${views.map((v) => v.name).join(', ') || 'none'}`);
      return `views processed_orders, order_summaries, fraud_alerts in ${database}`;
    },
  };
}

function sinkGroupStep(ctx: PhaseContext): PhaseStep {
  return {
    name: 'sink-group',
    plan: async () => [],
    apply: async () => 'nothing to change',
    async verify() {
      const { createKafkaAdmin } = await import('../../clients/kafka.ts');
      const admin = createKafkaAdmin(ctx.config.kafka, 'output', { retries: 2 });
      try {
        return await groupHealth(admin, ctx.config.sink.groupId, ctx.config.cutover.maxConsumerLag);
      } finally {
        await admin.close();
      }
    },
  };
}

/**
 * Fresh source changes reach the views: the newest order committed in the source a few seconds
 * ago (cancelled or not) must be reflected in ClickHouse within the timeout.
 */
function freshnessStep(ctx: PhaseContext, ch: ReturnType<ClickHouseModule['createClickHouse']>): PhaseStep {
  return {
    name: 'fresh-changes',
    plan: async () => [],
    apply: async () => 'nothing to change',
    async verify() {
      const newest = await withPostgres(ctx.config.source, 'source', async (c) => {
        const { rows } = await c.query<{ id: string; status: string }>(
          "SELECT id, status FROM public.orders WHERE status <> 'CANCELLED' AND created_at < now() - interval '2 seconds' ORDER BY id DESC LIMIT 1",
        );
        return rows[0];
      });
      if (!newest) return 'no orders in the source yet; nothing to follow';
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        const rows = await ch.query<{ n: string }>(`SELECT count() AS n FROM ${ctx.config.clickhouse.database}.processed_orders WHERE order_id = ${Number(newest.id)}`);
        if (Number(rows[0]?.n ?? 0) > 0) return `order ${newest.id} from the source is in ${ctx.config.clickhouse.database}.processed_orders`;
        await new Promise((r) => setTimeout(r, 1_000));
      }
      throw new CheckFailedError(`order ${newest.id} from the source did not reach ClickHouse within 60 s; check the connector, processor and sink (stream-migrate workers status)`);
    },
  };
}

/** ClickHouse schema applied and the sink keeping the views current. */
export const outputPhase: Phase = {
  name: 'output',
  description: 'ClickHouse schema and sinks; fresh changes reach the views',
  async steps(ctx) {
    const { createClickHouse } = await import('../../clients/clickhouse.ts');
    const ch = createClickHouse(ctx.config.clickhouse, 'default');
    return { steps: [schemaStep(ctx, ch), sinkGroupStep(ctx), freshnessStep(ctx, ch)], close: () => ch.close() };
  },
};
