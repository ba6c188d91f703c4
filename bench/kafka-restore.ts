/**
 * State-restore speed of the group-less partition reader (`createPartitionReader`) on the local
 * broker.
 *
 *   npx tsx bench/kafka-restore.ts [--records N] [--partitions P] [--runs R] [--fetch-kib K]
 *
 * Produces N records of ~300 bytes (default 1 000 000) into a fresh P-partition topic (default 4),
 * then R times (default 3) a new reader reads the whole topic with readToEnd (read_committed), as
 * a worker restoring a state store would; onBatch only checks the offsets rise. The figure is the
 * median rate of the reads, from creating the reader to readToEnd returning.
 * Prints `restore records/s <median>` last.
 */
import { createKafkaAdmin, createPartitionReader, createProducer, type OutgoingRecord } from '../src/clients/kafka.ts';
import { loadConfig } from '../src/config/load.ts';

function argNumber(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} must be a positive integer`);
  return value;
}

/** ~300 bytes of JSON: one row of a keyed state table. */
function stateValue(id: number): string {
  return JSON.stringify({
    order_id: id,
    customer_id: 1 + ((id * 31) % 50_000),
    total_cents: 1_000 + ((id * 7_919) % 2_500_000),
    items: 1 + (id % 9),
    status: ['PLACED', 'PAID', 'SHIPPED', 'CANCELLED'][id % 4],
    updated_at: new Date(Date.UTC(2026, 10, 25) + id * 997).toISOString(),
    note: 'x'.repeat(150),
  });
}

async function main(): Promise<void> {
  const records = argNumber('records', 1_000_000);
  const partitions = argNumber('partitions', 4);
  const runs = argNumber('runs', 3);
  const fetchKib = process.argv.includes('--fetch-kib') ? argNumber('fetch-kib', 1) : undefined;
  const kafka = loadConfig({ cwd: process.cwd() }).config.kafka;
  const topic = `bench-restore-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const admin = createKafkaAdmin(kafka, 'bench-admin', { retries: 3 });
  try {
    await admin.createTopics([{ name: topic, partitions, replicationFactor: 1 }]);
    const producer = createProducer(kafka, 'bench-loader');
    const loadStart = performance.now();
    let bytes = 0;
    try {
      const chunk = 10_000;
      for (let from = 0; from < records; from += chunk) {
        const batch: OutgoingRecord[] = [];
        for (let id = from; id < Math.min(records, from + chunk); id++) {
          const value = stateValue(id);
          bytes += value.length;
          batch.push({ topic, key: `order-${id}`, value });
        }
        await producer.send(batch);
      }
    } finally {
      await producer.close();
    }
    console.log(`loaded ${records} records (${Math.round(bytes / records)} bytes each) into ${partitions} partitions in ${Math.round(performance.now() - loadStart)} ms`);

    const rates: number[] = [];
    for (let run = 1; run <= runs; run++) {
      const started = performance.now();
      const reader = createPartitionReader(kafka, {
        topic,
        clientSuffix: 'bench-restore',
        ...(fetchKib ? { maxBytesPerFetch: fetchKib * 1024 } : {}),
      });
      let batches = 0;
      let peakRss = 0;
      const last = new Map<number, bigint>();
      let read: number;
      try {
        read = await reader.readToEnd((batch) => {
          batches += 1;
          for (const r of batch) {
            if ((last.get(r.partition) ?? -1n) >= r.offset) throw new Error(`offsets went back in partition ${r.partition} at ${r.offset}`);
            last.set(r.partition, r.offset);
          }
          peakRss = Math.max(peakRss, process.memoryUsage.rss());
        });
      } finally {
        await reader.close();
      }
      const ms = performance.now() - started;
      if (read !== records) throw new Error(`read ${read} records, expected ${records}`);
      const rate = Math.round(read / (ms / 1000));
      rates.push(rate);
      console.log(`run ${run}: ${read} records in ${Math.round(ms)} ms, ${batches} batches, ${rate} records/s, peak rss ${Math.round(peakRss / 2 ** 20)} MiB`);
    }
    const sorted = [...rates].sort((a, b) => a - b);
    console.log(`restore records/s ${sorted[Math.floor(sorted.length / 2)]}`);
  } finally {
    await admin.deleteTopics([topic]);
    await admin.close();
  }
}

await main();
