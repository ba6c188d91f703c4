/**
 * The verdict: PASS when every table's differences are within the configured tolerances (default
 * zero of each kind), applied per table. A key the stream holds twice counts as mismatched.
 */
import type { Config } from '../config/schema.ts';

export type Verdict = 'PASS' | 'FAIL';
export type Tolerances = Config['validation']['tolerances'];

export interface TableCounts {
  readonly name: string;
  readonly missingInStream: number;
  readonly missingInBatch: number;
  readonly mismatched: number;
}

export interface PolicyOutcome {
  readonly verdict: Verdict;
  /** One line per broken tolerance, naming the table, the count and the limit. */
  readonly failures: readonly string[];
  readonly failedTables: readonly string[];
}

const KINDS = [
  ['missingInStream', 'missing in stream'],
  ['missingInBatch', 'missing in batch'],
  ['mismatched', 'mismatched'],
] as const;

export function judge(tables: readonly TableCounts[], tolerances: Tolerances): PolicyOutcome {
  const failures: string[] = [];
  const failedTables = new Set<string>();
  for (const table of tables) {
    for (const [kind, label] of KINDS) {
      if (table[kind] <= tolerances[kind]) continue;
      failures.push(`${table.name}: ${table[kind]} ${label} (tolerance ${tolerances[kind]})`);
      failedTables.add(table.name);
    }
  }
  return { verdict: failures.length === 0 ? 'PASS' : 'FAIL', failures, failedTables: [...failedTables] };
}
