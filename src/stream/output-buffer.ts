import type { OutgoingRecord } from '../clients/kafka.ts';

/**
 * The records of one transaction. Records of compacted output topics are coalesced per key (the
 * last version wins, as compaction would decide anyway), which saves most summary writes;
 * ordered records (the repartition stream, dead letters) are kept as they are.
 */
export class OutputBuffer {
  private readonly latest = new Map<string, OutgoingRecord>();
  private readonly ordered: OutgoingRecord[] = [];

  latestByKey(record: OutgoingRecord & { readonly partition: number; readonly key: string }): void {
    this.latest.set(`${record.topic}\u0000${record.partition}\u0000${record.key}`, record);
  }

  append(record: OutgoingRecord): void {
    this.ordered.push(record);
  }

  get size(): number {
    return this.latest.size + this.ordered.length;
  }

  drain(): OutgoingRecord[] {
    const all = [...this.ordered, ...this.latest.values()];
    this.ordered.length = 0;
    this.latest.clear();
    return all;
  }
}
