import { describe, expect, it } from 'vitest';
import { buildConfig } from '../../config/load.ts';
import { ConfigError } from '../../core/errors.ts';
import { buildConnectorConfig, connectorRole, diffConnectorConfig, heartbeatTopic, maskConnectorConfig, notificationTopic, providerReference } from './connector-config.ts';

const configWith = (document: Record<string, unknown> = {}) => buildConfig(document, undefined, {}).config;

describe('buildConnectorConfig', () => {
  const desired = buildConnectorConfig(configWith());

  it('streams the included tables through pgoutput with a named slot and publication', () => {
    expect(desired).toMatchObject({
      'connector.class': 'io.debezium.connector.postgresql.PostgresConnector',
      'plugin.name': 'pgoutput',
      'slot.name': 'stream_migrate',
      'publication.name': 'stream_migrate',
      'publication.autocreate.mode': 'disabled',
      'table.include.list': 'public\\.orders,public\\.customers,public\\.products',
      'topic.prefix': 'cdc',
      'snapshot.mode': 'initial',
      'database.hostname': '127.0.0.1',
      'database.port': '15432',
      'database.dbname': 'source',
      'database.user': 'stream_migrate_cdc',
    });
  });

  it('logs in as the least-privilege role on the local stack, as the URL\'s user elsewhere', () => {
    expect(connectorRole(configWith())).toEqual({ name: 'stream_migrate_cdc' });
    const remote = configWith({ source: { url: 'postgresql://cdc@db.internal:5432/shop' } });
    expect(connectorRole(remote)).toBeUndefined();
    expect(buildConnectorConfig(remote)['database.user']).toBe('cdc');
    expect(connectorRole(configWith({ connector: { role: { name: 'mine' } } }))).toEqual({ name: 'mine' });
  });

  it('keeps money exact, timestamps unambiguous and tunes batches from the configuration', () => {
    expect(desired['decimal.handling.mode']).toBe('string');
    expect(desired['time.precision.mode']).toBe('adaptive_time_microseconds');
    expect(desired['heartbeat.interval.ms']).toBe('10000');
    expect(desired['max.batch.size']).toBe('2048');
    expect(desired['max.queue.size']).toBe('8192');
    expect(desired['poll.interval.ms']).toBe('50');
  });

  it('flattens records, rewrites deletes with a tombstone and adds op, source time and LSN', () => {
    expect(desired.transforms).toBe('unwrap');
    expect(desired['transforms.unwrap.type']).toBe('io.debezium.transforms.ExtractNewRecordState');
    expect(desired['transforms.unwrap.delete.tombstone.handling.mode']).toBe('rewrite-with-tombstone');
    expect(desired['transforms.unwrap.add.fields']).toBe('op,source.ts_ms,lsn');
    expect(desired['tombstones.on.delete']).toBe('true');
  });

  it('names a predictable heartbeat topic and lets Connect create it with the CDC replication factor', () => {
    expect(desired['topic.heartbeat.prefix']).toBe('__debezium-heartbeat');
    expect(heartbeatTopic({ topicPrefix: 'cdc' })).toBe('__debezium-heartbeat.cdc');
    expect(desired['topic.creation.default.replication.factor']).toBe('1');
    expect(desired['topic.creation.default.partitions']).toBe('1');
    const noTopics = buildConnectorConfig(configWith({ connector: { topicPrefix: 'other' } }));
    expect(noTopics['topic.creation.default.replication.factor']).toBe('-1');
  });

  it('takes signals from the signal table and sends snapshot notifications to a delete-policy topic of its own', () => {
    expect(desired).toMatchObject({
      'signal.enabled.channels': 'source',
      'signal.data.collection': 'stream_migrate.debezium_signal',
      'incremental.snapshot.chunk.size': '4096',
      'incremental.snapshot.watermarking.strategy': 'insert_delete',
      'notification.enabled.channels': 'sink',
      'notification.sink.topic.name': '__debezium-notifications.cdc',
      'topic.creation.groups': 'notifications',
      'topic.creation.notifications.include': '__debezium-notifications\\.cdc',
      'topic.creation.notifications.cleanup.policy': 'delete',
    });
    expect(notificationTopic({ topicPrefix: 'it1' })).toBe('__debezium-notifications.it1');
    // The signal table is read from the publication, not captured as a table.
    expect(desired['table.include.list']).not.toContain('debezium_signal');
    const custom = buildConnectorConfig(configWith({ connector: { signalTable: 'ops.signals', snapshotChunkSize: 512 } }));
    expect(custom['signal.data.collection']).toBe('ops.signals');
    expect(custom['incremental.snapshot.chunk.size']).toBe('512');
  });

  it('writes no password when the source needs none', () => {
    expect(desired).not.toHaveProperty('database.password');
  });

  it('refers to the password through a config provider, never in plain text', () => {
    const config = configWith({ source: { url: 'postgresql://cdc:s3cret-pw@db.internal:5432/shop' }, connector: { passwordFrom: 'env:STREAM_MIGRATE_SOURCE_PASSWORD' } });
    const built = buildConnectorConfig(config);
    expect(built['database.password']).toBe('${env:STREAM_MIGRATE_SOURCE_PASSWORD}');
    expect(JSON.stringify(built)).not.toContain('s3cret-pw');
    expect(built['database.user']).toBe('cdc');
    expect(built['database.hostname']).toBe('db.internal');
    expect(providerReference('file:/etc/sm/secrets.properties:password')).toBe('${file:/etc/sm/secrets.properties:password}');
  });

  it('refuses a source password without connector.passwordFrom', () => {
    const withUrlPassword = configWith({ source: { url: 'postgresql://cdc:s3cret-pw@db:5432/shop' } });
    expect(() => buildConnectorConfig(withUrlPassword)).toThrow(ConfigError);
    expect(() => buildConnectorConfig(withUrlPassword)).toThrow(/connector\.passwordFrom/);
    const withSourcePassword = configWith({ source: { url: 'postgresql://cdc@db:5432/shop', password: 'x-secret' } });
    expect(() => buildConnectorConfig(withSourcePassword)).toThrow(/connector\.passwordFrom/);
    const withRolePassword = configWith({ connector: { role: { name: 'cdc_reader', password: 'pw-1234' } } });
    expect(() => buildConnectorConfig(withRolePassword)).toThrow(/role cdc_reader has a password/);
  });

  it('logs in as the replication role when one is configured', () => {
    const built = buildConnectorConfig(configWith({ connector: { role: { name: 'cdc_reader', password: 'pw-1234' }, passwordFrom: 'env:STREAM_MIGRATE_CDC_PASSWORD' } }));
    expect(built['database.user']).toBe('cdc_reader');
    expect(built['database.password']).toBe('${env:STREAM_MIGRATE_CDC_PASSWORD}');
    expect(JSON.stringify(built)).not.toContain('pw-1234');
  });

  it('lets connector.config override generated keys, but not with a plain-text secret', () => {
    const built = buildConnectorConfig(configWith({ connector: { config: { 'snapshot.mode': 'no_data', 'snapshot.fetch.size': '20000' } } }));
    expect(built['snapshot.mode']).toBe('no_data');
    expect(built['snapshot.fetch.size']).toBe('20000');
    expect(() => buildConnectorConfig(configWith({ connector: { config: { 'database.password': 'hunter22' } } }))).toThrow(/connector\.config\.database\.password/);
    const referenced = buildConnectorConfig(configWith({ connector: { config: { 'database.password': '${vault:secret/pg:password}' } } }));
    expect(referenced['database.password']).toBe('${vault:secret/pg:password}');
  });

  it('escapes the include list so a dot matches only a dot', () => {
    const built = buildConnectorConfig(configWith({ connector: { tables: ['public.orders'] } }));
    expect(built['table.include.list']).toBe('public\\.orders');
  });

  it('passes sslmode from the source URL', () => {
    const built = buildConnectorConfig(configWith({ source: { url: 'postgresql://postgres@db:5432/shop?sslmode=require' } }));
    expect(built['database.sslmode']).toBe('require');
    expect(built['database.dbname']).toBe('shop');
  });
});

