import type pg from 'pg';
import { createClickHouse, type ClickHouse } from '../clients/clickhouse.ts';
import { clickhouseAs } from '../output/clickhouse-users.ts';
import { createConnectClient } from '../clients/connect.ts';
import { createKafkaAdmin, type KafkaAdmin } from '../clients/kafka.ts';
import { createPostgresPool, unreachable } from '../clients/postgres.ts';
import type { Config } from '../config/schema.ts';
import { messageOf } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { stackPaths, SERVICE_NAMES } from '../local-stack/paths.ts';
import { localServices, stackStatus } from '../local-stack/stack.ts';
import { readEffective, workerStatus } from '../local-stack/workers.ts';
import { withTimeout } from '../core/time.ts';
import type { PhaseRunDbRow, ValidationReportDbRow } from './migration.ts';
import type { StatusSources } from './snapshot.ts';

export interface StatusSourcesOptions {
  readonly config: Config;
  readonly cwd: string;
  readonly logger: Logger;
}

/**
 * The real services behind a snapshot. Clients are created on first use and kept, so a TUI
 * refreshing every two seconds reuses its connections; `close` ends them all.
 */
export function openStatusSources({ config, cwd, logger }: StatusSourcesOptions): StatusSources {
  const paths = stackPaths(config, cwd);
  const services = new Map(localServices({ config, paths, logger }).map((s) => [s.name, s]));
  let kafka: KafkaAdmin | undefined;
  let warehouse: pg.Pool | undefined;
  let clickhouse: ClickHouse | undefined;
  const kafkaAdmin = (): KafkaAdmin => (kafka ??= createKafkaAdmin(config.kafka, 'status', { retries: 0 }));
  const pool = (): pg.Pool => (warehouse ??= createPostgresPool(config.warehouse, 2, 'stream-migrate-status'));
  const queryWarehouse = async <R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> => {
    try {
      return (await pool().query<R>(sql, params)).rows;
    } catch (error) {
      throw warehouseError(config, error);
    }
  };
  const ch = (): ClickHouse => (clickhouse ??= createClickHouse(clickhouseAs(config, 'reader')));
  const connect = createConnectClient(config.connect, { retry: { retries: 0, initialDelayMs: 100, maxDelayMs: 100 } });

  return {
    serviceNames: SERVICE_NAMES,
    async probeService(name) {
      const service = services.get(name);
      if (!service) throw new Error(`unknown service ${name}`);
      const [status] = await stackStatus({ config, paths, logger }, [service]);
      if (!status) throw new Error(`${name}: no status`);
      return status;
    },
    workers: () => workerStatus(paths),
    scaling: () => {
      const effective = readEffective(paths);
      return effective?.scaling ? { processors: effective.processors, ...effective.scaling } : undefined;
    },
    kafka: {
      listTopics: () => kafkaAdmin().listTopics(),
      endOffsets: (topic) => kafkaAdmin().endOffsets(topic),
      groupLag: (groupId) => kafkaAdmin().groupLag(groupId),
      listGroups: () => kafkaAdmin().listGroups(),
    },
    connect: { status: (name) => connect.status(name) },
    clickhouse: { query: <T>(sql: string) => ch().query<T>(sql) },
    async latestPhaseRuns() {
      return queryWarehouse<PhaseRunDbRow & pg.QueryResultRow>(
        'SELECT DISTINCT ON (phase) phase, status, started_at, finished_at, actor FROM stream_migrate.phase_runs ORDER BY phase, started_at DESC, id DESC',
      );
    },
    async latestValidationReports(limit) {
      // Only the per-table counts and the first few samples leave the database: a report's samples can be large.
      return queryWarehouse<ValidationReportDbRow & pg.QueryResultRow>(
        `SELECT r.id, r.window_from, r.window_to, r.verdict, r.elapsed_ms, r.actor, r.created_at,
                (SELECT coalesce(jsonb_agg(jsonb_build_object(
                          'name', t->'name', 'batchRows', t->'batchRows', 'streamRows', t->'streamRows',
                          'missingInStream', t->'missingInStream', 'missingInBatch', t->'missingInBatch', 'mismatched', t->'mismatched',
                          'samples', (SELECT coalesce(jsonb_agg(s.value), '[]'::jsonb)
                                        FROM (SELECT value FROM jsonb_array_elements(CASE WHEN jsonb_typeof(t->'samples') = 'array' THEN t->'samples' ELSE '[]'::jsonb END) LIMIT 3) AS s))), '[]'::jsonb)
                   FROM jsonb_array_elements(CASE WHEN jsonb_typeof(r.report->'tables') = 'array' THEN r.report->'tables' ELSE '[]'::jsonb END) AS t) AS tables
           FROM stream_migrate.validation_reports r
          ORDER BY r.created_at DESC, r.id DESC
          LIMIT $1`,
        [limit],
      );
    },
    async gate() {
      // Loaded on demand: the gate pulls in the Connect and Kafka clients.
      const { gatherGate } = await import('../cutover/gate.ts');
      try {
        // The status pool, not a state store per refresh: status only reads, and never migrates.
        return await gatherGate({ config, cwd, db: pool(), clients: { connect, kafka: kafkaAdmin() } });
      } catch (error) {
        throw warehouseError(config, error);
      }
    },
    async close() {
      const closing = [kafka?.close(), warehouse?.end(), clickhouse?.close()].filter((p): p is Promise<void> => p !== undefined);
      // A client stuck on a service that is down must not keep the command from exiting.
      await Promise.all(closing.map((p) => withTimeout(p, 2_000).catch(() => undefined)));
    },
  };
}


/**
 * SQL errors keep their message (status only reads, so it never migrates the state schema
 * itself); anything else means the warehouse could not be reached.
 */
function warehouseError(config: Config, error: unknown): Error {
  const code = (error as { code?: unknown }).code;
  // SQLSTATEs are five characters; system errors such as EPIPE can be too.
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !/^E[A-Z]+$/.test(code)) {
    if (code === '42P01' || code === '3F000') return new Error(`the state schema stream_migrate is missing or old: ${messageOf(error)}; run \`stream-migrate phase list\` once to create it`, { cause: error });
    return error instanceof Error ? error : new Error(messageOf(error));
  }
  return unreachable(config.warehouse, 'warehouse', error);
}
