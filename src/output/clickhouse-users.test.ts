import { describe, expect, it } from 'vitest';
import { buildConfig } from '../config/load.ts';
import { clickhouseAs } from './clickhouse-users.ts';

const configWith = (document: Record<string, unknown> = {}) => buildConfig(document, undefined, {}).config;

describe('clickhouseAs', () => {
  it('uses the local stack\'s least-privilege users for the output database', () => {
    const config = configWith();
    expect(clickhouseAs(config, 'sink')).toMatchObject({ username: 'stream_sink', password: undefined, database: 'stream' });
    expect(clickhouseAs(config, 'reader')).toMatchObject({ username: 'stream_reader' });
  });

  it('uses the administrator for another database, whose access those users lack', () => {
    expect(clickhouseAs(configWith(), 'reader', 'it_validate_1').username).toBe('default');
    // Also when a working directory makes another database its output database (an isolated test run).
    expect(clickhouseAs(configWith({ clickhouse: { database: 'it_cutover_1' } }), 'reader').username).toBe('default');
    expect(clickhouseAs(configWith({ clickhouse: { database: 'it_cutover_1' } }), 'sink').username).toBe('default');
  });

  it('uses the configured users, else clickhouse.username, away from the local stack', () => {
    const remote = { clickhouse: { url: 'https://ch.internal:8443', username: 'etl', password: 'pw-1' } };
    expect(clickhouseAs(configWith(remote), 'sink')).toMatchObject({ username: 'etl', password: 'pw-1' });
    const configured = configWith({ clickhouse: { ...remote.clickhouse, sinkUser: { username: 'writer', password: 'pw-2' }, readUser: { username: 'viewer' } } });
    expect(clickhouseAs(configured, 'sink')).toMatchObject({ username: 'writer', password: 'pw-2' });
    expect(clickhouseAs(configured, 'reader')).toMatchObject({ username: 'viewer', password: undefined });
  });
});
