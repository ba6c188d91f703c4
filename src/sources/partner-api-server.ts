import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One partner order as the partner's API returns it (its own id space). */
export interface PartnerOrder {
  readonly order_id: number;
  readonly customer_id: number;
  readonly product_id: number;
  readonly quantity: number;
  readonly amount: string;
  readonly status: string;
  readonly created_at: string;
}

export interface PartnerApiOptions {
  readonly port: number;
  /** Required as `Authorization: Bearer <token>` when set. */
  readonly token?: string;
  /** Requests per second a client may make; more are answered 429 with Retry-After. */
  readonly ratePerSecond?: number;
  /** Every Nth request fails with 500 (an occasional server error); 0 never. */
  readonly failEvery?: number;
  /**
   * The first change's sequence number is cursorBase + 1. A new server with a higher base (the
   * demo uses the time it starts) reads a cursor of an earlier server as "from the beginning".
   */
  readonly cursorBase?: number;
}

/**
 * A small partner API, real HTTP (node:http), for the demo and the integration tests:
 * `GET /orders?limit=N&cursor=C` returns the order changes after cursor C, oldest first, as
 * `{ orders, next_cursor, has_more }`. Every change (new, updated, cancelled) takes the next
 * sequence number, which is the cursor, as an `updated_since` with a tie-breaker would be.
 */
export class PartnerApi {
  private readonly changes: { seq: number; order: unknown }[] = [];
  private seq: number;
  private readonly base: number;
  private requests = 0;
  private windowStart = 0;
  private windowCount = 0;
  private server: http.Server | undefined;
  /** While true every request is answered 503 (an outage). */
  down = false;
  readonly stats = { served: 0, rateLimited: 0, failed: 0 };
  private readonly options: PartnerApiOptions;

  constructor(options: PartnerApiOptions) {
    this.options = options;
    this.base = options.cursorBase ?? 0;
    this.seq = this.base;
  }

  /** The cursor after the newest change: a client whose committed cursor is this has read everything. */
  get lastCursor(): string {
    return String(this.seq);
  }

  /** Records a change of an order (or any JSON value, to serve a malformed record). */
  change(order: PartnerOrder | unknown): void {
    this.changes.push({ seq: ++this.seq, order });
  }

  get size(): number {
    return this.changes.length;
  }

  async start(): Promise<number> {
    const server = http.createServer((req, res) => this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, '127.0.0.1', () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    if (url.pathname !== '/orders' || req.method !== 'GET') return reply(404, { error: 'not found' });
    if (this.options.token !== undefined && req.headers.authorization !== `Bearer ${this.options.token}`) return reply(401, { error: 'unauthorized' });
    if (this.down) {
      this.stats.failed++;
      return reply(503, { error: 'maintenance' });
    }
    const now = Date.now();
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.windowCount = 0;
    }
    if (this.options.ratePerSecond !== undefined && ++this.windowCount > this.options.ratePerSecond) {
      this.stats.rateLimited++;
      return reply(429, { error: 'rate limited' }, { 'retry-after': '1' });
    }
    this.requests++;
    if (this.options.failEvery && this.requests % this.options.failEvery === 0) {
      this.stats.failed++;
      return reply(500, { error: 'internal error' });
    }
    const cursor = Number(url.searchParams.get('cursor') ?? '0');
    const limit = Math.min(1000, Math.max(1, Number(url.searchParams.get('limit') ?? '100')));
    if (!Number.isInteger(cursor) || cursor < 0) return reply(400, { error: 'bad cursor' });
    // Sequence numbers are base + 1, base + 2, …: the changes after cursor c start at index c − base.
    const after = this.changes.slice(Math.max(0, cursor - this.base));
    const page = after.slice(0, limit);
    this.stats.served++;
    reply(200, { orders: page.map((c) => c.order), next_cursor: page.length > 0 ? String(page.at(-1)!.seq) : String(cursor), has_more: after.length > limit });
  }
}
