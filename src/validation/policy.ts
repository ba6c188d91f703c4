/**
 * The verdict. FAIL when any table's differences exceed the configured tolerances (default zero of
 * each kind, per table; a key the stream holds twice counts as mismatched). Otherwise NO_DATA when
 * any table has fewer than `minRows` rows on both sides: a comparison that looked at nothing proves
 * nothing, so it is never a PASS. Otherwise PASS.
 */
import type { Config } from '../config/schema.ts';

export type Verdict = 'PASS' | 'FAIL' | 'NO_DATA';
export type Tolerances = Config['validation']['tolerances'];

export interface TableCounts {
  readonly name: string;
  readonly batchRows: number;
  readonly streamRows: number;
  readonly missingInStream: number;
  readonly missingInBatch: number;
  readonly mismatched: number;
}

export interface PolicyOutcome {
  readonly verdict: Verdict;
  /** One line per broken tolerance, naming the table, the count and the limit. */
  readonly failures: readonly string[];
  readonly failedTables: readonly string[];
  /** One line per table with too few rows on both sides to be evidence. */
  readonly noData: readonly string[];
  readonly noDataTables: readonly string[];
}

const KINDS = [
  ['missingInStream', 'missing in stream'],
  ['missingInBatch', 'missing in batch'],
  ['mismatched', 'mismatched'],
] as const;

export function judge(tables: readonly TableCounts[], tolerances: Tolerances, minRows = 1): PolicyOutcome {
  const failures: string[] = [];
  const failedTables = new Set<string>();
  const noData: string[] = [];
  const noDataTables: string[] = [];
  for (const table of tables) {
    for (const [kind, label] of KINDS) {
      if (table[kind] <= tolerances[kind]) continue;
      failures.push(`${table.name}: ${table[kind]} ${label} (tolerance ${tolerances[kind]})`);
      failedTables.add(table.name);
    }
    if (table.batchRows < minRows && table.streamRows < minRows) {
      noData.push(`${table.name}: ${table.batchRows} batch and ${table.streamRows} stream rows in the window, at least ${minRows} needed (validation.minRows)`);
      noDataTables.push(table.name);
    }
  }
  const verdict = failures.length > 0 ? 'FAIL' : noData.length > 0 ? 'NO_DATA' : 'PASS';
  return { verdict, failures, failedTables: [...failedTables], noData, noDataTables };
}
