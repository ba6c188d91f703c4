import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DependencyError, StreamMigrateError } from '../core/errors.ts';
import { ConnectHttpError, createConnectClient } from './connect.ts';

/** A stand-in for Connect's REST API: answers each request with the next scripted reply (the last repeats). */
interface Scripted {
  readonly status: number;
  readonly body?: unknown;
  /** Never answer: a worker that accepted the connection and hangs. */
  readonly hang?: boolean;
}

let server: http.Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

async function fakeConnect(replies: readonly Scripted[]): Promise<{ url: string; requests: string[] }> {
  const requests: string[] = [];
  server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const reply = replies[Math.min(requests.length - 1, replies.length - 1)]!;
    if (reply.hang) return;
    res.writeHead(reply.status, { 'content-type': 'application/json' });
    res.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, requests };
}

const fastRetry = { retries: 3, initialDelayMs: 5, maxDelayMs: 20 };
const settings = (url: string, timeout = '2s') => ({ url, timeout, username: 'admin', password: 'connect-canary-pw' });

async function errorOf(promise: Promise<unknown>): Promise<StreamMigrateError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof StreamMigrateError) return error;
    throw error;
  }
  throw new Error('expected an error');
}

describe('Connect REST client against a misbehaving Connect', () => {
  it('retries 409 (rebalance in progress) and succeeds once the rebalance is over', async () => {
    const { url, requests } = await fakeConnect([
      { status: 409, body: { error_code: 409, message: 'Cannot complete request momentarily due to stale configuration (typically caused by a concurrent config change)' } },
      { status: 409, body: { error_code: 409, message: 'rebalance is in progress' } },
      { status: 201, body: { name: 'c1', config: {}, tasks: [] } },
    ]);
    const warnings: string[] = [];
    const result = await createConnectClient(settings(url), { retry: fastRetry, logger: { warn: (m) => void warnings.push(m) } }).putConfig('c1', { 'connector.class': 'x' });
    expect(result.created).toBe(true);
    // The wait is visible: each retry says why and when.
    expect(warnings).toHaveLength(2);
    expect(warnings[1]).toMatch(/^Kafka Connect PUT \/connectors\/c1\/config answered 409: rebalance is in progress; retrying in \d+ ms \(attempt 2 of 3\)$/);
    expect(requests).toEqual(['PUT /connectors/c1/config', 'PUT /connectors/c1/config', 'PUT /connectors/c1/config']);
  });

  it('gives up on a persistent 500 with one line carrying Connect\'s message, exit 3', async () => {
    const { url, requests } = await fakeConnect([{ status: 500, body: { error_code: 500, message: 'Request timed out\n\tat org.apache.kafka.connect...' } }]);
    const error = await errorOf(createConnectClient(settings(url), { retry: fastRetry }).status('c1'));
    expect(error).toBeInstanceOf(ConnectHttpError);
    expect(error.exitCode).toBe(3);
    expect(error.message).toBe('Kafka Connect GET /connectors/c1/status answered 500: Request timed out');
    expect(requests).toHaveLength(fastRetry.retries + 1);
  });

  it('does not retry a 400 (our config is wrong): exit 1 at once', async () => {
    const { url, requests } = await fakeConnect([{ status: 400, body: { error_code: 400, message: 'Connector configuration is invalid' } }]);
    const error = await errorOf(createConnectClient(settings(url), { retry: fastRetry }).putConfig('c1', {}));
    expect(error.exitCode).toBe(1);
    expect(requests).toHaveLength(1);
  });

  it('names the credentials on 401 without showing them, exit 3, no retry', async () => {
    const { url, requests } = await fakeConnect([{ status: 401, body: { error_code: 401, message: 'Unauthorized' } }]);
    const error = await errorOf(createConnectClient(settings(url), { retry: fastRetry }).listConnectors());
    expect(error).toBeInstanceOf(DependencyError);
    expect(error.exitCode).toBe(3);
    expect(error.message).toContain('check connect.username and connect.password');
    expect(JSON.stringify(error.toJSON())).not.toContain('connect-canary-pw');
    expect(requests).toHaveLength(1);
  });

  it('a Connect that accepts but never answers fails within connect.timeout per attempt, exit 3', async () => {
    const { url } = await fakeConnect([{ status: 200, hang: true }]);
    const started = Date.now();
    const error = await errorOf(createConnectClient(settings(url, '300ms'), { retry: { retries: 1, initialDelayMs: 5, maxDelayMs: 5 } }).info());
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(error.exitCode).toBe(3);
    expect(error.message).toMatch(/^Kafka Connect at http:\/\/127\.0\.0\.1:\d+ is unreachable: no answer within 300 ms \(connect\.timeout\)/);
  });

  it('a closed port is unreachable (ECONNREFUSED), exit 3', async () => {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const error = await errorOf(createConnectClient(settings(`http://127.0.0.1:${port}`), { retry: { retries: 0, initialDelayMs: 1, maxDelayMs: 1 } }).info());
    expect(error.exitCode).toBe(3);
    expect(error.message).toContain('is unreachable: ECONNREFUSED');
    expect(error.message).not.toContain('\n');
  });

  it('an answer that is not Connect (HTML from a proxy) is a clear error, not a crash', async () => {
    const { url } = await fakeConnect([{ status: 200, body: '<html>login</html>' }]);
    const error = await errorOf(createConnectClient(settings(url), { retry: fastRetry }).listConnectors());
    expect(error.exitCode).toBe(3);
    expect(error.message).toContain('is connect.url a Kafka Connect REST endpoint?');
  });
});
