/** A row ClickHouse refused, with its refusal. */
export interface RejectedRow<T> {
  readonly row: T;
  readonly reason: string;
}

/**
 * Inserts `rows`; when the insert is refused for its data (`rejection` returns a reason), splits
 * the rows in halves and inserts each, down to single rows, so the good rows are written and each
 * bad row is returned with ClickHouse's reason. k bad rows among n cost about 2·k·log2(n) inserts.
 * Any other error (unreachable, retries exhausted, stopped) propagates. Re-inserting rows that
 * an earlier, partly applied attempt wrote is harmless: rows are versioned.
 */
export async function insertBisecting<T>(
  rows: readonly T[],
  insert: (rows: readonly T[]) => Promise<void>,
  rejection: (error: unknown) => string | undefined,
): Promise<RejectedRow<T>[]> {
  if (rows.length === 0) return [];
  try {
    await insert(rows);
    return [];
  } catch (error) {
    const reason = rejection(error);
    if (reason === undefined) throw error;
    if (rows.length === 1) return [{ row: rows[0]!, reason }];
    const middle = Math.ceil(rows.length / 2);
    const left = await insertBisecting(rows.slice(0, middle), insert, rejection);
    const right = await insertBisecting(rows.slice(middle), insert, rejection);
    return [...left, ...right];
  }
}
