import kafkajs from 'kafkajs';
import pg from 'pg';
import type { Config } from '../../src/config/schema.ts';
import { streamTopics } from '../../src/stream/topics.ts';

/**
 * The duplicate audit of the fault matrix, independent of the product on both ends:
 *  - the source database's own record of every change: triggers on public.orders and
 *    public.customers (tier) write to schema faults_audit, in the same transaction as the change;
 *  - the output topics read read_committed by kafkajs (not the product's Kafka client).
 *
 * What "a version applied" means: one record (a value or a tombstone) committed to an output
 * topic under a key. The sink writes each such record as one row version of that key (its offset
 * is the version), so the versions in the topic are exactly the versions ClickHouse applies.
 *
 * How many versions source changes warrant, per key, as an upper bound:
 *  - processed-orders and fraud-alerts, per order (all its (order, customer) keys together): one
 *    per change of the order (insert, update, cancel, delete), two per move (the retraction from
 *    the old customer's key and the row under the new one), plus one per tier change of any
 *    customer the order ever had, made after the order's first change (5 s margin: commit order
 *    and clock order of concurrent transactions may differ).
 *  - order-summaries, per (customer, window): one per change of an order created in that window
 *    that ever belonged to the customer, plus, per tier change of the customer, one per such order
 *    (each recomputed order may move the window once).
 *  - fraud-alerts of a pattern over time (keys naming a `pattern`), per key: the same as a summary
 *    of the pattern's own window (rules.patterns[].windowMinutes) that holds the alert's order,
 *    since every order of the customer in that window moves the alert; a fan-in alert, which
 *    moves with every order of its product in the window whatever the customer, is warranted one
 *    version per change of such an order and per tier change of any of their customers.
 * A key with more versions than that counts as duplicated; so does a key with the same content
 * twice in a row when no source change touched it from a minute before the first of the two
 * until the second (the processor never emits an unchanged value on its own; a change and its
 * reversal coalesced into one transaction legitimately write the old value again).
 */

const AUDIT_DDL = `
CREATE SCHEMA IF NOT EXISTS faults_audit;
CREATE TABLE IF NOT EXISTS faults_audit.order_changes (
  seq bigserial PRIMARY KEY,
  order_id bigint NOT NULL,
  kind text NOT NULL,
  customer_id bigint,
  old_customer_id bigint,
  product_id bigint,
  old_product_id bigint,
  created_at timestamptz NOT NULL,
  at timestamptz NOT NULL DEFAULT clock_timestamp()
);
-- A stack audited by an older version of this file (--reuse) gains the product columns.
ALTER TABLE faults_audit.order_changes ADD COLUMN IF NOT EXISTS product_id bigint, ADD COLUMN IF NOT EXISTS old_product_id bigint;
CREATE TABLE IF NOT EXISTS faults_audit.tier_changes (
  seq bigserial PRIMARY KEY,
  customer_id bigint NOT NULL,
  at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE OR REPLACE FUNCTION faults_audit.order_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO faults_audit.order_changes (order_id, kind, customer_id, product_id, created_at) VALUES (NEW.id, 'insert', NEW.customer_id, NEW.product_id, NEW.created_at);
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO faults_audit.order_changes (order_id, kind, old_customer_id, old_product_id, created_at) VALUES (OLD.id, 'delete', OLD.customer_id, OLD.product_id, OLD.created_at);
  ELSE
    INSERT INTO faults_audit.order_changes (order_id, kind, customer_id, old_customer_id, product_id, old_product_id, created_at)
    VALUES (NEW.id, CASE WHEN NEW.customer_id IS DISTINCT FROM OLD.customer_id THEN 'move' ELSE 'update' END, NEW.customer_id, OLD.customer_id, NEW.product_id, OLD.product_id, NEW.created_at);
  END IF;
  RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION faults_audit.tier_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO faults_audit.tier_changes (customer_id) VALUES (NEW.id);
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS faults_audit_orders ON public.orders;
CREATE TRIGGER faults_audit_orders AFTER INSERT OR UPDATE OR DELETE ON public.orders FOR EACH ROW EXECUTE FUNCTION faults_audit.order_changed();
DROP TRIGGER IF EXISTS faults_audit_tiers ON public.customers;
CREATE TRIGGER faults_audit_tiers AFTER UPDATE OF tier ON public.customers FOR EACH ROW WHEN (OLD.tier IS DISTINCT FROM NEW.tier) EXECUTE FUNCTION faults_audit.tier_changed();
`;

