import type { OutgoingRecord } from '../clients/kafka.ts';
import type { Config } from '../config/schema.ts';
import { durationMs } from '../core/duration.ts';
import { CheckFailedError, DependencyError, messageOf } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { withRetry } from '../core/retry.ts';
import { sleep } from '../core/time.ts';
import { changeRecordOf, parsePartnerRecord } from './order-input.ts';
import type { SourceContext } from './run-source.ts';

/** The API's opaque cursor after the last committed page (null before the first), and pages read. */
export interface HttpPosition {
  readonly cursor: string | null;
  readonly pages: number;
}

export function httpPositionOf(value: unknown): HttpPosition | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const cursor: unknown = Reflect.get(value, 'cursor');
  const pages: unknown = Reflect.get(value, 'pages');
  return (typeof cursor === 'string' || cursor === null) && typeof pages === 'number' ? { cursor, pages } : undefined;
}

/** One page of the partner API: `{ orders: [...], next_cursor, has_more }`. */
export interface OrdersPage {
  readonly orders: readonly unknown[];
  readonly nextCursor: string | null;
  readonly hasMore: boolean;
}

export function pageOf(body: unknown): OrdersPage | string {
  if (typeof body !== 'object' || body === null) return 'the reply is not a JSON object';
  const orders: unknown = Reflect.get(body, 'orders');
  const next: unknown = Reflect.get(body, 'next_cursor');
  const more: unknown = Reflect.get(body, 'has_more');
  if (!Array.isArray(orders)) return 'the reply has no orders array';
  if (next !== null && next !== undefined && typeof next !== 'string') return 'next_cursor is neither text nor null';
  return { orders, nextCursor: typeof next === 'string' ? next : null, hasMore: more === true };
}

/** Seconds or an HTTP date, as Retry-After says; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, nowMs: number): number | undefined {
  if (header === null) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isFinite(at) ? Math.max(0, at - nowMs) : undefined;
}

/**
 * The partner API source: pages from the committed cursor on; each page's order changes, its dead
 * letters and the next cursor commit in one transaction, so a crash mid-page repeats the page and
 * nothing else. 429 waits Retry-After; 5xx, timeouts and refused connections back off
 * exponentially and retry until the API is back.
 */
export async function runHttpSource(ctx: SourceContext<HttpPosition>, config: Config['sources']['http'][number]): Promise<void> {
  const { spec, logger, signal } = ctx;
  const pollMs = durationMs(config.pollInterval ?? '2s');
  const limit = config.pageSize ?? 500;
  let position: HttpPosition = ctx.position ?? { cursor: null, pages: 0 };
  while (!signal.aborted) {
    const page = await fetchOrdersPage(config, position.cursor, limit, { name: spec.name, logger, signal });
    if (page === undefined) return;
    const now = Date.now();
    const records: OutgoingRecord[] = page.orders.map((raw, index) => {
      const order = parsePartnerRecord(raw);
      if (order.ok) return { topic: spec.topic, ...changeRecordOf(order.value, 'partner', now) };
      return {
        topic: ctx.deadLetterTopic,
        key: null,
        value: JSON.stringify(raw) ?? 'null',
        headers: { 'dlq.reason': order.reason, 'dlq.stage': 'source', 'dlq.source.name': spec.name, 'dlq.source.page': position.cursor ?? '(first)', 'dlq.source.position': String(index), 'dlq.at': new Date(now).toISOString() },
      };
    });
    const next = page.nextCursor ?? position.cursor;
    if (records.length > 0 || next !== position.cursor) {
      position = { cursor: next, pages: position.pages + 1 };
      await ctx.commit(records, position);
    }
    if (!page.hasMore) await sleep(pollMs, signal);
  }
  logger.info(`source ${spec.name} stopped at page ${position.pages}`);
}

class RetriableHttpError extends DependencyError {}

/** Who is asking, for log lines, and when to give up (undefined is returned once aborted). */
export interface FetchContext {
  readonly name: string;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  /**
   * A one-shot reader (the batch) fails with exit 3 once the API has been unreachable or failing
   * this long; absent, the retries go on for as long as the caller runs (the source worker).
   */
  readonly giveUpAfterMs?: number;
}

/**
 * One page of order changes after `cursor`, retrying until the API answers: 429 waits
 * Retry-After, 5xx, timeouts and refused connections back off; 4xx other than 429 throws.
 */
export async function fetchOrdersPage(config: Config['sources']['http'][number], cursor: string | null, limit: number, ctx: FetchContext): Promise<OrdersPage | undefined> {
  const url = new URL(config.url);
  url.searchParams.set('limit', String(limit));
  if (cursor !== null) url.searchParams.set('cursor', cursor);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (config.token) headers.authorization = `Bearer ${config.token}`;
  const where = `${url.origin}${url.pathname}`;
  const giveUpAt = ctx.giveUpAfterMs === undefined ? undefined : Date.now() + ctx.giveUpAfterMs;
  for (;;) {
    if (ctx.signal.aborted) return undefined;
    try {
      return await withRetry(
        async () => {
          let response: Response;
          try {
            response = await fetch(url, { headers, signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(30_000)]) });
          } catch (error) {
            // Asked to stop (SIGTERM): no retry, the caller returns.
            if (ctx.signal.aborted) throw new Stopped();
            throw new RetriableHttpError(`partner API ${where} unreachable: ${messageOf(error)}`, { retriable: true });
          }
          if (response.status === 429) {
            const wait = retryAfterMs(response.headers.get('retry-after'), Date.now()) ?? 1_000;
            await response.body?.cancel();
            ctx.logger.info(`source ${ctx.name}: rate limited by ${where}; waiting ${wait} ms`);
            await sleep(wait, ctx.signal);
            throw new RateLimited();
          }
          if (response.status >= 500) {
            await response.body?.cancel();
            throw new RetriableHttpError(`partner API ${where} answered ${response.status}`, { retriable: true });
          }
          if (!response.ok) {
            await response.body?.cancel();
            throw new CheckFailedError(`partner API ${where} answered ${response.status}${response.status === 401 || response.status === 403 ? ': check sources.http token' : ''}`);
          }
          const page = pageOf(await response.json().catch(() => undefined));
          if (typeof page === 'string') throw new RetriableHttpError(`partner API ${where}: ${page}`, { retriable: true });
          return page;
        },
        {
          retries: 1_000_000,
          initialDelayMs: 250,
          maxDelayMs: 30_000,
          onRetry: (error, attempt, delayMs) => {
            if (!(error instanceof RateLimited)) ctx.logger.warn(`source ${ctx.name}: ${messageOf(error)}; retrying in ${delayMs} ms`, { attempt });
          },
          sleep: (ms) => sleep(ms, ctx.signal),
          ...(giveUpAt !== undefined ? { giveUpAt } : {}),
        },
      );
    } catch (error) {
      if (error instanceof RateLimited) continue;
      if (error instanceof Stopped || ctx.signal.aborted) return undefined;
      if (error instanceof RetriableHttpError && giveUpAt !== undefined) {
        throw new DependencyError(`${messageOf(error)}; gave up after ${Math.round((ctx.giveUpAfterMs ?? 0) / 1000)} s of retries: bring the API back, or raise sources.http[${ctx.name}].timeout`, { retriable: false });
      }
      throw error;
    }
  }
}

/** The worker was asked to stop while waiting for the API. */
class Stopped extends DependencyError {
  constructor() {
    super('stopped', { retriable: false });
  }
}

/** A 429 already waited out: retried at once, without counting as a failure. */
class RateLimited extends DependencyError {
  constructor() {
    super('rate limited', { retriable: false });
  }
}
