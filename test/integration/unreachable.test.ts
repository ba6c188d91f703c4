import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli.ts';
import { freePort } from './ports.ts';
import { testWorkdir } from './test-env.ts';

/**
 * Each dependency in turn is a port that accepts connections and never answers (a stalled
 * server, a black-holing proxy) or a closed port: the command exits 3 within the configured
 * timeout (plus the CLI's own start-up) with one line naming the service and the key to check.
 */
let staller: net.Server;
let stallPort = 0;
let closedPort = 0;
const held: net.Socket[] = [];

beforeAll(async () => {
  staller = net.createServer((socket) => {
    socket.on('error', () => undefined);
    held.push(socket);
  });
  await new Promise<void>((resolve) => staller.listen(0, '127.0.0.1', resolve));
  stallPort = (staller.address() as net.AddressInfo).port;
  closedPort = await freePort();
});

afterAll(async () => {
  for (const socket of held) socket.destroy();
  await new Promise((resolve) => staller.close(resolve));
});

interface Case {
  readonly dependency: string;
  readonly args: readonly string[];
  /** The configuration pointing that dependency at `port`, with a short timeout. */
  readonly config: (port: number) => Readonly<Record<string, unknown>>;
  readonly timeoutMs: number;
  readonly stalled: RegExp;
  readonly closed: RegExp;
}

const CASES: readonly Case[] = [
  {
    dependency: 'warehouse PostgreSQL',
    args: ['phase', 'list'],
    config: (port) => ({ warehouse: { url: `postgresql://postgres@127.0.0.1:${port}/warehouse`, timeout: '1s' } }),
    timeoutMs: 1_000,
    stalled: /^error: warehouse PostgreSQL at 127\.0\.0\.1:\d+\/warehouse is unreachable: no answer within 1000 ms \(warehouse\.timeout\)/,
    closed: /^error: warehouse PostgreSQL at 127\.0\.0\.1:\d+\/warehouse is unreachable: .*ECONNREFUSED.*; is it running\?/,
  },
  {
    dependency: 'source PostgreSQL',
    args: ['phase', 'plan', 'ingestion'],
    config: (port) => ({ source: { url: `postgresql://postgres@127.0.0.1:${port}/source`, timeout: '1s' } }),
    timeoutMs: 1_000,
    stalled: /^error: source PostgreSQL at 127\.0\.0\.1:\d+\/source is unreachable: no answer within 1000 ms \(source\.timeout\)/,
    closed: /^error: source PostgreSQL at 127\.0\.0\.1:\d+\/source is unreachable: .*ECONNREFUSED/,
  },
  {
    dependency: 'Kafka',
    args: ['phase', 'plan', 'infrastructure'],
    config: (port) => ({ kafka: { brokers: [`127.0.0.1:${port}`], timeout: '2s' } }),
    timeoutMs: 2_000,
    stalled: /^error: Kafka at 127\.0\.0\.1:\d+ is unreachable: .*kafka\.brokers/,
    closed: /^error: Kafka at 127\.0\.0\.1:\d+ is unreachable: .*kafka\.brokers/,
  },
  {
    dependency: 'Kafka Connect',
    args: ['phase', 'plan', 'ingestion'],
    config: (port) => ({ connect: { url: `http://127.0.0.1:${port}`, timeout: '1s' } }),
    timeoutMs: 1_000,
    stalled: /^error: .*Kafka Connect at http:\/\/127\.0\.0\.1:\d+ is unreachable: no answer within 1000 ms \(connect\.timeout\)/,
    closed: /^error: .*Kafka Connect at http:\/\/127\.0\.0\.1:\d+ is unreachable: ECONNREFUSED/,
  },
  {
    dependency: 'ClickHouse',
    args: ['phase', 'plan', 'output'],
    config: (port) => ({ clickhouse: { url: `http://127.0.0.1:${port}`, timeout: '1s' } }),
    timeoutMs: 1_000,
    stalled: /^error: ClickHouse at http:\/\/127\.0\.0\.1:\d+ is unreachable: /,
    closed: /^error: ClickHouse at http:\/\/127\.0\.0\.1:\d+ is unreachable: .*ECONNREFUSED/,
  },
];

/** Start-up of the CLI (tsx), the steps before the stalled service, retries and a busy two-core machine; a hang is far beyond it. */
const SLACK_MS = 25_000;

describe('an unreachable or stalled dependency', () => {
  for (const c of CASES) {
    for (const how of ['stalled', 'closed'] as const) {
      it(`${c.dependency} ${how}: exit 3 within its timeout, one line`, async () => {
        const dir = testWorkdir('unreach', c.config(how === 'stalled' ? stallPort : closedPort));
        const started = Date.now();
        const run = await runCli(c.args, { cwd: dir, timeoutMs: 90_000 });
        const elapsed = Date.now() - started;
        expect(run.exitCode, run.stderr + run.stdout).toBe(3);
        expect(elapsed).toBeLessThan(c.timeoutMs * 4 + SLACK_MS);
        const lines = run.stderr.trim().split('\n').filter((l) => !/^(warn|info): |›/.test(l));
        expect(lines, run.stderr).toHaveLength(1);
        expect(lines[0]).toMatch(c[how]);
        expect(run.stderr).not.toMatch(/^\s+at /m);
        fs.rmSync(path.join(dir), { recursive: true, force: true });
      });
    }
  }

  it('an invalid --config file: exit 2, one stderr line naming the key path, no stack trace', async () => {
    const dir = testWorkdir('badcfg');
    const file = path.join(dir, 'broken.yaml');
    fs.writeFileSync(file, 'sink:\n  batchRows: -5\n');
    const run = await runCli(['--config', file, 'phase', 'list'], { cwd: dir });
    expect(run.exitCode).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n')).toEqual([`error: ${file}: sink.batchRows: expected a number >= 1`]);
  });
});
