import { execa, type ResultPromise } from 'execa';
import pg from 'pg';
import { createClickHouse, type ClickHouse } from '../../src/clients/clickhouse.ts';
import { lagToRead } from '../../src/clients/consumer-lag.ts';
import type { KafkaAdmin, PartitionLag } from '../../src/clients/kafka.ts';
import type { Config } from '../../src/config/schema.ts';
import { withTimeout } from '../../src/core/time.ts';
import { BIN } from '../../test/integration/cli.ts';
import type { FaultStack } from './stack.ts';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

type KafkaModule = typeof import('../../src/clients/kafka.ts');

/** Per partition of a group's inputs, the end offset when the fault struck. */
export type EndMarks = ReadonlyMap<string, bigint>;

/**
 * What the matrix watches while a fault plays out: the processor and sink groups' lag (the same
 * admin API the product's gate reads), probe orders written to the source after the fault and
 * looked for in ClickHouse's processed_orders view, and the groups' committed offsets.
 */
export class Observer {
  private admin: KafkaAdmin | undefined;
  private readonly pool: pg.Pool;
  private readonly ch: ClickHouse;
  private probeCustomer = 0;
  private probeProduct = 0;
  private readonly kafka: KafkaModule;
  private readonly config: Config;

  private constructor(
    kafka: KafkaModule,
    config: Config,
  ) {
    this.kafka = kafka;
    this.config = config;
    this.pool = new pg.Pool({ connectionString: config.source.url, max: 2, connectionTimeoutMillis: 3_000 });
    // A failing connection (PostgreSQL restarting) is reported on the query that used it.
    this.pool.on('error', () => undefined);
    this.ch = createClickHouse(config.clickhouse);
  }

  static async open(config: Config): Promise<Observer> {
    const observer = new Observer(await import('../../src/clients/kafka.ts'), config);
    const { rows } = await observer.pool.query<{ c: string; p: string }>('SELECT (SELECT min(id) FROM public.customers)::text AS c, (SELECT min(id) FROM public.products)::text AS p');
    observer.probeCustomer = Number(rows[0]?.c);
    observer.probeProduct = Number(rows[0]?.p);
    return observer;
  }

  async close(): Promise<void> {
    await this.admin?.close().catch(() => undefined);
    await this.pool.end().catch(() => undefined);
    await this.ch.close().catch(() => undefined);
  }

  /** Both groups' partitions; undefined while Kafka does not answer (a fresh admin is made next time). */
  async lags(): Promise<{ readonly processor: readonly PartitionLag[]; readonly sink: readonly PartitionLag[] } | undefined> {
    try {
      this.admin ??= this.kafka.createKafkaAdmin(this.config.kafka, 'faults-observer', { retries: 0 });
      const admin = this.admin;
      const [processor, sink] = await withTimeout(Promise.all([admin.groupLag(this.config.processor.groupId), admin.groupLag(this.config.sink.groupId)]), 5_000);
      return { processor, sink };
    } catch {
      const stale = this.admin;
      this.admin = undefined;
      void stale?.close().catch(() => undefined);
      return undefined;
    }
  }

