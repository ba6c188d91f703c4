import type { OutgoingRecord } from '../clients/kafka.ts';

/**
 * The records of one transaction. Records of compacted output topics are coalesced per key (the
 * last version wins, as compaction would decide anyway), which saves most summary writes;
 * ordered records (the repartition stream, dead letters) are kept as they are.
 */
export class OutputBuffer {
  /** topic → partition → key → record (nested, so no key string is built per record). */
  private readonly latest = new Map<string, Map<number, Map<string, OutgoingRecord>>>();
  private latestCount = 0;
  private readonly ordered: OutgoingRecord[] = [];

  latestByKey(record: OutgoingRecord & { readonly partition: number; readonly key: string }): void {
    let byPartition = this.latest.get(record.topic);
    if (!byPartition) this.latest.set(record.topic, (byPartition = new Map()));
    let byKey = byPartition.get(record.partition);
    if (!byKey) byPartition.set(record.partition, (byKey = new Map()));
    const size = byKey.size;
    byKey.set(record.key, record);
    this.latestCount += byKey.size - size;
  }

  append(record: OutgoingRecord): void {
    this.ordered.push(record);
  }

  get size(): number {
    return this.latestCount + this.ordered.length;
  }

  drain(): OutgoingRecord[] {
    const all = this.ordered.slice();
    for (const byPartition of this.latest.values()) for (const byKey of byPartition.values()) for (const record of byKey.values()) all.push(record);
    this.ordered.length = 0;
    this.latest.clear();
    this.latestCount = 0;
    return all;
  }
}
