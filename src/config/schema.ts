import { z } from 'zod';
import { parseDuration } from '../core/duration.ts';
import { MAX_ESCALATION_MINUTES, PATTERN_KINDS } from '../domain/patterns.ts';
import { SEVERITIES } from '../domain/rules.ts';

/**
 * The configuration schema: the single source of the configuration's types. Every object is
 * strict, so a misspelt key is an error naming its path. Numbers also accept numeric strings,
 * because a `${env:...}` reference always resolves to text.
 */
const numeric = (inner: z.ZodNumber) =>
  z.preprocess((v) => (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : v), inner);
const port = numeric(z.number().int().min(1).max(65_535));
const positiveInt = numeric(z.number().int().min(1));
/** Local processor workers one supervisor runs; each takes a metrics port of its own from processorMetricsPort up. */
export const MAX_LOCAL_WORKERS = 16;
const nonNegativeInt = numeric(z.number().int().min(0));
const bool = z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean());
const duration = z.string().refine((v) => parseDuration(v) !== undefined, {
  message: 'expected a duration such as 200ms, 30s, 5m, 24h or 3d',
});
const httpUrl = z.string().regex(/^https?:\/\/\S+$/, 'expected an http:// or https:// URL');
const postgresUrl = z.string().regex(/^postgres(ql)?:\/\/\S+$/, 'expected a postgres:// URL');
const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$/, 'expected host:port');
const decimal = z.string().regex(/^\d+(\.\d+)?$/, 'expected a non-negative decimal written as a string, e.g. "0.05"');

/** `timeout`: how long to wait for a connection (an unreachable or stalled server fails then, exit 3). */
const postgresTarget = z.strictObject({ url: postgresUrl, password: z.string().optional(), timeout: duration.optional() });

const clickhouseUser = z.strictObject({ username: z.string().min(1), password: z.string().optional() });

const topicSpec = z.strictObject({
  partitions: positiveInt,
  replicationFactor: positiveInt,
  configs: z.record(z.string(), z.string()),
});

/** The name of an order source (sources.http, sources.files), which `sources run --name` takes too. */
export const SOURCE_NAME = /^[a-z][a-z0-9_-]{0,39}$/;
const sourceName = z.string().regex(SOURCE_NAME, 'expected lower-case letters, digits, _ or -');
const topicName = z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, 'expected a valid Kafka topic name');

/** The schema registry's compatibility modes (Confluent's names, which Apicurio's ccompat API takes too). */
export const COMPATIBILITY_MODES = ['BACKWARD', 'BACKWARD_TRANSITIVE', 'FORWARD', 'FORWARD_TRANSITIVE', 'FULL', 'FULL_TRANSITIVE', 'NONE'] as const;

/** Processor worker i serves /metrics on processorMetricsPort + i: another endpoint's port must lie outside that range. */
const outsideWorkerPorts = (port: number, processorMetricsPort: number): boolean => port < processorMetricsPort || port >= processorMetricsPort + MAX_LOCAL_WORKERS;

const tierRates = z.strictObject({ NEW: decimal, BRONZE: decimal, SILVER: decimal, GOLD: decimal, PLATINUM: decimal });
/** One fraud pattern over time (src/domain/patterns.ts), by kind; compileRules checks names, windows and amounts further. */
const pattern = z.discriminatedUnion('kind', [
  z.strictObject({
    name: z.string().min(1),
    kind: z.literal('velocity'),
    severity: z.enum(SEVERITIES),
    minOrders: positiveInt,
    totalAbove: decimal,
    windowMinutes: positiveInt.refine((m) => 1440 % m === 0, 'expected a whole number of minutes that divides a day (1, 2, 5, 10, 15, 30, 60, ...)'),
  }),
  z.strictObject({
    name: z.string().min(1),
    kind: z.literal('escalation'),
    severity: z.enum(SEVERITIES),
    totalAbove: decimal,
    windowMinutes: positiveInt.refine((m) => m <= MAX_ESCALATION_MINUTES, `expected at most ${MAX_ESCALATION_MINUTES} minutes (a week)`),
  }),
  z.strictObject({
    name: z.string().min(1),
    kind: z.literal('fan-in'),
    severity: z.enum(SEVERITIES),
    minCustomers: positiveInt.refine((m) => m >= 2, 'expected at least 2 customers (one customer is not a fan-in)'),
    windowMinutes: positiveInt.refine((m) => 1440 % m === 0, 'expected a whole number of minutes that divides a day (1, 2, 5, 10, 15, 30, 60, ...)'),
  }),
], { error: `expected kind ${PATTERN_KINDS.slice(0, -1).join(', ')} or ${PATTERN_KINDS.at(-1)}` });

