/**
 * Ingest rate of the order sources (src/sources/) on the local stack: a store file of N lines
 * (default 50 000) and a partner API holding N changes (no rate limit), each read by one source
 * worker in this process into a fresh topic, exactly once (a transaction per 1 000 lines / per
 * page of 500). The figure is order changes committed per second, from start to the last commit.
 *
 *   npx tsx bench/sources.ts [--records N]
 *
 * Prints `store records/s <n>`, then `partner records/s <n>` last.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createKafkaAdmin } from '../src/clients/kafka.ts';
import { loadConfig } from '../src/config/load.ts';
import type { Config } from '../src/config/schema.ts';
import { createLogger } from '../src/core/logger.ts';
import { Metrics } from '../src/core/metrics.ts';
import { Redactor } from '../src/core/redactor.ts';
import { PartnerApi } from '../src/sources/partner-api-server.ts';
import { runSource } from '../src/sources/run-source.ts';
import { sourceOffsetsTopic, sourceSpecs } from '../src/sources/source-topics.ts';
import { streamTopics } from '../src/stream/topics.ts';

function argNumber(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} must be a positive integer`);
  return value;
}

const order = (n: number) => ({ order_id: n, customer_id: 1 + (n % 1000), product_id: 1 + (n % 200), quantity: 1 + (n % 3), amount: `${1 + (n % 500)}.${String(n % 100).padStart(2, '0')}`, status: 'PLACED', created_at: new Date(Date.UTC(2026, 10, 25) + n * 1000).toISOString() });

async function main(): Promise<void> {
  const records = argNumber('records', 50_000);
  const id = `bench-src-${Date.now().toString(36)}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-bench-store-'));
  const partner = new PartnerApi({ port: 0 });
  const port = await partner.start();
  const base = loadConfig({ cwd: process.cwd() }).config;
  const config: Config = {
    ...base,
    connector: { ...base.connector, topicPrefix: id },
    processor: { ...base.processor, topicPrefix: `${id}-` },
    sources: {
      http: [{ name: 'partner', url: `http://127.0.0.1:${port}/orders`, pageSize: 500, pollInterval: '100ms' }],
      files: [{ name: 'store', directory: dir, pollInterval: '100ms', settle: '0s', batchLines: 1000 }],
    },
  };
  const topics = streamTopics(config);
  const admin = createKafkaAdmin(config.kafka, `${id}-admin`, { retries: 3 });
  const logger = createLogger({ level: 'warn', json: false, redactor: new Redactor() });
  try {
    await admin.createTopics([
      { name: topics.orders, partitions: 3, replicationFactor: 1, configs: { 'cleanup.policy': 'compact' } },
      { name: topics.deadLetter, partitions: 1, replicationFactor: 1 },
    ]);
    fs.writeFileSync(path.join(dir, 'bench.csv'), ['order_id,customer_id,product_id,quantity,amount,status,created_at', ...Array.from({ length: records }, (_, i) => Object.values(order(i + 1)).join(','))].join('\n') + '\n');
    for (let i = 1; i <= records; i++) partner.change(order(i));
    const rates: string[] = [];
    for (const name of ['store', 'partner']) {
      const metrics = new Metrics();
      const stop = new AbortController();
      const started = performance.now();
      const running = runSource({ config, logger, metrics, name, signal: stop.signal });
      let committed = 0;
      while (committed < records) {
        await new Promise((r) => setTimeout(r, 20));
        committed = metrics.value('stream_migrate_source_records_total', { source: name });
      }
      const seconds = (performance.now() - started) / 1000;
      stop.abort();
      await running;
      rates.push(`${name} records/s ${Math.round(records / seconds)}`);
    }
    for (const line of rates) console.log(line);
  } finally {
    await partner.stop();
    await admin.deleteTopics([topics.orders, topics.deadLetter, ...sourceSpecs(config).map((s) => s.topic), sourceOffsetsTopic(config)]).catch(() => undefined);
    await admin.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