  /** The end offset of every input partition of both groups, now (retried while Kafka is slow). */
  async endMarks(): Promise<EndMarks> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const lags = await this.lags();
      if (lags) return new Map<string, bigint>([...lags.processor.map((l) => [`p:${l.topic}:${l.partition}`, l.end] as const), ...lags.sink.map((l) => [`s:${l.topic}:${l.partition}`, l.end] as const)]);
      await sleep(500);
    }
    throw new Error('Kafka did not answer for the end offsets');
  }

  /**
   * True when both groups have committed, on every input partition, past where it ended at the
   * fault: everything written before the fault is processed and in ClickHouse. (One short counts:
   * a transaction's commit marker is never consumed.)
   */
  async committedPast(marks: EndMarks): Promise<boolean> {
    const lags = await this.lags();
    if (!lags) return false;
    const committed = new Map<string, bigint | null>([...lags.processor.map((l) => [`p:${l.topic}:${l.partition}`, l.committed] as const), ...lags.sink.map((l) => [`s:${l.topic}:${l.partition}`, l.committed] as const)]);
    for (const [id, end] of marks) {
      const c = committed.get(id);
      if (c === undefined || c === null || c < end - 1n) return false;
    }
    return true;
  }

  /** Records to read, per group, as the gate counts it (a lone commit marker is not lag). */
  async lagNow(): Promise<{ readonly processor: bigint; readonly sink: bigint } | undefined> {
    const lags = await this.lags();
    return lags ? { processor: lagToRead(lags.processor), sink: lagToRead(lags.sink) } : undefined;
  }

  /** Inserts one probe order (committed); undefined when the source does not answer. */
  async insertProbe(): Promise<number | undefined> {
    try {
      const { rows } = await this.pool.query<{ id: string }>(
        "INSERT INTO public.orders (customer_id, product_id, quantity, amount, status) VALUES ($1, $2, 1, 12.34, 'PLACED') RETURNING id",
        [this.probeCustomer, this.probeProduct],
      );
      return Number(rows[0]?.id);
    } catch {
      return undefined;
    }
  }

  /** Which of these orders ClickHouse's processed_orders view holds (none while ClickHouse does not answer). */
  async visible(ids: readonly number[]): Promise<ReadonlySet<number>> {
    if (ids.length === 0) return new Set();
    try {
      const rows = await this.ch.query<{ order_id: string }>(`SELECT order_id FROM ${this.config.clickhouse.database}.processed_orders WHERE order_id IN (${ids.join(',')})`);
      return new Set(rows.map((r) => Number(r.order_id)));
    } catch {
      return new Set();
    }
  }

  /** The database's clock (the clock of created_at), in ms. */
  async sourceNow(): Promise<number> {
    const { rows } = await this.pool.query<{ ms: string }>('SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint::text AS ms');
    return Number(rows[0]?.ms);
  }
}

export interface LoadTotals {
  readonly inserted: number;
  readonly updated: number;
  readonly cancelled: number;
  readonly deleted: number;
  readonly moved: number;
  readonly tierChanges: number;
  readonly seconds: number;
  /** Times `load` exited on its own (a fault took its database away) and was started again. */
  readonly restarts: number;
}

interface LoadJson {
  readonly durationSeconds: number;
  readonly orders: { readonly inserted: number; readonly updated: number; readonly cancelled: number; readonly deleted: number; readonly moved: number };
  readonly tierChanges: number;
}

/**
 * The workload: `stream-migrate load` run in the stack's directory, as a user runs it, until
 * stopped. `load` stops at its first failed batch (by design), so when a fault takes the source
 * away it is started again, with the next seed, and the restart is counted.
 */
export class LoadRunner {
  private child: ResultPromise | undefined;
  private stopping = false;
  private readonly totals = { inserted: 0, updated: 0, cancelled: 0, deleted: 0, moved: 0, tierChanges: 0, seconds: 0 };
  private restarts = 0;
  private loop: Promise<void> | undefined;
  private readonly stack: FaultStack;
  private readonly rate: number;
  private seed: number;

  constructor(
    stack: FaultStack,
    rate: number,
    seed: number,
  ) {
    this.stack = stack;
    this.rate = rate;
    this.seed = seed;
  }

  start(): void {
    this.loop = (async () => {
      while (!this.stopping) {
        const child = execa(BIN, ['load', '--rate', String(this.rate), '--duration', '6h', '--seed', String(this.seed++), '--json'], { cwd: this.stack.cwd, reject: false });
        this.child = child;
        const result = await child;
        this.add(String(result.stdout));
        if (this.stopping) break;
        this.restarts++;
        await sleep(1_000);
      }
    })();
  }

  /** Stops the workload (SIGTERM: the batches in flight finish) and returns what it did. */
  async stop(): Promise<LoadTotals> {
    this.stopping = true;
    this.child?.kill('SIGTERM');
    await this.loop;
    return { ...this.totals, restarts: this.restarts };
  }

  private add(stdout: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(stdout);
    } catch {
      return;
    }
    // A load that failed prints its error as JSON, not a summary.
    if (!isLoadJson(parsed)) return;
    const json = parsed;
    this.totals.inserted += json.orders.inserted;
    this.totals.updated += json.orders.updated;
    this.totals.cancelled += json.orders.cancelled;
    this.totals.deleted += json.orders.deleted;
    this.totals.moved += json.orders.moved;
    this.totals.tierChanges += json.tierChanges;
    this.totals.seconds += json.durationSeconds;
  }
}

function isLoadJson(value: unknown): value is LoadJson {
  return typeof value === 'object' && value !== null && typeof (value as { orders?: unknown }).orders === 'object' && typeof (value as { durationSeconds?: unknown }).durationSeconds === 'number';
}