describe('diffConnectorConfig', () => {
  const desired = { 'connector.class': 'X', 'slot.name': 'a', 'database.password': '${env:P}', 'snapshot.mode': 'initial' };

  it('creates a missing connector, listing every key', () => {
    const diff = diffConnectorConfig(undefined, desired);
    expect(diff.action).toBe('create');
    expect(diff.lines).toContain('+ slot.name = a');
  });

  it('compares key by key, ignoring the name Connect adds', () => {
    const current = { name: 'c', 'connector.class': 'X', 'slot.name': 'b', 'database.password': '${env:P}', 'tasks.max': '2' };
    const diff = diffConnectorConfig(current, desired);
    expect(diff.action).toBe('update');
    expect(diff.lines).toEqual(['~ slot.name: b → a', '+ snapshot.mode = initial', '- tasks.max = 2']);
    expect(diffConnectorConfig({ name: 'c', ...desired }, desired)).toEqual({ action: 'none', lines: [] });
  });

  it('masks plain-text secrets but shows provider references', () => {
    const diff = diffConnectorConfig({ name: 'c', ...desired, 'database.password': 'plain-old' }, desired);
    expect(diff.lines).toEqual(['~ database.password: *** → ${env:P}']);
    expect(maskConnectorConfig({ 'sasl.jaas.config': 'user=x password=y', 'slot.name': 'a' })).toEqual({ 'sasl.jaas.config': '***', 'slot.name': 'a' });
  });
});
