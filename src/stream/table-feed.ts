import { partitionKey } from '../clients/kafka/records.ts';
import type { CommitOffset, ConsumedRecord } from '../clients/kafka.ts';
import { decodeCustomer, decodeKeyId, decodeProduct } from './cdc-decode.ts';
import type { InMemoryTables } from './reference-tables.ts';

/** What one customer or product record did to the tables. */
export interface TableChange {
  /** The customer or product whose join-relevant part changed: its orders need recomputing. */
  readonly customer?: number;
  readonly product?: number;
  /** Set when the record is invalid and this worker is the one to dead-letter it. */
  readonly deadLetter?: string;
  /** Set when this worker owns the record's partition: commit it with the transaction. */
  readonly commit?: CommitOffset;
}

/**
 * Applies customer and product records to the tables every worker holds in full.
 *
 * A record that cannot be decoded or is invalid (an unknown tier, a missing category) makes that
 * row unusable: it leaves the table, so its orders stop contributing, as the batch skips them.
 * It must also reach the dead-letter topic exactly once, although every worker reads every
 * record and none is a group member of these topics: the worker that owns task p dead-letters
 * the records of partition p, and commits its position there in the same transaction (as
 * offsets of the processor group), so a restart neither repeats nor skips a dead letter.
 */
export class TableFeed {
  private readonly topics: { readonly customers: string; readonly products: string };
  private readonly tables: InMemoryTables;
  /** Partitions of the orders topic this worker owns (task numbers). */
  private readonly owned: ReadonlySet<number>;
  /** The group's committed offsets of the table topics, `topic\0partition` → next offset. */
  private readonly committed: ReadonlyMap<string, bigint>;
  constructor(
    topics: { readonly customers: string; readonly products: string },
    tables: InMemoryTables,
    owned: ReadonlySet<number>,
    committed: ReadonlyMap<string, bigint>,
  ) {
    this.topics = topics;
    this.tables = tables;
    this.owned = owned;
    this.committed = committed;
  }

  apply(record: ConsumedRecord): TableChange {
    const owner = this.owned.has(record.partition);
    const commit = owner ? { commit: { topic: record.topic, partition: record.partition, offset: record.offset + 1n } } : {};
    const isCustomer = record.topic === this.topics.customers;
    const changedOf = (id: number, changed: boolean) => (changed ? (isCustomer ? { customer: id } : { product: id }) : {});
    const decoded = isCustomer ? this.applyCustomer(record) : this.applyProduct(record);
    if (decoded.ok) return { ...changedOf(decoded.id, decoded.changed), ...commit };
    const id = decodeKeyId(record.key);
    const removed = typeof id === 'number' && (isCustomer ? this.tables.applyCustomer({ kind: 'delete', id, sourceTsMs: null }) : this.tables.applyProduct({ kind: 'delete', id, sourceTsMs: null }));
    const notYetDeadLettered = record.offset >= (this.committed.get(partitionKey(record.topic, record.partition)) ?? 0n);
    const deadLetter = owner && notYetDeadLettered ? { deadLetter: `${isCustomer ? 'customer' : 'product'} record: ${decoded.reason}` } : {};
    return { ...(typeof id === 'number' ? changedOf(id, removed) : {}), ...deadLetter, ...commit };
  }

  private applyCustomer(record: ConsumedRecord): Applied {
    const decoded = decodeCustomer(record.key, record.value);
    if (!decoded.ok) return decoded;
    const change = decoded.value;
    return { ok: true, id: change.kind === 'upsert' ? change.row.id : change.id, changed: this.tables.applyCustomer(change) };
  }

  private applyProduct(record: ConsumedRecord): Applied {
    const decoded = decodeProduct(record.key, record.value);
    if (!decoded.ok) return decoded;
    const change = decoded.value;
    return { ok: true, id: change.kind === 'upsert' ? change.row.id : change.id, changed: this.tables.applyProduct(change) };
  }
}

type Applied = { readonly ok: true; readonly id: number; readonly changed: boolean } | { readonly ok: false; readonly reason: string };
