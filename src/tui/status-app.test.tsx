import { EventEmitter } from 'node:events';
import { render as inkRender } from 'ink';
import { render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup } from 'ink-testing-library';
import { brokenStackSnapshot } from '../status/snapshot-fixture.ts';
import type { StatusSnapshot } from '../status/snapshot.ts';
import { Business } from './business-view.tsx';
import { Overview } from './overview-view.tsx';
import { StatusApp } from './status-app.tsx';
import { Streams } from './streams-view.tsx';

afterEach(() => cleanup());

/** Waits until the last frame satisfies `check` (ink renders asynchronously after input). */
async function frameWhere(lastFrame: () => string | undefined, check: (frame: string) => boolean, timeoutMs = 2_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const frame = lastFrame() ?? '';
    if (check(frame)) return frame;
    if (Date.now() > deadline) throw new Error(`frame never matched; last frame:\n${frame}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('views (plain props)', () => {
  const snapshot = brokenStackSnapshot();

  it('Overview labels a DOWN service, failed phase and task, and the unavailable checklist in words', () => {
    const frame = render(<Overview snapshot={snapshot} />).lastFrame() ?? '';
    expect(frame).toMatch(/kafka\s+DOWN\s+127\.0\.0\.1:19092/);
    expect(frame).toMatch(/postgres\s+UP/);
    expect(frame).toMatch(/ingestion\s+FAILED/);
    expect(frame).toMatch(/processing\s+NOT STARTED/);
    expect(frame).toContain('sink-s1 DOWN');
    expect(frame).toContain('processor-w1 RUNNING (pid 201)');
    expect(frame).toMatch(/task 0: FAILED on 127\.0\.0\.1:18083 - org\.apache\.kafka\.connect\.errors\.ConnectException: slot is gone/);
    expect(frame).toContain('UNAVAILABLE: cutover gate not available in this build');
  });

  it('Streams shows errored sections as ERROR with the reason', () => {
    const frame = render(<Streams snapshot={snapshot} />).lastFrame() ?? '';
    expect(frame.match(/ERROR: Kafka at 127\.0\.0\.1:19092 is unreachable: ECONNREFUSED/g)).toHaveLength(2);
  });

  it('Streams shows offsets, lag and records/s of a healthy stack', () => {
    const healthy: StatusSnapshot = {
      ...snapshot,
      topics: { topics: [{ name: 'cdc.public.orders', role: 'orders', exists: true, partitions: 6, endOffset: 123456, recordsPerSecond: 2012.4 }, { name: 'fraud-alerts', role: 'fraudAlerts', exists: false, partitions: 0, endOffset: 0, recordsPerSecond: null }] },
      groups: {
        groups: [{ groupId: 'stream-migrate-processor', role: 'processor', state: 'STABLE', lag: 17, committed: 123439, recordsPerSecond: 1999.5, topics: [{ topic: 'cdc.public.orders', partitions: 6, committed: 123439, end: 123456, lag: 17 }] }],
        otherGroups: 3,
      },
    };
    const frame = render(<Streams snapshot={healthy} />).lastFrame() ?? '';
    expect(frame).toMatch(/cdc\.public\.orders\s+orders\s+6\s+123,456\s+2012\/s/);
    expect(frame).toMatch(/fraud-alerts\s+fraudAlerts\s+MISSING/);
    expect(frame).toMatch(/stream-migrate-processor \(process…\s+STABLE\s+6\s+17\s+123,439\s+2000\/s/);
    expect(frame).toContain('3 other group(s) in the cluster not shown');
  });

  it('Business shows the figures, alerts and report verdicts', () => {
    const frame = render(<Business snapshot={snapshot} />).lastFrame() ?? '';
    expect(frame).toContain('orders 1,234   revenue 98765.43   average order 80.04   fraud rate 0.97%');
    expect(frame).toContain('fraud alerts 12: HIGH 4, MEDIUM 8');
    expect(frame).toMatch(/HIGH\s+9001\s+42\s+12500\.00\s+final amount above 10000\.00/);
    expect(frame).toMatch(/7\s+FAIL\s+2026-11-25 00:00:00Z \.\. 2026-11-26 00:00:00Z\s+30m00s ago\s+processed_orders 2 missin/);
  });
});

describe('StatusApp', () => {
  const loader = (snapshot = brokenStackSnapshot()) => {
    const calls: (StatusSnapshot | undefined)[] = [];
    return { calls, load: async (previous: StatusSnapshot | undefined) => (calls.push(previous), snapshot) };
  };

  it('starts on the overview with the key help, and switches views with Tab and with 1-3', async () => {
    const { load } = loader();
    const app = render(<StatusApp load={load} intervalMs={60_000} />);
    let frame = await frameWhere(app.lastFrame, (f) => f.includes('Phases'));
    expect(frame).toContain('Tab / 1-3 / arrows: switch view   r: refresh now   q: quit');
    expect(frame).toContain('3 section(s) or service(s) with problems');
    expect(frame).not.toContain('Topics');

    app.stdin.write('\t');
    frame = await frameWhere(app.lastFrame, (f) => f.includes('Consumer groups'));
    expect(frame).not.toContain('Phases');

    app.stdin.write('\t');
    frame = await frameWhere(app.lastFrame, (f) => f.includes('Latest fraud alerts'));

    app.stdin.write('\t');
    await frameWhere(app.lastFrame, (f) => f.includes('Phases'));

    app.stdin.write('2');
    await frameWhere(app.lastFrame, (f) => f.includes('Consumer groups'));
    app.stdin.write('3');
    await frameWhere(app.lastFrame, (f) => f.includes('Business, last hour'));
    app.stdin.write('1');
    await frameWhere(app.lastFrame, (f) => f.includes('Cutover checklist'));
  });

  it('r collects again at once, passing the previous snapshot for rates', async () => {
    const { load, calls } = loader();
    const app = render(<StatusApp load={load} intervalMs={60_000} />);
    await frameWhere(app.lastFrame, (f) => f.includes('Phases'));
    expect(calls).toHaveLength(1);
    app.stdin.write('r');
    await frameWhere(() => String(calls.length), (n) => n === '2');
    expect(calls[0]).toBeUndefined();
    expect(calls[1]?.takenAt).toBe('2026-11-26T12:00:00.000Z');
  });

  it('keeps showing the last snapshot and says so when collecting throws', async () => {
    let first = true;
    const load = async () => {
      if (first) {
        first = false;
        return brokenStackSnapshot();
      }
      throw new Error('warehouse exploded');
    };
    const app = render(<StatusApp load={load} intervalMs={60_000} />);
    await frameWhere(app.lastFrame, (f) => f.includes('Phases'));
    app.stdin.write('r');
    const frame = await frameWhere(app.lastFrame, (f) => f.includes('ERROR: could not collect status: warehouse exploded'));
    expect(frame).toContain('Phases');
  });

  it('q exits the app: waitUntilExit resolves and polling stops', async () => {
    const { load, calls } = loader();
    const stdout = Object.assign(new EventEmitter(), { columns: 160, rows: 50, isTTY: true, write: (_: string) => true });
    const stdin = Object.assign(new EventEmitter(), {
      isTTY: true,
      data: null as string | null,
      setEncoding() {},
      setRawMode() {},
      resume() {},
      pause() {},
      ref() {},
      unref() {},
      read() {
        const { data } = stdin;
        stdin.data = null;
        return data;
      },
    });
    const instance = inkRender(<StatusApp load={load} intervalMs={50} />, {
      stdout: stdout as unknown as NodeJS.WriteStream,
      stdin: stdin as unknown as NodeJS.ReadStream,
      debug: true,
      exitOnCtrlC: false,
      patchConsole: false,
    });
    await frameWhere(() => String(calls.length), (n) => Number(n) >= 1);
    stdin.data = 'q';
    stdin.emit('readable');
    await expect(instance.waitUntilExit()).resolves.toBeUndefined();
    const after = calls.length;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(calls.length).toBe(after);
  });
});