/** Installs the audit triggers in the source database (idempotent; the demo tables must exist). */
export async function installAudit(config: Config): Promise<void> {
  const client = new pg.Client({ connectionString: config.source.url });
  await client.connect();
  try {
    await client.query(AUDIT_DDL);
  } finally {
    await client.end();
  }
}

/** Where the audit and the output topics stand: a segment is what lies between two marks. */
export interface AuditMark {
  readonly changeSeq: bigint;
  readonly tierSeq: bigint;
  /** Per output topic, partition → end offset. */
  readonly offsets: Readonly<Record<string, Readonly<Record<number, string>>>>;
}

function outputTopics(config: Config): readonly string[] {
  const t = streamTopics(config);
  return [t.processedOrders, t.fraudAlerts, t.orderSummaries];
}

function kafkaClient(config: Config, suffix: string): kafkajs.Kafka {
  return new kafkajs.Kafka({ clientId: `faults-audit-${suffix}`, brokers: [...config.kafka.brokers], logLevel: kafkajs.logLevel.NOTHING, retry: { retries: 8 } });
}

/** The audit's sequence numbers and the output topics' end offsets now. */
export async function markAudit(config: Config): Promise<AuditMark> {
  const client = new pg.Client({ connectionString: config.source.url });
  await client.connect();
  let changeSeq: bigint;
  let tierSeq: bigint;
  try {
    const { rows } = await client.query<{ c: string; t: string }>(
      'SELECT (SELECT coalesce(max(seq), 0) FROM faults_audit.order_changes)::text AS c, (SELECT coalesce(max(seq), 0) FROM faults_audit.tier_changes)::text AS t',
    );
    changeSeq = BigInt(rows[0]?.c ?? '0');
    tierSeq = BigInt(rows[0]?.t ?? '0');
  } finally {
    await client.end();
  }
  const admin = kafkaClient(config, 'admin').admin();
  await admin.connect();
  try {
    const offsets: Record<string, Record<number, string>> = {};
    for (const topic of outputTopics(config)) {
      offsets[topic] = Object.fromEntries((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, p.high]));
    }
    return { changeSeq, tierSeq, offsets };
  } finally {
    await admin.disconnect();
  }
}

interface OutputRecord {
  readonly key: string;
  readonly value: string | null;
  /** When the record was produced (ms), on the same host clock as the audit's change times. */
  readonly atMs: number;
}

/**
 * Reads each output topic's records between two marks with kafkajs, read_committed (and counts
 * the same range read_uncommitted, to see the aborted transactions a SIGKILL left behind).
 */
