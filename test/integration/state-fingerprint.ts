import fs from 'node:fs';
import path from 'node:path';
import { createClickHouse } from '../../src/clients/clickhouse.ts';
import { createKafkaAdmin } from '../../src/clients/kafka.ts';
import { withPostgres } from '../../src/clients/postgres.ts';
import type { Config } from '../../src/config/schema.ts';
import { withTimeout } from '../../src/core/time.ts';
import { stackPaths } from '../../src/local-stack/paths.ts';
import { isPortFree } from '../../src/local-stack/processes.ts';

/** What a service answered, or that it did not (its error text varies, so it is left out). */
export type Observed<T> = T | 'unreachable';

/**
 * The parts of a migration's state that commands change and a running pipeline does not: counts
 * and newest ids of the control-plane tables, the objects tests create (slots, publications, roles,
 * schemas, databases, topics, groups, connectors), which of the stack's ports answer, and the pid
 * files under its directory. Read only: nothing here creates or migrates anything.
 */
export interface StateFingerprint {
  readonly controlPlane: Observed<Readonly<Record<string, string>>>;
  readonly postgres: Observed<{ readonly slots: readonly string[]; readonly publications: readonly string[]; readonly roles: readonly string[]; readonly warehouseSchemas: readonly string[]; readonly databases: readonly string[] }>;
  readonly kafka: Observed<{ readonly topics: readonly string[]; readonly groups: readonly string[] }>;
  readonly connectors: Observed<readonly string[]>;
  readonly clickhouse: Observed<{ readonly databases: readonly string[]; readonly tables: readonly string[] }>;
  readonly listening: Readonly<Record<string, boolean>>;
  readonly files: readonly string[];
}

/** Reads the fingerprint of the stack `config` points at, whose working directory is `cwd`. */
export async function fingerprintState(config: Config, cwd: string): Promise<StateFingerprint> {
  const [controlPlane, postgres, kafka, connectors, clickhouse, listening] = await Promise.all([
    observe(() => controlPlaneCounts(config)),
    observe(() => postgresObjects(config)),
    observe(() => kafkaObjects(config)),
    observe(() => connectorNames(config)),
    observe(() => clickhouseObjects(config)),
    listeningPorts(config),
  ]);
  return { controlPlane, postgres, kafka, connectors, clickhouse, listening, files: stackFiles(config, cwd) };
}

/** The keys of two fingerprints that differ, each with both values, for a failure message. */
export function fingerprintChanges(before: StateFingerprint, after: StateFingerprint): readonly string[] {
  return (Object.keys(before) as (keyof StateFingerprint)[])
    .filter((key) => JSON.stringify(before[key]) !== JSON.stringify(after[key]))
    .map((key) => `${key}: ${JSON.stringify(before[key])} -> ${JSON.stringify(after[key])}`);
}

async function observe<T>(read: () => Promise<T>): Promise<Observed<T>> {
  try {
    return await withTimeout(read(), 20_000);
  } catch {
    return 'unreachable';
  }
}

/** Row count and newest id of every table of the state schema (phase runs, batch runs, reports, decisions, audit log...). */
async function controlPlaneCounts(config: Config): Promise<Record<string, string>> {
  return withPostgres(config.warehouse, 'warehouse', async (client) => {
    const { rows: tables } = await client.query<{ table_name: string; has_id: boolean }>(
      `SELECT t.table_name, EXISTS (SELECT 1 FROM information_schema.columns c WHERE c.table_schema = t.table_schema AND c.table_name = t.table_name AND c.column_name = 'id') AS has_id
         FROM information_schema.tables t WHERE t.table_schema = 'stream_migrate' AND t.table_type = 'BASE TABLE' ORDER BY t.table_name`,
    );
    const counts: Record<string, string> = {};
    for (const { table_name: table, has_id: hasId } of tables) {
      const { rows } = await client.query<{ n: string; max_id: string | null }>(
        `SELECT count(*)::text AS n, ${hasId ? 'max(id)::text' : 'NULL'} AS max_id FROM stream_migrate."${table.replaceAll('"', '""')}"`,
      );
      counts[table] = `${rows[0]?.n ?? '?'} rows, max id ${rows[0]?.max_id ?? '-'}`;
    }
    return counts;
  });
}

