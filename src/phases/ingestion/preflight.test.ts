import { describe, expect, it } from 'vitest';
import { buildConfig } from '../../config/load.ts';
import { judgeSource, type SourceFacts, type TableFacts } from './preflight.ts';

const connector = buildConfig({}, undefined, {}).config.connector;
const table = (name: string, more: Partial<TableFacts> = {}): TableFacts => ({
  name,
  exists: true,
  kind: 'r',
  hasPrimaryKey: true,
  replicaIdentity: 'd',
  hasReplicaIdentityIndex: false,
  ownedByCurrentUser: true,
  ...more,
});
const healthy: SourceFacts = {
  version: '15.20 (Debian)',
  versionNum: 150020,
  walLevel: 'logical',
  maxSlots: 10,
  usedSlots: 2,
  maxSenders: 10,
  usedSenders: 1,
  synchronousCommit: 'on',
  walWriterDelayMs: 200,
  slot: undefined,
  database: 'source',
  tables: [table('public.orders'), table('public.customers', { replicaIdentity: 'f' })],
};

describe('judgeSource', () => {
  it('passes a ready source and says what it saw', () => {
    const verdict = judgeSource(healthy, connector);
    expect(verdict.problems).toEqual([]);
    expect(verdict.notes.join(', ')).toContain('replica identity public.orders DEFAULT, public.customers FULL');
  });

  it('names a table without primary key and what to do', () => {
    const verdict = judgeSource({ ...healthy, tables: [table('public.foo', { hasPrimaryKey: false })] }, connector);
    expect(verdict.problems).toEqual(['table public.foo has no primary key; add one or remove it from connector.tables']);
  });

  it('refuses wal_level replica, a full slot table, REPLICA IDENTITY NOTHING and missing tables', () => {
    const verdict = judgeSource(
      { ...healthy, walLevel: 'replica', usedSlots: 10, tables: [table('public.a', { replicaIdentity: 'n' }), table('public.b', { exists: false, kind: undefined })] },
      connector,
    );
    expect(verdict.problems).toHaveLength(4);
    expect(verdict.problems[0]).toMatch(/wal_level is replica; set wal_level = logical/);
    expect(verdict.problems[1]).toMatch(/no free replication slot \(10 of max_replication_slots 10/);
    expect(verdict.problems[2]).toMatch(/public\.a has REPLICA IDENTITY NOTHING/);
    expect(verdict.problems[3]).toMatch(/table public\.b does not exist/);
  });

  it('does not count its own slot and WAL sender as taken', () => {
    const verdict = judgeSource({ ...healthy, usedSlots: 10, usedSenders: 10, slot: { plugin: 'pgoutput', database: 'source', active: true } }, connector);
    expect(verdict.problems).toEqual([]);
  });

  it('notes that asynchronous commits reach CDC up to wal_writer_delay late, and only then', () => {
    const late = judgeSource({ ...healthy, synchronousCommit: 'off', walWriterDelayMs: 200 }, connector);
    expect(late.problems).toEqual([]);
    expect(late.notes).toContain(
      'synchronous_commit=off with wal_writer_delay 200ms: CDC sees each commit up to 200 ms late; for sub-second end-to-end latency set wal_writer_delay = 10ms (ALTER SYSTEM, then SELECT pg_reload_conf())',
    );
    for (const facts of [{ ...healthy, synchronousCommit: 'off', walWriterDelayMs: 10 }, { ...healthy, synchronousCommit: 'on', walWriterDelayMs: 200 }, { ...healthy, synchronousCommit: 'local', walWriterDelayMs: 200 }]) {
      expect(judgeSource(facts, connector).notes.join(' | ')).not.toMatch(/wal_writer_delay/);
    }
  });
});