async function readBetween(config: Config, from: AuditMark, to: AuditMark, isolation: 'committed' | 'uncommitted'): Promise<Map<string, OutputRecord[]>> {
  const out = new Map<string, OutputRecord[]>();
  const pending = new Map<string, bigint>();
  const starts: { topic: string; partition: number; offset: string }[] = [];
  for (const topic of outputTopics(config)) {
    out.set(topic, []);
    for (const [partition, end] of Object.entries(to.offsets[topic] ?? {})) {
      const start = from.offsets[topic]?.[Number(partition)] ?? '0';
      if (BigInt(end) > BigInt(start)) {
        pending.set(`${topic}:${partition}`, BigInt(end));
        starts.push({ topic, partition: Number(partition), offset: start });
      }
    }
  }
  if (pending.size === 0) return out;
  const kafka = kafkaClient(config, isolation);
  const consumer = kafka.consumer({ groupId: `faults-audit-${isolation}-${process.pid}-${Date.now()}`, readUncommitted: isolation === 'uncommitted', maxWaitTimeInMs: 250, maxBytes: 32 * 1024 * 1024 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [...out.keys()], fromBeginning: true });
    let lastProgress = Date.now();
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const id = `${batch.topic}:${batch.partition}`;
        const end = pending.get(id);
        const records = out.get(batch.topic)!;
        for (const m of batch.messages) {
          if (end === undefined || BigInt(m.offset) >= end) continue;
          records.push({ key: m.key?.toString('utf8') ?? '', value: m.value === null ? null : m.value.toString('utf8'), atMs: Number(m.timestamp) });
        }
        lastProgress = Date.now();
        // Control records (commit and abort markers) never reach eachBatch; lastOffset() counts them.
        if (end !== undefined && BigInt(batch.lastOffset()) >= end - 2n) pending.delete(id);
      },
    });
    for (const s of starts) consumer.seek(s);
    const deadline = Date.now() + 300_000;
    while (pending.size > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      // The last record of a partition may be followed by nothing but its commit marker.
      if (Date.now() - lastProgress > 5_000) break;
    }
  } finally {
    await consumer.disconnect();
  }
  return out;
}

interface LedgerOrder {
  readonly customers: Set<number>;
  readonly products: Set<number>;
  firstAtMs: number;
  readonly createdAtMs: number;
}

/** The audit rows read so far, incrementally (each segment reads only what is new). */
export class AuditLedger {
  private readonly orders = new Map<number, LedgerOrder>();
  private readSeq = 0n;

  /** The first change the audit recorded (ms): a window that began earlier may hold orders it never saw. */
  firstChangeMs = Number.POSITIVE_INFINITY;

  /** Orders whose history the audit holds (created after the triggers were installed). */
  get audited(): number {
    return this.orders.size;
  }

  async catchUp(config: Config, upTo: bigint): Promise<void> {
    const client = new pg.Client({ connectionString: config.source.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ order_id: string; customer_id: string | null; old_customer_id: string | null; product_id: string | null; old_product_id: string | null; created_ms: string; at_ms: string; seq: string }>(
        `SELECT order_id::text, customer_id::text, old_customer_id::text, product_id::text, old_product_id::text, (extract(epoch FROM created_at) * 1000)::bigint::text AS created_ms,
                (extract(epoch FROM at) * 1000)::bigint::text AS at_ms, seq::text
         FROM faults_audit.order_changes c WHERE c.seq > $1 AND c.seq <= $2 ORDER BY c.seq`,
        [this.readSeq.toString(), upTo.toString()],
      );
      for (const r of rows) {
        const id = Number(r.order_id);
        let order = this.orders.get(id);
        if (!order) {
          order = { customers: new Set(), products: new Set(), firstAtMs: Number(r.at_ms), createdAtMs: Number(r.created_ms) };
          this.orders.set(id, order);
        }
        order.firstAtMs = Math.min(order.firstAtMs, Number(r.at_ms));
        this.firstChangeMs = Math.min(this.firstChangeMs, Number(r.at_ms));
        if (r.customer_id !== null) order.customers.add(Number(r.customer_id));
        if (r.old_customer_id !== null) order.customers.add(Number(r.old_customer_id));
        if (r.product_id !== null) order.products.add(Number(r.product_id));
        if (r.old_product_id !== null) order.products.add(Number(r.old_product_id));
      }
      this.readSeq = upTo;
    } finally {
      await client.end();
    }
  }

  order(id: number): LedgerOrder | undefined {
    return this.orders.get(id);
  }

