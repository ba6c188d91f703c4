import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/schema.ts';
import { durationMs } from '../core/duration.ts';
import type { Logger } from '../core/logger.ts';
import type { SourceOrder } from '../domain/process-order.ts';
import { completeFiles, decodeStoreLines, DONE_DIR, fileLines, settleMsOf } from './file-source.ts';
import { fetchOrdersPage } from './http-source.ts';
import { parsePartnerRecord } from './order-input.ts';

export interface ExternalOrders {
  /** The final version of each partner and store order (a later change replaces an earlier one). */
  readonly orders: readonly SourceOrder[];
  /** Lines or records that could not be read, with where they are. */
  readonly invalid: readonly string[];
  readonly bySource: Readonly<Record<string, number>>;
}

/**
 * The partner and store orders as a nightly job reads them: every page of each partner API from
 * its beginning, and every complete store file (waiting or already in `done/`) in name order,
 * with the same decoding as the source workers. The last change of an order wins.
 */
/** How long the batch retries a partner API that is unreachable or failing before it fails (sources.http[].timeout). */
const BATCH_API_TIMEOUT_MS = 120_000;

export async function readExternalOrders(config: Config, logger: Logger, signal: AbortSignal = new AbortController().signal): Promise<ExternalOrders> {
  const latest = new Map<number, SourceOrder>();
  const invalid: string[] = [];
  const bySource: Record<string, number> = {};
  for (const api of config.sources.http) {
    let cursor: string | null = null;
    let changes = 0;
    for (let page = 0; ; page++) {
      const got = await fetchOrdersPage(api, cursor, api.pageSize ?? 500, { name: api.name, logger, signal, giveUpAfterMs: api.timeout ? durationMs(api.timeout) : BATCH_API_TIMEOUT_MS });
      if (!got) break;
      got.orders.forEach((raw, position) => {
        const order = parsePartnerRecord(raw);
        if (order.ok) {
          latest.set(order.value.id, order.value);
          changes++;
        } else invalid.push(`${api.name} page ${cursor ?? '(first)'} position ${position}: ${order.reason}`);
      });
      // A page that does not move the cursor is the end, whatever has_more says.
      if (!got.hasMore || got.nextCursor === null || got.nextCursor === cursor) break;
      cursor = got.nextCursor;
    }
    bySource[api.name] = changes;
  }
  for (const dir of config.sources.files) {
    const settleMs = settleMsOf(dir);
    const now = Date.now();
    const files = [
      ...completeFiles(path.join(dir.directory, DONE_DIR), 0, now).map((name) => ({ name, file: path.join(dir.directory, DONE_DIR, name) })),
      ...completeFiles(dir.directory, settleMs, now).map((name) => ({ name, file: path.join(dir.directory, name) })),
    ].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    let changes = 0;
    for (const { name, file } of files) {
      const lines = fileLines(fs.readFileSync(file, 'utf8'));
      for (const { line, order } of decodeStoreLines(name, lines, 0, lines.length)) {
        if (order.ok) {
          latest.set(order.value.id, order.value);
          changes++;
        } else invalid.push(`${dir.name} ${name} line ${line}: ${order.reason}`);
      }
    }
    bySource[dir.name] = changes;
  }
  return { orders: [...latest.values()], invalid, bySource };
}
