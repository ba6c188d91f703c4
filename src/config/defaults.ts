import os from 'node:os';
import path from 'node:path';
import { DEFAULT_PATTERNS } from '../domain/patterns.ts';

/**
 * Defaults that point at the embedded local stack (`stream-migrate dev up`), so no file is needed.
 * Ports sit away from the standard ones a developer machine often uses (PostgreSQL on 5432,
 * Kafka on 9092, ClickHouse on 8123/9000), and everything listens on loopback. They also sit below
 * Linux's ephemeral range (32768-60999): a port in it can be the local end of any outgoing connection,
 * and README rehearsals lost Kafka's and the workers' binds to that race.
 */
export const DEFAULT_PORTS = {
  postgres: 15432,
  kafka: 19092,
  kafkaController: 19093,
  connect: 18083,
  clickhouseHttp: 18123,
  clickhouseTcp: 19000,
  schemaRegistry: 18081,
  schemaRegistryManagement: 18082,
} as const;

const cacheHome = process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache');

/** Output topics and CDC changelog topics are compacted: each key's latest value is the state. */
const compacted = { 'cleanup.policy': 'compact', 'min.compaction.lag.ms': '60000' };

export const DEFAULT_CONFIG = {
  source: { url: `postgresql://postgres@127.0.0.1:${DEFAULT_PORTS.postgres}/source`, timeout: '10s' },
  warehouse: { url: `postgresql://postgres@127.0.0.1:${DEFAULT_PORTS.postgres}/warehouse`, timeout: '10s' },
  kafka: { brokers: [`127.0.0.1:${DEFAULT_PORTS.kafka}`], clientId: 'stream-migrate', timeout: '30s' },
  connect: { url: `http://127.0.0.1:${DEFAULT_PORTS.connect}`, timeout: '30s' },
  schemaRegistry: { url: `http://127.0.0.1:${DEFAULT_PORTS.schemaRegistry}`, compatibility: 'BACKWARD' },
  clickhouse: { url: `http://127.0.0.1:${DEFAULT_PORTS.clickhouseHttp}`, username: 'default', database: 'stream', timeout: '60s' },
  topics: {
    'cdc.public.orders': { partitions: 6, replicationFactor: 1, configs: { ...compacted } },
    'cdc.public.customers': { partitions: 1, replicationFactor: 1, configs: { ...compacted } },
    'cdc.public.products': { partitions: 1, replicationFactor: 1, configs: { ...compacted } },
    'processed-orders': { partitions: 6, replicationFactor: 1, configs: { ...compacted } },
    'order-summaries': { partitions: 6, replicationFactor: 1, configs: { ...compacted } },
    'fraud-alerts': { partitions: 6, replicationFactor: 1, configs: { ...compacted } },
    // The stream processor's own topics: orders re-keyed by customer, and its state changelog.
    'stream-migrate.processor.orders-by-customer': { partitions: 6, replicationFactor: 1, configs: { 'cleanup.policy': 'delete', 'retention.ms': '86400000' } },
    'stream-migrate.processor.changelog': { partitions: 6, replicationFactor: 1, configs: { ...compacted } },
    // NEW-tier orders' parts in fan-in, keyed by product (stage 2 → stage 3), compacted: it is stage 3's state too.
    'stream-migrate.processor.orders-by-product': { partitions: 6, replicationFactor: 1, configs: { ...compacted } },
    // A dead letter is its input record plus headers: the topic takes larger records than the CDC topics (the broker's 1 MiB by default), or one oversized record would stop its partition.
    'stream-migrate.dlq': { partitions: 1, replicationFactor: 1, configs: { 'cleanup.policy': 'delete', 'retention.ms': '1209600000', 'max.message.bytes': String(16 * 1024 * 1024) } },
  },
  connector: {
    name: 'stream-migrate-source',
    topicPrefix: 'cdc',
    slotName: 'stream_migrate',
    publicationName: 'stream_migrate',
    tables: ['public.orders', 'public.customers', 'public.products'],
    snapshotMode: 'initial',
    heartbeatInterval: '10s',
    maxBatchSize: 2048,
    maxQueueSize: 8192,
    pollInterval: '50ms',
    publication: 'create',
    retainedWalWarnBytes: 1024 * 1024 * 1024,
    snapshotTimeout: '10m',
    signalTable: 'stream_migrate.debezium_signal',
    snapshotChunkSize: 4096,
    config: {},
  },
  sources: { http: [], files: [] },
  // Processor worker i (from 0) serves /metrics on processorMetricsPort + i; the sink's port stays clear of that range.
  monitoring: { processorMetricsPort: 19464, sinkMetricsPort: 19480, dashboardPort: 18088, supervisorMetricsPort: 19481 },
  processor: {
    groupId: 'stream-migrate-processor',
    topicPrefix: '',
    commitInterval: '100ms',
    maxPollRecords: 5000,
    missingReferenceWait: '30s',
    transactionTimeout: '60s',
    deploy: 'local',
    // 768 was too small while the state was on the heap (the fault matrix's workers, ~180 000 live orders each, restoring under a
    // backlog, ran out again and again). The state is now outside it (typed arrays), and the cap also sets how far V8 lets the heap
    // grow past what is live: 4x at 2 GiB, 1.6x at 1 GiB (src/local-stack/worker-runtime.ts).
    heapMiB: 1024,
    workers: 1,
    minWorkers: 1,
    maxWorkers: 1,
    scaleUpLag: 20000,
    scaleDownLag: 1000,
    scaleInterval: '5s',
    scaleWindow: '30s',
    scaleCooldown: '60s',
  },
  sink: { groupId: 'stream-migrate-sink', batchRows: 10000, batchWait: '200ms', retryMax: '60s' },
  rules: {
    tierDiscount: { NEW: '0', BRONZE: '0.02', SILVER: '0.05', GOLD: '0.10', PLATINUM: '0.15' },
    categoryTax: { default: '0.08', byCategory: { electronics: '0.10', groceries: '0.05', books: '0' } },
    fraud: { highAbove: '10000.00', newTierMediumAbove: '1000.00' },
    windowMinutes: 5,
    // Fraud patterns over time: the domain's defaults (src/domain/patterns.ts).
    patterns: DEFAULT_PATTERNS.map((p) => ({ ...p })),
  },
  batch: { mode: 'builtin', schedule: '30 2 * * *' },
  validation: { settle: '5m', samples: 10, minRows: 1, tolerances: { missingInStream: 0, missingInBatch: 0, mismatched: 0 } },
  cutover: { requiredReports: 3, minCoverage: '72h', maxReportAge: '24h', maxConsumerLag: 1000, maxDeadLetterGrowth: 0, maxSlotLagBytes: 67_108_864 },
  dev: {
    dir: '.stream-migrate',
    cacheDir: path.join(cacheHome, 'stream-migrate'),
    ports: { ...DEFAULT_PORTS },
    versions: { kafka: '4.3.0', debezium: '3.6.1.Final', apicurio: '3.3.3' },
    javaHeap: '768m',
  },
};