async function postgresObjects(config: Config): Promise<Exclude<StateFingerprint['postgres'], 'unreachable'>> {
  const names = async (target: Config['source'], role: string, sql: string): Promise<string[]> =>
    withPostgres(target, role, async (client) => (await client.query<{ name: string }>(sql)).rows.map((r) => r.name));
  const [slots, roles, databases, publications, warehouseSchemas] = await Promise.all([
    names(config.warehouse, 'warehouse', 'SELECT slot_name AS name FROM pg_replication_slots ORDER BY 1'),
    names(config.warehouse, 'warehouse', 'SELECT rolname AS name FROM pg_roles ORDER BY 1'),
    names(config.warehouse, 'warehouse', 'SELECT datname AS name FROM pg_database ORDER BY 1'),
    names(config.source, 'source', 'SELECT pubname AS name FROM pg_publication ORDER BY 1'),
    names(config.warehouse, 'warehouse', "SELECT nspname AS name FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' ORDER BY 1"),
  ]);
  return { slots, publications, roles, warehouseSchemas, databases };
}

async function kafkaObjects(config: Config): Promise<{ topics: readonly string[]; groups: readonly string[] }> {
  const admin = createKafkaAdmin(config.kafka, 'state-fingerprint');
  try {
    const [topics, groups] = await Promise.all([admin.listTopics(), admin.listGroups()]);
    return { topics, groups: groups.map((g) => g.groupId).sort() };
  } finally {
    await admin.close().catch(() => undefined);
  }
}

async function connectorNames(config: Config): Promise<readonly string[]> {
  const response = await fetch(new URL('/connectors', config.connect.url), { signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`GET /connectors answered ${response.status}`);
  return ((await response.json()) as string[]).sort();
}

async function clickhouseObjects(config: Config): Promise<{ databases: readonly string[]; tables: readonly string[] }> {
  const ch = createClickHouse(config.clickhouse, 'default');
  try {
    const databases = (await ch.query<{ name: string }>('SELECT name FROM system.databases ORDER BY name')).map((r) => r.name);
    const tables = (await ch.query<{ name: string }>(`SELECT name FROM system.tables WHERE database = '${config.clickhouse.database}' ORDER BY name`)).map((r) => r.name);
    return { databases, tables };
  } finally {
    await ch.close();
  }
}

/** Which of the stack's ports something listens on: a stopped stack that the tests started would show here. */
async function listeningPorts(config: Config): Promise<Record<string, boolean>> {
  const ports = { ...config.dev.ports, processorMetrics: config.monitoring.processorMetricsPort, sinkMetrics: config.monitoring.sinkMetricsPort };
  const entries = await Promise.all(Object.entries(ports).map(async ([name, port]) => [`${name}:${port}`, !(await isPortFree(port))] as const));
  return Object.fromEntries(entries);
}

/**
 * The stack directory's top-level entries, and under each the pid files with their pids, the
 * workers' folder and the validation reports: what a command run there would change. Logs and data files change by
 * themselves while services run, so they are left out.
 */
function stackFiles(config: Config, cwd: string): readonly string[] {
  const root = stackPaths(config, cwd).root;
  const list = (dir: string): string[] => {
    try {
      return fs.readdirSync(dir).sort();
    } catch {
      return [];
    }
  };
  const files: string[] = [];
  for (const entry of list(root)) {
    files.push(entry);
    for (const inner of list(path.join(root, entry))) {
      if (!inner.endsWith('.pid') && entry !== 'workers' && entry !== 'reports') continue;
      const file = path.join(root, entry, inner);
      const pid = inner.endsWith('.pid') ? ` ${fs.readFileSync(file, 'utf8').trim()}` : '';
      files.push(`${entry}/${inner}${pid}`);
    }
  }
  return files;
}