  /** Orders of a customer created in a window (window start in ms) of `windowMs`. */
  ordersOf(customerId: number, windowStartMs: number, windowMs: number): number[] {
    return this.indexed('customers', windowMs).get(`${customerId}/${windowStartMs}`) ?? [];
  }

  /** Orders of a product (any customer's) created in a window of `windowMs`: what a fan-in alert of that window moves with. */
  ordersOfProduct(productId: number, windowStartMs: number, windowMs: number): number[] {
    return this.indexed('products', windowMs).get(`${productId}/${windowStartMs}`) ?? [];
  }

  private indexed(by: 'customers' | 'products', windowMs: number): Map<string, number[]> {
    const name = `${by}/${windowMs}`;
    let index = this.byWindow.get(name);
    if (!index) {
      index = new Map();
      for (const [id, o] of this.orders) {
        const w = Math.floor(o.createdAtMs / windowMs) * windowMs;
        for (const c of o[by]) {
          const k = `${c}/${w}`;
          const list = index.get(k);
          if (list) list.push(id);
          else index.set(k, [id]);
        }
      }
      this.byWindow.set(name, index);
    }
    return index;
  }

  /** Drops the window indexes (rebuilt on demand after new rows were read). */
  invalidate(): void {
    this.byWindow.clear();
  }

  private readonly byWindow = new Map<string, Map<string, number[]>>();
}

export interface DuplicateReport {
  /** Keys (of audited orders) whose versions exceed what their source changes warrant. */
  readonly overWarranted: number;
  /** Keys with the same content twice in a row. */
  readonly repeated: number;
  /** Keys counted duplicated (either of the above). */
  readonly duplicatedKeys: number;
  readonly keysChecked: number;
  /** Keys of orders (or windows) older than the audit, not checked. */
  readonly keysUnaudited: number;
  readonly recordsRead: number;
  /** Records visible read_uncommitted but not read_committed: aborted transactions. */
  readonly abortedRecords: number;
  readonly samples: readonly string[];
}

/** How far before the first of two identical versions a source change may explain the second (processing lag). */
const REPEAT_MARGIN_MS = 60_000;

const STAMPS = new Set(['processed_at', 'alerted_at', 'updated_at', 'source_ts_ms']);

/** A value's business content: stamps of when it was written left out. */
function content(value: string | null): string {
  if (value === null) return 'null';
  const parsed = JSON.parse(value) as Record<string, unknown>;
  return JSON.stringify(Object.keys(parsed).sort().filter((k) => !STAMPS.has(k)).map((k) => [k, parsed[k]]));
}

