import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { Logger } from '../core/logger.ts';
import { fetchOrdersPage } from './http-source.ts';

const quiet: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, child: () => quiet } as unknown as Logger;

describe('fetchOrdersPage', () => {
  it('stops retrying an API that is down as soon as the worker is asked to stop (SIGTERM must not hang)', async () => {
    // A port nothing listens on: every attempt is refused and retried with backoff.
    const server = http.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((r) => server.close(() => r()));
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 1_500);
    const started = Date.now();
    const page = await fetchOrdersPage({ name: 'p', url: `http://127.0.0.1:${port}/orders` }, null, 10, { name: 'p', logger: quiet, signal: stop.signal });
    expect(page).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('gives a one-shot reader (the batch) exit 3 once the API has failed for its timeout, naming the key to raise', async () => {
    const server = http.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((r) => server.close(() => r()));
    const started = Date.now();
    const read = fetchOrdersPage({ name: 'partner', url: `http://127.0.0.1:${port}/orders` }, null, 10, { name: 'partner', logger: quiet, signal: new AbortController().signal, giveUpAfterMs: 1_000 });
    await expect(read).rejects.toMatchObject({ exitCode: 3 });
    await expect(read).rejects.toThrow(/unreachable.*gave up after 1 s of retries.*sources\.http\[partner\]\.timeout/);
    // Backoff 250, 500, then 1 000 would pass the deadline: it gives up before sleeping past it.
    expect(Date.now() - started).toBeLessThan(2_500);
  });
});
