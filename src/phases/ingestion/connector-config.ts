/**
 * The desired Debezium PostgreSQL connector configuration, derived from the stream-migrate
 * configuration by a pure function, and the key-by-key diff against what Connect holds.
 */
import type { Config } from '../../config/schema.ts';
import { parseDuration } from '../../core/duration.ts';
import { ConfigError } from '../../core/errors.ts';
import { isLocalStackPostgres } from '../../local-stack/local-target.ts';

export const POSTGRES_CONNECTOR_CLASS = 'io.debezium.connector.postgresql.PostgresConnector';

/** Debezium names the heartbeat topic `<topic.heartbeat.prefix>.<topic.prefix>`; the prefix is set explicitly so the name is stable. */
export const HEARTBEAT_TOPIC_PREFIX = '__debezium-heartbeat';

export type ConnectorSettings = Config['connector'];

/** `__debezium-heartbeat.cdc` for topic prefix `cdc`. */
export function heartbeatTopic(connector: Pick<ConnectorSettings, 'topicPrefix'>): string {
  return `${HEARTBEAT_TOPIC_PREFIX}.${connector.topicPrefix}`;
}

/** Debezium's notifications (incremental snapshot started, chunk done, completed) go to this topic, which Connect creates. */
export const NOTIFICATION_TOPIC_PREFIX = '__debezium-notifications';

/** `__debezium-notifications.cdc` for topic prefix `cdc`: where `snapshot` follows its signal to the end. */
export function notificationTopic(connector: Pick<ConnectorSettings, 'topicPrefix'>): string {
  return `${NOTIFICATION_TOPIC_PREFIX}.${connector.topicPrefix}`;
}

/** Debezium's default topic of a table: `<topic.prefix>.<schema>.<table>`, e.g. `cdc.public.orders`. */
export function cdcTopic(connector: Pick<ConnectorSettings, 'topicPrefix'>, table: string): string {
  return `${connector.topicPrefix}.${table}`;
}

export interface SourceConnection {
  readonly host: string;
  readonly port: string;
  readonly dbname: string;
  readonly user: string;
  readonly sslmode: string | undefined;
  /** The source is reached with a password (in the URL or `source.password`), so the connector needs one too. */
  readonly hasPassword: boolean;
}

/** Host, port, database and user of `source.url`, the way Debezium's `database.*` wants them. */
export function sourceConnection(config: Pick<Config, 'source'>): SourceConnection {
  let url: URL;
  try {
    url = new URL(config.source.url);
  } catch {
    throw new ConfigError('source.url: not a valid URL; expected postgresql://user@host:port/database', { details: { path: 'source.url' } });
  }
  const dbname = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (dbname === '') throw new ConfigError('source.url: names no database; expected postgresql://user@host:port/database', { details: { path: 'source.url' } });
  const user = decodeURIComponent(url.username);
  if (user === '') throw new ConfigError('source.url: names no user; Debezium needs one: postgresql://user@host:port/database', { details: { path: 'source.url' } });
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port || '5432',
    dbname,
    user,
    sslmode: url.searchParams.get('sslmode') ?? undefined,
    hasPassword: url.password !== '' || (config.source.password ?? '') !== '',
  };
}

/** The least-privilege role the connector logs in as on the embedded local stack unless connector.role says otherwise. */
export const LOCAL_REPLICATION_ROLE = 'stream_migrate_cdc';

/**
 * Who the connector logs in as: connector.role, or on the local stack (trust authentication on
 * loopback, so no password) the least-privilege LOCAL_REPLICATION_ROLE; undefined means the user of
 * source.url, which elsewhere is the DBA's choice.
 */
export function connectorRole(config: Pick<Config, 'source' | 'connector' | 'dev'>): Config['connector']['role'] {
  if (config.connector.role !== undefined) return config.connector.role;
  return isLocalStackPostgres(config.source.url, config) ? { name: LOCAL_REPLICATION_ROLE } : undefined;
}

/** `env:NAME` → `${env:NAME}`; `file:/path:key` → `${file:/path:key}`: a reference the Connect worker resolves. */
export function providerReference(passwordFrom: string): string {
  if (passwordFrom.startsWith('file:') && !/^file:.+:[^:/]+$/.test(passwordFrom)) {
    throw new ConfigError(`connector.passwordFrom: ${passwordFrom} names no key; expected file:/path/secrets.properties:key`, {
      details: { path: 'connector.passwordFrom' },
    });
  }
  return `\${${passwordFrom}}`;
}