/** Audits one segment: every output key written between the two marks against the source's changes in it. */
export async function auditDuplicates(config: Config, ledger: AuditLedger, from: AuditMark, to: AuditMark): Promise<DuplicateReport> {
  await ledger.catchUp(config, to.changeSeq);
  ledger.invalidate();
  const [committed, uncommitted] = [await readBetween(config, from, to, 'committed'), await readBetween(config, from, to, 'uncommitted')];
  const segment = await segmentChanges(config, from, to);
  const topics = streamTopics(config);
  const windowMs = config.rules.windowMinutes * 60_000;
  const patternWindows = new Map(config.rules.patterns.map((p) => [p.name, p.windowMinutes * 60_000]));
  const fanInPatterns = new Set(config.rules.patterns.filter((p) => p.kind === 'fan-in').map((p) => p.name));
  const samples: string[] = [];
  let overWarranted = 0;
  let repeated = 0;
  let duplicatedKeys = 0;
  let keysChecked = 0;
  let keysUnaudited = 0;
  let recordsRead = 0;
  let uncommittedRead = 0;
  for (const records of uncommitted.values()) uncommittedRead += records.length;

  const tiersAfter = (customerId: number, sinceMs: number): number => (segment.tiers.get(customerId) ?? []).filter((at) => at >= sinceMs - 5_000).length;
  const changedBetween = (orderIds: readonly number[], customerIds: Iterable<number>, fromMs: number, toMs: number): boolean => {
    const inside = (at: number) => at >= fromMs - REPEAT_MARGIN_MS && at <= toMs;
    for (const id of orderIds) if ((segment.times.get(id) ?? []).some(inside)) return true;
    for (const c of customerIds) if ((segment.tiers.get(c) ?? []).some(inside)) return true;
    return false;
  };
  const warrantedForOrder = (orderId: number): number | undefined => {
    const order = ledger.order(orderId);
    if (!order) return undefined;
    let n = segment.weighted.get(orderId) ?? 0;
    for (const c of order.customers) n += tiersAfter(c, order.firstAtMs);
    return n;
  };
  // A fan-in alert moves with every order of its product in its window, whoever the customer: each order's changes, and each of its customers' tier changes.
  const warrantedForOrders = (orderIds: readonly number[]): number => {
    let n = 0;
    for (const id of orderIds) {
      n += segment.plain.get(id) ?? 0;
      for (const c of ledger.order(id)?.customers ?? []) n += segment.tiers.get(c)?.length ?? 0;
    }
    return n;
  };
  const warrantedForSummary = (customerId: number, windowStartMs: number, ofMs = windowMs): number | undefined => {
    const orders = ledger.ordersOf(customerId, windowStartMs, ofMs);
    if (orders.length === 0) return undefined;
    let n = 0;
    for (const id of orders) n += segment.plain.get(id) ?? 0;
    return n + (segment.tiers.get(customerId)?.length ?? 0) * orders.length;
  };

  for (const [topic, records] of committed) {
    recordsRead += records.length;
    const byKey = new Map<string, OutputRecord[]>();
    for (const r of records) {
      const list = byKey.get(r.key);
      if (list) list.push(r);
      else byKey.set(r.key, [r]);
    }
    // processed-orders and fraud-alerts are audited per order, all its customers' keys together.
    const perOrder = new Map<number, number>();
    for (const [key, versions] of byKey) {
      const parsed = JSON.parse(key) as { order_id?: number; customer_id: number; window_start?: string; pattern?: string };
      // A pattern alert moves with every order of its customer in the pattern's window: audited like a summary of that window.
      const patternMs = parsed.pattern ? patternWindows.get(parsed.pattern) : undefined;
      const patternOrder = parsed.pattern ? ledger.order(parsed.order_id ?? -1) : undefined;
      if (parsed.pattern && (patternMs === undefined || patternOrder === undefined)) {
        keysUnaudited++;
        continue;
      }
      const isSummary = topic === topics.orderSummaries || patternMs !== undefined;
      const ofMs = patternMs ?? windowMs;
      const windowStartMs = topic === topics.orderSummaries ? Date.parse(parsed.window_start ?? '') : patternOrder ? Math.floor(patternOrder.createdAtMs / ofMs) * ofMs : 0;
      const fanIn = patternOrder !== undefined && fanInPatterns.has(parsed.pattern ?? '');
      const orderIds = fanIn
        ? [...new Set([...patternOrder.products].flatMap((product) => ledger.ordersOfProduct(product, windowStartMs, ofMs)))]
        : isSummary
          ? ledger.ordersOf(parsed.customer_id, windowStartMs, ofMs)
          : parsed.order_id === undefined
            ? []
            : [parsed.order_id];
      const customerIds = fanIn
        ? new Set(orderIds.flatMap((id) => [...(ledger.order(id)?.customers ?? [])]))
        : isSummary
          ? [parsed.customer_id]
          : (ledger.order(parsed.order_id ?? -1)?.customers ?? []);
      let isRepeat = false;
      for (let i = 1; i < versions.length; i++) {
        const [a, b] = [versions[i - 1]!, versions[i]!];
        if (content(a.value) === content(b.value) && !changedBetween(orderIds, customerIds, a.atMs, b.atMs)) isRepeat = true;
      }
      let over = false;
      if (isSummary) {
        const warranted = windowStartMs < ledger.firstChangeMs ? undefined : fanIn ? warrantedForOrders(orderIds) : warrantedForSummary(parsed.customer_id, windowStartMs, ofMs);
        if (warranted === undefined) {
          keysUnaudited++;
          continue;
        }
        over = versions.length > warranted;
        if (over && samples.length < 10) samples.push(`${topic} ${key}: ${versions.length} versions, source changes warrant ${warranted}`);
      } else if (parsed.order_id !== undefined) {
        if (ledger.order(parsed.order_id) === undefined) {
          keysUnaudited++;
          continue;
        }
        perOrder.set(parsed.order_id, (perOrder.get(parsed.order_id) ?? 0) + versions.length);
      }
      keysChecked++;
      if (isRepeat) {
        repeated++;
        if (samples.length < 10) samples.push(`${topic} ${key}: the same content twice in a row, no source change in between`);
      }
      if (over) overWarranted++;
      if (isRepeat || over) duplicatedKeys++;
    }
    for (const [orderId, versions] of perOrder) {
      const warranted = warrantedForOrder(orderId) ?? 0;
      if (versions > warranted) {
        overWarranted++;
        duplicatedKeys++;
        if (samples.length < 10) samples.push(`${topic} order ${orderId}: ${versions} versions, source changes warrant ${warranted}`);
      }
    }
  }
  return { overWarranted, repeated, duplicatedKeys, keysChecked, keysUnaudited, recordsRead, abortedRecords: Math.max(0, uncommittedRead - recordsRead), samples };
}