export const configSchema = z.strictObject({
  source: postgresTarget,
  warehouse: postgresTarget.extend({
    /** Validation reads the batch outputs as this role (SELECT only); default: the URL's user, on the local stack `stream_migrate_reader`. */
    readUser: z.strictObject({ username: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'expected a lower-case role name'), password: z.string().optional() }).optional(),
  }),
  kafka: z.strictObject({
    brokers: z.array(hostPort).min(1),
    clientId: z.string().min(1),
    /** How long one request to a broker may take before the broker counts as unreachable. */
    timeout: duration.optional(),
    sasl: z
      .strictObject({
        mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
        username: z.string().min(1),
        password: z.string(),
      })
      .optional(),
    ssl: z
      .union([
        bool,
        z.strictObject({
          ca: z.string().optional(),
          cert: z.string().optional(),
          key: z.string().optional(),
          rejectUnauthorized: bool.optional(),
        }),
      ], { error: 'expected true, false or a mapping of ca, cert, key, rejectUnauthorized' })
      .optional(),
  }),
  connect: z.strictObject({
    url: httpUrl,
    username: z.string().optional(),
    password: z.string().optional(),
    timeout: duration,
  }),
  /** A Confluent-compatible schema registry (the local stack's Apicurio by default); credentials as secrets. */
  schemaRegistry: z.strictObject({
    url: httpUrl,
    username: z.string().optional(),
    password: z.string().optional(),
    /** The compatibility mode set on every subject stream-migrate registers. */
    compatibility: z.enum(COMPATIBILITY_MODES),
  }),
  clickhouse: z.strictObject({
    url: httpUrl,
    username: z.string().min(1),
    password: z.string().optional(),
    database: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a plain identifier'),
    /** How long one HTTP request to ClickHouse may take. */
    timeout: duration.optional(),
    /** The sink writes as this user (only the output database); default: `username`, on the local stack `stream_sink`. */
    sinkUser: clickhouseUser.optional(),
    /** Validation, status and the dashboard read as this (readonly) user; default: `username`, on the local stack `stream_reader`. */
    readUser: clickhouseUser.optional(),
  }),
  topics: z.record(topicName, topicSpec),
  connector: z.strictObject({
    name: z.string().min(1),
    topicPrefix: z.string().min(1),
    slotName: z.string().regex(/^[a-z0-9_]{1,63}$/, 'expected lower-case letters, digits and _'),
    publicationName: z.string().regex(/^[a-z0-9_]{1,63}$/, 'expected lower-case letters, digits and _'),
    tables: z.array(z.string().regex(/^\w+\.\w+$/, 'expected schema.table')).min(1),
    snapshotMode: z.enum(['initial', 'no_data', 'when_needed', 'always', 'initial_only']),
    heartbeatInterval: duration,
    maxBatchSize: positiveInt,
    maxQueueSize: positiveInt,
    pollInterval: duration,
    /** Where Connect reads the source password, as a Kafka config-provider reference without `${}`. */
    passwordFrom: z.string().regex(/^(env|file):\S+$/, 'expected env:NAME or file:/path:key').optional(),
    /** `create`: the phase owns the publication of exactly the included tables; `existing`: use the DBA's. */
    publication: z.enum(['create', 'existing']),
    /** A least-privilege replication role the phase creates and the connector logs in as. */
    role: z.strictObject({ name: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'expected a lower-case role name'), password: z.string().optional() }).optional(),
    /** WAL the replication slot may hold back before `verify` warns (bytes). */
    retainedWalWarnBytes: positiveInt,
    /** How long `phase run ingestion` waits for RUNNING and the initial snapshot. */
    snapshotTimeout: duration,
    /** Debezium's signal table in the source (`schema.table`), made by the ingestion phase; `snapshot` and `dlq replay` write to it. */
    signalTable: z.string().regex(/^\w+\.\w+$/, 'expected schema.table'),
    /** Rows per chunk of an incremental snapshot (Debezium's incremental.snapshot.chunk.size). */
    snapshotChunkSize: positiveInt,
    /** Extra Debezium/Connect properties; they override the generated ones. */
    config: z.record(z.string(), z.string()),
  }),
  /**
   * Order sources besides the CDC tables (DESIGN.md's channels): partner HTTP APIs (`partner`) and
   * point-of-sale file directories (`store`), each run as a supervised `sources run --name N` worker
   * that writes order changes to its own topic exactly once (docs/decisions/order-sources.md).
   */
  sources: z.strictObject({
    http: z.array(
      z.strictObject({
        name: sourceName,
        /** The orders endpoint; the worker adds `limit` and `cursor` query parameters. */
        url: httpUrl,
        /** Sent as `Authorization: Bearer …`; write it as a `${env:}` or `${file:}` reference. */
        token: z.string().optional(),
        pageSize: positiveInt.optional(),
        /** How long to wait once the API has nothing new. */
        pollInterval: duration.optional(),
        /**
         * How long the batch's one-shot read keeps retrying an unreachable or failing API before it
         * fails (exit 3); default 2m. The source worker retries for as long as it runs, showing why.
         */
        timeout: duration.optional(),
        /** Default `<processor.topicPrefix>stream-migrate.sources.<name>`. */
        topic: topicName.optional(),
      }),
    ),
    files: z.array(
      z.strictObject({
        name: sourceName,
        /** Where `.csv` and `.jsonl` files arrive; a finished file is moved to `done/` under it. */
        directory: z.string().min(1),
        pollInterval: duration.optional(),
        /** A file counts as complete once unchanged this long (writers may also write `*.part` and rename). */
        settle: duration.optional(),
        /** Lines per transaction (records and the file position commit together). */
        batchLines: positiveInt.optional(),
        topic: topicName.optional(),
      }),
    ),
  }),
  monitoring: z
    .strictObject({
      processorMetricsPort: port,
      sinkMetricsPort: port,
      /** The default port of `stream-migrate dashboard` (and of the one the demo leaves running). */
      dashboardPort: port,
      /** The local worker supervisor's /metrics (worker count and scaling decisions). */
      supervisorMetricsPort: port,
    })
    .refine((m) => outsideWorkerPorts(m.sinkMetricsPort, m.processorMetricsPort), {
      message: `sinkMetricsPort must lie outside processorMetricsPort .. processorMetricsPort + ${MAX_LOCAL_WORKERS - 1} (one port per processor worker)`,
      path: ['sinkMetricsPort'],
    })
    .refine((m) => m.supervisorMetricsPort !== m.sinkMetricsPort && outsideWorkerPorts(m.supervisorMetricsPort, m.processorMetricsPort), {
      message: `supervisorMetricsPort must differ from sinkMetricsPort and lie outside processorMetricsPort .. processorMetricsPort + ${MAX_LOCAL_WORKERS - 1}`,
      path: ['supervisorMetricsPort'],
    }),
  processor: z.strictObject({
    groupId: z.string().min(1),
    /** Prepended to the names of the output, internal and dead-letter topics (isolated test or staging runs). */
    topicPrefix: z.string().regex(/^[A-Za-z0-9._-]*$/, 'expected letters, digits, ".", "_" or "-"'),
    /** How often the worker commits its transaction (consume, produce and offsets together). */
    commitInterval: duration,
    maxPollRecords: positiveInt,
    /** An order whose customer or product has not arrived by then goes to the dead-letter topic. */
    missingReferenceWait: duration,
    transactionTimeout: duration,
    /** `local`: `phase run processing` starts supervised workers here; `external`: they run elsewhere, the phase only verifies. */
    deploy: z.enum(['local', 'external']),
    /**
     * V8 heap limit (MiB) of each supervised processor and sink worker. A processor holds every live
     * order of its tasks (about 0.7 KB each): raise this, or add workers, for a larger live set.
     */
    heapMiB: numeric(z.number().int().min(128).max(65_536)),
    /** Processor workers `phase run processing` keeps running (one sink runs beside them). */
    workers: numeric(z.number().int().min(1).max(MAX_LOCAL_WORKERS)),
    /**
     * Scaling on lag: when maxWorkers > minWorkers, the local supervisor adds a worker while the
     * group's lag stays above scaleUpLag (and is not draining) for scaleWindow, removes one while
     * it stays below scaleDownLag, at most once per scaleCooldown. Equal bounds: a fixed count.
     */
    minWorkers: numeric(z.number().int().min(1).max(MAX_LOCAL_WORKERS)),
    maxWorkers: numeric(z.number().int().min(1).max(MAX_LOCAL_WORKERS)),
    scaleUpLag: positiveInt,
    scaleDownLag: nonNegativeInt,
    scaleInterval: duration,
    scaleWindow: duration,
    scaleCooldown: duration,
  })
    .refine((p) => p.minWorkers <= p.maxWorkers, { message: 'minWorkers must not exceed maxWorkers', path: ['minWorkers'] })
    .refine((p) => p.scaleDownLag < p.scaleUpLag, { message: 'scaleDownLag must be below scaleUpLag (the gap is the hysteresis)', path: ['scaleDownLag'] }),
  sink: z.strictObject({
    groupId: z.string().min(1),
    /** A batch is written to ClickHouse when it holds this many records, or when batchWait has passed since its first. */
    batchRows: positiveInt,
    batchWait: duration,
    /** The longest wait between two attempts while ClickHouse is unreachable (it retries until it is back). */
    retryMax: duration,
  }),
  rules: z.strictObject({
    tierDiscount: tierRates,
    categoryTax: z.strictObject({ default: decimal, byCategory: z.record(z.string(), decimal) }),
    fraud: z.strictObject({ highAbove: decimal, newTierMediumAbove: decimal }),
    windowMinutes: positiveInt,
    patterns: z.array(pattern),
  }),
  batch: z.strictObject({
    mode: z.enum(['builtin', 'external']),
    command: z.array(z.string()).optional(),
    schedule: z.string().regex(/^(\S+\s+){4}\S+$/, 'expected a five-field cron expression'),
  }),
  validation: z.strictObject({
    settle: duration,
    samples: nonNegativeInt,
    /** Rows a table needs on at least one side for its comparison to be evidence; fewer on both sides makes the report NO_DATA. */
    minRows: positiveInt,
    tolerances: z.strictObject({ missingInStream: nonNegativeInt, missingInBatch: nonNegativeInt, mismatched: nonNegativeInt }),
  }),
  cutover: z.strictObject({
    requiredReports: positiveInt,
    minCoverage: duration,
    maxReportAge: duration,
    maxConsumerLag: nonNegativeInt,
    maxDeadLetterGrowth: nonNegativeInt,
    /** WAL (bytes) the replication slot's confirmed position may trail the source's current position by. */
    maxSlotLagBytes: nonNegativeInt,
  }),
  dev: z.strictObject({
    dir: z.string().min(1),
    cacheDir: z.string().min(1),
    ports: z.strictObject({
      postgres: port,
      kafka: port,
      kafkaController: port,
      connect: port,
      clickhouseHttp: port,
      clickhouseTcp: port,
      schemaRegistry: port,
      /** Apicurio's management interface (health, metrics), moved off Quarkus' default 9000. */
      schemaRegistryManagement: port,
    }),
    versions: z.strictObject({ kafka: z.string(), debezium: z.string(), apicurio: z.string() }),
    javaHeap: z.string().regex(/^\d+[mg]$/, 'expected a JVM heap size such as 512m or 1g'),
  }),
});

export type Config = Readonly<z.infer<typeof configSchema>>;