const PROVIDER_REFERENCE = /^\$\{[A-Za-z0-9_-]+:[^}]*\}$/;
const SENSITIVE_KEY = /(password|secret|token|credential|jaas|api\.?key)/i;

/** Keys whose values are secrets (Connect's PASSWORD type and their kin). */
export function isSensitiveKey(key: string): boolean {
  return SENSITIVE_KEY.test(key);
}

/** A `${provider:...}` reference: safe to store and show, the worker resolves it. */
export function isProviderReference(value: string): boolean {
  return PROVIDER_REFERENCE.test(value);
}

/** Regex for Debezium's include lists, which are regular expressions matched against the whole `schema.table`. */
function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function millis(value: string, path: string): string {
  const ms = parseDuration(value);
  if (ms === undefined) throw new ConfigError(`${path}: expected a duration such as 10s`, { details: { path } });
  return String(ms);
}

/**
 * The Debezium connector config for `config`. Throws ConfigError when the source needs a password
 * and `connector.passwordFrom` does not say where Connect reads it, or when an override would store
 * a secret in plain text.
 */
export function buildConnectorConfig(config: Pick<Config, 'source' | 'connector' | 'topics' | 'dev'>): Record<string, string> {
  const connector = config.connector;
  const source = sourceConnection(config);
  const role = connectorRole(config);
  const needsPassword = role ? role.password !== undefined : source.hasPassword;
  if (needsPassword && connector.passwordFrom === undefined) {
    const who = role ? `role ${role.name} has a password` : 'the source is reached with a password';
    throw new ConfigError(
      `connector.passwordFrom: ${who}, so set connector.passwordFrom (e.g. env:STREAM_MIGRATE_SOURCE_PASSWORD) so that Kafka Connect reads it from its environment or a file; it is never written into the connector config`,
      { details: { path: 'connector.passwordFrom' } },
    );
  }

  // Every CDC topic is made by the infrastructure phase; Connect creates only what Debezium adds
  // (the heartbeat topic), with the replication factor the CDC topics have (-1: the broker's default).
  const cdcPrefix = `${connector.topicPrefix}.`;
  const replicationFactors = Object.entries(config.topics)
    .filter(([name]) => name.startsWith(cdcPrefix))
    .map(([, spec]) => spec.replicationFactor);
  const replicationFactor = replicationFactors.length > 0 ? Math.max(...replicationFactors) : -1;

  const generated: Record<string, string> = {
    'connector.class': POSTGRES_CONNECTOR_CLASS,
    'tasks.max': '1',
    'plugin.name': 'pgoutput',
    'database.hostname': source.host,
    'database.port': source.port,
    'database.dbname': source.dbname,
    'database.user': role?.name ?? source.user,
    ...(connector.passwordFrom !== undefined ? { 'database.password': providerReference(connector.passwordFrom) } : {}),
    ...(source.sslmode !== undefined ? { 'database.sslmode': source.sslmode } : {}),
    'topic.prefix': connector.topicPrefix,
    'slot.name': connector.slotName,
    'publication.name': connector.publicationName,
    // The publication step creates it (`create`) or the DBA owns it (`existing`): Debezium must never
    // create one FOR ALL TABLES or alter someone else's.
    'publication.autocreate.mode': 'disabled',
    'table.include.list': connector.tables.map(escapeRegex).join(','),
    'snapshot.mode': connector.snapshotMode,
    // Money stays exact on the wire: NUMERIC as "1234.50", not Connect's base64 Decimal bytes.
    'decimal.handling.mode': 'string',
    // timestamptz is always an ISO-8601 UTC string (ZonedTimestamp); this keeps time/timestamp
    // columns at microsecond precision instead of Connect's millisecond types.
    'time.precision.mode': 'adaptive_time_microseconds',
    // Heartbeats commit offsets while the included tables are idle, so the slot's confirmed LSN
    // moves on and the source does not keep WAL for us.
    'heartbeat.interval.ms': millis(connector.heartbeatInterval, 'connector.heartbeatInterval'),
    'topic.heartbeat.prefix': HEARTBEAT_TOPIC_PREFIX,
    'max.batch.size': String(connector.maxBatchSize),
    'max.queue.size': String(connector.maxQueueSize),
    'poll.interval.ms': millis(connector.pollInterval, 'connector.pollInterval'),
    // The delete event is followed by a tombstone, which the SMT below keeps after its rewrite.
    'tombstones.on.delete': 'true',
    // No RegexRouter: Debezium's own `<topic.prefix>.<schema>.<table>` already is cdc.public.orders,
    // and a router would also rename the heartbeat topic whenever its pattern matched too widely.
    transforms: 'unwrap',
    'transforms.unwrap.type': 'io.debezium.transforms.ExtractNewRecordState',
    // A delete becomes the old row with __deleted "true", then a tombstone: consumers retract by
    // key, and compaction finally drops the key.
    'transforms.unwrap.delete.tombstone.handling.mode': 'rewrite-with-tombstone',
    // __op (c/u/d/r), __source_ts_ms (commit time at the source, for end-to-end latency), __lsn.
    'transforms.unwrap.add.fields': 'op,source.ts_ms,lsn',
    'topic.creation.default.partitions': '1',
    'topic.creation.default.replication.factor': String(replicationFactor),
    'topic.creation.default.cleanup.policy': 'compact',
    // Incremental snapshots on demand (`snapshot`, `dlq replay`): signals are rows inserted into the
    // signal table, which the publication carries; Debezium reads it from the WAL and needs no
    // entry in table.include.list. insert_delete keeps the table from growing by two
    // watermark rows per chunk.
    'signal.enabled.channels': 'source',
    'signal.data.collection': connector.signalTable,
    'incremental.snapshot.chunk.size': String(connector.snapshotChunkSize),
    'incremental.snapshot.watermarking.strategy': 'insert_delete',
    // Notifications carry the signal's id (STARTED, IN_PROGRESS per chunk, COMPLETED): the one
    // completion signal reachable without JMX. A delete-policy topic of their own, kept a week.
    'notification.enabled.channels': 'sink',
    'notification.sink.topic.name': notificationTopic(connector),
    'topic.creation.groups': 'notifications',
    'topic.creation.notifications.include': escapeRegex(notificationTopic(connector)),
    'topic.creation.notifications.cleanup.policy': 'delete',
    'topic.creation.notifications.retention.ms': String(7 * 24 * 3_600_000),
  };

  for (const [key, value] of Object.entries(connector.config)) {
    if (isSensitiveKey(key) && !isProviderReference(value)) {
      throw new ConfigError(
        `connector.config.${key}: a secret would be stored in plain text in Connect's config topic; use connector.passwordFrom for the database password, or a \${provider:...} reference the worker resolves`,
        { details: { path: `connector.config.${key}` } },
      );
    }
  }
  return { ...generated, ...connector.config };
}

