import type { FetchPosition } from './aborted-batches.ts';

/**
 * Where a group consumer may commit, per partition (`topic\0partition`), when records alone do
 * not say: past control records and aborted transactions at the end of what it fetched. A
 * consumer that commits "last record + 1" stays behind a partition's abort markers for ever once
 * nothing new arrives there, so its lag never reaches 0 and "caught up" is never seen.
 *
 * A fetch's position is only trusted when that fetch started where this consumer's own session
 * had got to (its committed start, its last delivered record, or an earlier trusted fetch), so
 * it never moves past records the session has not seen; and it is only offered once every
 * record fetched has been delivered. (Responses of a stream replaced by a rewind are dropped by
 * the consumer before they get here.) Pure bookkeeping; the consumer feeds it (see consumer.ts).
 */
export class FetchPositions {
  /** Where the read of each partition started; null: no committed offset, so from its first fetch. */
  private readonly from = new Map<string, bigint | null>();
  private readonly deliveredTo = new Map<string, bigint>();
  private readonly fetched = new Map<string, FetchPosition>();
  private readonly offered = new Map<string, bigint>();

  /** A (re)started read of a partition from its committed offset: everything earlier is forgotten. */
  started(key: string, committed: bigint): void {
    this.forget(key);
    this.from.set(key, committed >= 0n ? committed : null);
  }

  /** Forgets everything (a rewind: a new stream will report where it starts). */
  clear(): void {
    this.from.clear();
    this.deliveredTo.clear();
    this.fetched.clear();
    this.offered.clear();
  }

  /** A fetch response of the partition, asked from `requestedFrom`. */
  fetchedFrom(key: string, requestedFrom: bigint, position: FetchPosition): void {
    if (this.from.get(key) === null) this.from.set(key, requestedFrom);
    const reached = this.reached(key);
    if (reached === undefined || requestedFrom > reached) return;
    const before = this.fetched.get(key);
    this.fetched.set(key, {
      fetchedTo: before && before.fetchedTo > position.fetchedTo ? before.fetchedTo : position.fetchedTo,
      dataTo: max(before?.dataTo ?? null, position.dataTo),
    });
  }

  /** A record was handed to the application; `next` is its offset + 1. */
  delivered(key: string, next: bigint): void {
    const before = this.deliveredTo.get(key);
    if (before === undefined || next > before) this.deliveredTo.set(key, next);
  }

  /**
   * The partitions (of `keys`) whose position moved past their last delivered record and past
   * what was offered before, with that position; each position is offered once.
   */
  advanced(keys: Iterable<string>): { readonly key: string; readonly offset: bigint }[] {
    const moved: { key: string; offset: bigint }[] = [];
    for (const key of keys) {
      const fetched = this.fetched.get(key);
      if (!fetched) continue;
      const delivered = this.deliveredTo.get(key);
      if (fetched.dataTo !== null && (delivered === undefined || delivered < fetched.dataTo)) continue;
      const floor = max(delivered ?? null, this.offered.get(key) ?? null);
      if (floor !== null && fetched.fetchedTo <= floor) continue;
      if (floor === null && fetched.fetchedTo <= (this.from.get(key) ?? fetched.fetchedTo)) continue;
      this.offered.set(key, fetched.fetchedTo);
      moved.push({ key, offset: fetched.fetchedTo });
    }
    return moved;
  }

  private reached(key: string): bigint | undefined {
    const from = this.from.get(key);
    if (from === undefined || from === null) return undefined;
    return max(max(from, this.deliveredTo.get(key) ?? null), this.fetched.get(key)?.fetchedTo ?? null) ?? from;
  }

  private forget(key: string): void {
    this.from.delete(key);
    this.deliveredTo.delete(key);
    this.fetched.delete(key);
    this.offered.delete(key);
  }
}

function max(a: bigint | null, b: bigint | null): bigint | null {
  if (a === null) return b;
  if (b === null) return a;
  return a > b ? a : b;
}
