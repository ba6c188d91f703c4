import { randomUUID } from 'node:crypto';

/**
 * The execute-snapshot signal Debezium reads from its signal table: an incremental snapshot of
 * `table`, only the rows matching `filter` when one is given (Debezium adds it to each chunk's
 * WHERE clause).
 */
export interface ExecuteSnapshotSignal {
  readonly id: string;
  readonly type: 'execute-snapshot';
  readonly data: string;
}

export function executeSnapshotSignal(id: string, table: string, filter: string | undefined): ExecuteSnapshotSignal {
  const data = {
    'data-collections': [table],
    type: 'incremental',
    ...(filter !== undefined ? { 'additional-conditions': [{ 'data-collection': table, filter }] } : {}),
  };
  return { id, type: 'execute-snapshot', data: JSON.stringify(data) };
}

/** A fresh id for an on-demand snapshot; Debezium's notifications of it carry this id. */
export function newSignalId(prefix: string): string {
  return `${prefix}-${randomUUID()}`;
}

/** `id IN (3, 5, 8)` for the given ids (integers only, so nothing can be injected). */
export function idInFilter(ids: readonly number[]): string {
  for (const id of ids) if (!Number.isSafeInteger(id)) throw new TypeError(`not an integer id: ${id}`);
  return `id IN (${[...new Set(ids)].sort((a, b) => a - b).join(', ')})`;
}