/** A copy fit to print: secrets masked, provider references kept (they name where the secret is, not the secret). */
export function maskConnectorConfig(config: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, maskValue(k, v)]));
}

function maskValue(key: string, value: string): string {
  return isSensitiveKey(key) && !isProviderReference(value) ? '***' : value;
}

export interface ConfigDiff {
  readonly action: 'create' | 'update' | 'none';
  /** `+ key = value`, `- key = value`, `~ key: old → new`, secrets masked. */
  readonly lines: readonly string[];
}

/**
 * Compares the desired config with Connect's (`GET /connectors/{name}/config`) key by key. Connect
 * adds `name` to what it stores, so that key is ignored.
 */
export function diffConnectorConfig(current: Readonly<Record<string, string>> | undefined, desired: Readonly<Record<string, string>>): ConfigDiff {
  if (current === undefined) {
    return { action: 'create', lines: Object.keys(desired).sort().map((k) => `+ ${k} = ${maskValue(k, desired[k]!)}`) };
  }
  const keys = [...new Set([...Object.keys(current), ...Object.keys(desired)])].filter((k) => k !== 'name').sort();
  const lines: string[] = [];
  for (const key of keys) {
    const before = current[key];
    const after = desired[key];
    if (before === after) continue;
    if (before === undefined) lines.push(`+ ${key} = ${maskValue(key, after!)}`);
    else if (after === undefined) lines.push(`- ${key} = ${maskValue(key, before)}`);
    else lines.push(`~ ${key}: ${maskValue(key, before)} → ${maskValue(key, after)}`);
  }
  return { action: lines.length === 0 ? 'none' : 'update', lines };
}