interface SegmentChanges {
  /** Per order: changes in the segment, a move counted twice. */
  readonly weighted: Map<number, number>;
  /** Per order: changes in the segment. */
  readonly plain: Map<number, number>;
  /** Per customer: the times (ms) of its tier changes in the segment. */
  readonly tiers: Map<number, number[]>;
  /** Per order: the times (ms) of its changes in the segment. */
  readonly times: Map<number, number[]>;
}

async function segmentChanges(config: Config, from: AuditMark, to: AuditMark): Promise<SegmentChanges> {
  const client = new pg.Client({ connectionString: config.source.url });
  await client.connect();
  try {
    const changes = await client.query<{ order_id: string; n: string; moves: string; times: string[] }>(
      `SELECT order_id::text, count(*)::text AS n, count(*) FILTER (WHERE kind = 'move')::text AS moves,
              array_agg((extract(epoch FROM at) * 1000)::bigint::text) AS times
       FROM faults_audit.order_changes WHERE seq > $1 AND seq <= $2 GROUP BY order_id`,
      [from.changeSeq.toString(), to.changeSeq.toString()],
    );
    const tiers = await client.query<{ customer_id: string; at_ms: string }>(
      `SELECT customer_id::text, (extract(epoch FROM at) * 1000)::bigint::text AS at_ms FROM faults_audit.tier_changes WHERE seq > $1 AND seq <= $2`,
      [from.tierSeq.toString(), to.tierSeq.toString()],
    );
    const weighted = new Map<number, number>();
    const plain = new Map<number, number>();
    const times = new Map<number, number[]>();
    for (const r of changes.rows) {
      times.set(Number(r.order_id), r.times.map(Number));
      plain.set(Number(r.order_id), Number(r.n));
      weighted.set(Number(r.order_id), Number(r.n) + Number(r.moves));
    }
    const tierMap = new Map<number, number[]>();
    for (const r of tiers.rows) {
      const list = tierMap.get(Number(r.customer_id));
      if (list) list.push(Number(r.at_ms));
      else tierMap.set(Number(r.customer_id), [Number(r.at_ms)]);
    }
    return { weighted, plain, tiers: tierMap, times };
  } finally {
    await client.end();
  }
}

