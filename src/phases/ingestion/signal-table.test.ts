import { describe, expect, it } from 'vitest';
import { CheckFailedError } from '../../core/errors.ts';
import { planSignalTable, type SignalTableState } from './signal-table.ts';

const absent: SignalTableState = { schemaExists: false, tableExists: false, columns: {}, idIsPrimaryKey: false, missingPrivileges: [] };
const ready: SignalTableState = { schemaExists: true, tableExists: true, columns: { id: 'text', type: 'character varying', data: 'text' }, idIsPrimaryKey: true, missingPrivileges: [] };

describe('planSignalTable', () => {
  it('creates the schema and the three-column table, and grants a role what watermarks need', () => {
    const plan = planSignalTable('stream_migrate.debezium_signal', 'cdc', absent);
    expect(plan.action).toBe('create');
    expect(plan.statements).toEqual([
      'CREATE SCHEMA IF NOT EXISTS "stream_migrate"',
      'CREATE TABLE IF NOT EXISTS "stream_migrate"."debezium_signal" (id text PRIMARY KEY, type text NOT NULL, data text)',
      'GRANT USAGE ON SCHEMA "stream_migrate" TO "cdc"',
      'GRANT SELECT, INSERT, DELETE ON "stream_migrate"."debezium_signal" TO "cdc"',
    ]);
  });

  it('changes nothing on a ready table, and only grants what a role lacks', () => {
    expect(planSignalTable('stream_migrate.debezium_signal', undefined, ready)).toEqual({ action: 'none', statements: [], diff: [] });
    const plan = planSignalTable('stream_migrate.debezium_signal', 'cdc', { ...ready, missingPrivileges: ['DELETE'] });
    expect(plan.action).toBe('update');
    expect(plan.statements).toEqual(['GRANT DELETE ON "stream_migrate"."debezium_signal" TO "cdc"']);
  });

  it('refuses a table that is not a signal table instead of altering it', () => {
    const other = { ...ready, columns: { id: 'integer', type: 'text' }, idIsPrimaryKey: false };
    expect(() => planSignalTable('public.events', undefined, other)).toThrow(CheckFailedError);
    expect(() => planSignalTable('public.events', undefined, other)).toThrow(/no column data \| columns id of public\.events are not text \| id is not the primary key/);
  });
});
