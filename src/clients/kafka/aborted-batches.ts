/**
 * The read_committed filter of the Java client, pure over the shape of a fetch response's
 * partition, so it is unit-tested on fixture batches (as KafkaJS tests filterAbortedMessages).
 */

/** The attribute bits of a record batch this filter reads (Kafka's RecordBatch). */
export const TRANSACTIONAL_BIT = 0x10;
export const CONTROL_BIT = 0x20;
/** Control record key: version int16, then type int16 (0 abort, 1 commit). */
const ABORT_MARKER = 0;

export interface BatchLike {
  readonly firstOffset: bigint;
  readonly lastOffsetDelta: number;
  readonly producerId: bigint;
  readonly attributes: number;
  readonly records: readonly { readonly key: Buffer | null | undefined }[];
}

export interface AbortedTransaction {
  readonly producerId: bigint;
  readonly firstOffset: bigint;
}

/**
 * The batches of one fetched partition without those of aborted transactions. A producer's
 * transactional batches are dropped from the first offset of one of its aborted transactions
 * (as the broker lists them) until its abort marker, whatever number of times that producer
 * aborted in the range, and also when the response ends before the marker. Control batches are
 * kept, so a reader's position still moves past them; non-transactional batches always stay.
 */
export function dropAbortedBatches<B extends BatchLike>(batches: readonly B[], aborted: readonly AbortedTransaction[] | null | undefined): B[] {
  if (!aborted || aborted.length === 0) return [...batches];
  const pending = [...aborted].sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0));
  const aborting = new Set<bigint>();
  return batches.filter((batch) => {
    const lastOffset = batch.firstOffset + BigInt(batch.lastOffsetDelta);
    while (pending.length > 0 && pending[0]!.firstOffset <= lastOffset) aborting.add(pending.shift()!.producerId);
    if (batch.attributes & CONTROL_BIT) {
      if (isAbortMarker(batch.records[0]?.key)) aborting.delete(batch.producerId);
      return true;
    }
    return !((batch.attributes & TRANSACTIONAL_BIT) !== 0 && aborting.has(batch.producerId));
  });
}

function isAbortMarker(key: Buffer | null | undefined): boolean {
  return key !== null && key !== undefined && key.length >= 4 && key.readInt16BE(2) === ABORT_MARKER;
}

/**
 * Where a reader stands after one fetched partition: `fetchedTo`, the offset after the last batch
 * fetched (past control records and aborted transactions, which no reader is given), and
 * `dataTo`, the offset after the last record it is given (null when none). Once every record up
 * to `dataTo` is processed, a consumer may commit `fetchedTo`: committing only "last record + 1"
 * leaves an idle partition forever behind its abort markers, so its lag never reaches 0.
 * `fetched` is the partition's batches before `dropAbortedBatches`, `kept` after. Null when the
 * response held no batch for it.
 */
export interface FetchPosition {
  readonly fetchedTo: bigint;
  readonly dataTo: bigint | null;
}

export function fetchPosition(fetched: readonly BatchLike[], kept: readonly (BatchLike & { readonly records: readonly { readonly offsetDelta: number }[] })[]): FetchPosition | null {
  const last = fetched[fetched.length - 1];
  if (!last) return null;
  let dataTo: bigint | null = null;
  for (const batch of kept) {
    const lastRecord = batch.records[batch.records.length - 1];
    if ((batch.attributes & CONTROL_BIT) === 0 && lastRecord) dataTo = batch.firstOffset + BigInt(lastRecord.offsetDelta) + 1n;
  }
  return { fetchedTo: last.firstOffset + BigInt(last.lastOffsetDelta) + 1n, dataTo };
}
