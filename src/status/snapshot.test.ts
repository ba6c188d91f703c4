import { describe, expect, it } from 'vitest';
import { buildConfig } from '../config/load.ts';
import type { ServiceName } from '../local-stack/paths.ts';
import type { ServiceStatus } from '../local-stack/stack.ts';
import { renderSnapshotText } from './render-text.ts';
import { brokenStackSnapshot } from './snapshot-fixture.ts';
import { businessFigures, divideHalfEven } from './business.ts';
import { ratePerSecond } from './pipeline.ts';
import { collectSnapshot, isSectionError, type StatusSources, type StatusSnapshot } from './snapshot.ts';

const { config } = buildConfig({}, undefined, {});
const never = <T,>(): Promise<T> => new Promise<T>(() => undefined);

function clockAt(...instants: string[]) {
  let i = 0;
  return { now: () => new Date(instants[Math.min(i++, instants.length - 1)] ?? 0) };
}

/** Fake sources of a healthy stack; each test breaks what it needs. */
function fakeSources(overrides: Partial<StatusSources> = {}, offsets = 1_000n): StatusSources & { calls: Record<string, number> } {
  const calls: Record<string, number> = {};
  const count = (name: string) => (calls[name] = (calls[name] ?? 0) + 1);
  const service = (name: ServiceName): ServiceStatus => ({ name, healthy: true, endpoint: `ep-${name}`, detail: `${name} ok`, pid: 1, logFile: '' });
  return {
    calls,
    serviceNames: ['postgres', 'kafka', 'connect', 'clickhouse'],
    probeService: async (name) => service(name),
    workers: () => [{ name: 'processor-w1', pid: 9, logFile: '', startedAt: null }],
    kafka: {
      listTopics: async () => (count('listTopics'), ['cdc.public.orders', 'processed-orders']),
      endOffsets: async () => [{ partition: 0, offset: offsets }, { partition: 1, offset: offsets }],
      listGroups: async () => [{ groupId: 'stream-migrate-processor', state: 'STABLE', protocolType: 'consumer' }, { groupId: 'someone-else', state: 'EMPTY', protocolType: 'consumer' }],
      groupLag: async () => [{ topic: 'cdc.public.orders', partition: 0, committed: offsets - 5n, end: offsets, lag: 5n }],
    },
    connect: { status: async (name) => ({ name, connector: { state: 'RUNNING', workerId: 'w1' }, tasks: [{ id: 0, state: 'RUNNING', workerId: 'w1' }] }) },
    clickhouse: {
      query: async <T,>(sql: string) => {
        if (sql.includes('count() AS orders')) return [{ orders: '3', revenue_text: '10.00' }] as T[];
        if (sql.includes('GROUP BY severity')) return [{ severity: 'HIGH', alert_count: '1' }] as T[];
        return [{ order_id: '5', customer_id: '7', final_amount_text: '12000.00', severity: 'HIGH', reason: 'big', created_ts: 1795690000, alerted_ts: 1795690001 }] as T[];
      },
    },
    latestPhaseRuns: async () => [{ phase: 'ingestion', status: 'failed', started_at: new Date('2026-11-26T10:00:00Z'), finished_at: null, actor: 'ana' }],
    latestValidationReports: async () => [
      { id: '3', window_from: new Date('2026-11-25T00:00:00Z'), window_to: new Date('2026-11-26T00:00:00Z'), verdict: 'PASS', elapsed_ms: 10, actor: 'ana', created_at: new Date('2026-11-26T01:00:00Z'), tables: [{ name: 'processed_orders', batchRows: 10, streamRows: 10, missingInStream: 0, missingInBatch: 0, mismatched: 0 }] },
    ],
    gate: async () => ({ allowed: false, state: 'dual-run', checks: [{ name: 'validation-streak', passed: false, detail: '1 of 3' }] }),
    close: async () => undefined,
    ...overrides,
  };
}

describe('collectSnapshot', () => {
  it('collects every section of a healthy stack into plain JSON', async () => {
    const snapshot = await collectSnapshot({ config, sources: fakeSources(), clock: clockAt('2026-11-26T12:00:00Z', '2026-11-26T12:00:00.250Z') });
    expect(JSON.parse(JSON.stringify(snapshot))).toEqual(snapshot);
    expect(snapshot.elapsedMs).toBe(250);
    expect(snapshot.phases).toMatchObject({ phases: [{ name: 'infrastructure', status: 'not_started' }, { name: 'ingestion', status: 'failed', actor: 'ana' }, {}, {}] });
    expect(snapshot.services).toMatchObject({ services: [{ name: 'postgres', state: 'UP' }, { name: 'kafka', state: 'UP' }, { name: 'connect' }, { name: 'clickhouse' }], workers: [{ name: 'processor-w1', state: 'RUNNING', pid: 9 }] });
    expect(snapshot.connector).toMatchObject({ state: 'RUNNING', tasks: [{ id: 0, state: 'RUNNING' }] });
    expect(snapshot.topics).toMatchObject({ topics: expect.arrayContaining([{ name: 'cdc.public.orders', role: 'orders', exists: true, partitions: 2, endOffset: 2000, recordsPerSecond: null }, { name: 'fraud-alerts', role: 'fraudAlerts', exists: false, partitions: 0, endOffset: 0, recordsPerSecond: null }]) });
    expect(snapshot.groups).toMatchObject({ groups: [{ groupId: 'stream-migrate-processor', state: 'STABLE', lag: 5, committed: 995 }, { groupId: 'stream-migrate-sink', state: 'ABSENT', lag: 0 }], otherGroups: 1 });
    expect(snapshot.validation).toMatchObject({ reports: [{ id: 3, verdict: 'PASS', windowFrom: '2026-11-25T00:00:00.000Z' }] });
    expect(snapshot.cutover).toEqual({ allowed: false, state: 'dual-run', checks: [{ name: 'validation-streak', passed: false, detail: '1 of 3' }] });
    expect(snapshot.business).toMatchObject({ orders: 3, revenue: '10.00', averageOrderValue: '3.33', fraudAlerts: 1, alertsBySeverity: { HIGH: 1, MEDIUM: 0 }, windowFrom: '2026-11-26T11:00:00.000Z' });
    expect(snapshot.alerts).toMatchObject({ alerts: [{ orderId: 5, customerId: 7, finalAmount: '12000.00', alertedAt: new Date(1795690001 * 1000).toISOString() }] });
  });

  it('turns a failing section into { error } and a hanging one into a timeout, without waiting longer', async () => {
    const sources = fakeSources({
      kafka: { listTopics: never, endOffsets: never, listGroups: () => Promise.reject(new Error('Kafka at 127.0.0.1:1 is unreachable: ECONNREFUSED\nstack')), groupLag: never },
      probeService: async (name) => (name === 'kafka' ? never<ServiceStatus>() : { name, healthy: name !== 'connect', endpoint: 'e', detail: name === 'connect' ? 'not running; start it with `stream-migrate dev up`' : 'ok', pid: null, logFile: '' }),
      latestValidationReports: () => Promise.reject(new Error('relation "stream_migrate.validation_reports" does not exist with secret s3cr3t')),
    });
    const started = Date.now();
    const snapshot = await collectSnapshot({ config, sources, sectionTimeoutMs: 150, redact: (t) => t.replace('s3cr3t', '***') });
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(snapshot.topics).toEqual({ error: 'no answer within 150ms' });
    expect(snapshot.groups).toEqual({ error: 'Kafka at 127.0.0.1:1 is unreachable: ECONNREFUSED' });
    expect(snapshot.validation).toEqual({ error: 'relation "stream_migrate.validation_reports" does not exist with secret ***' });
    expect(isSectionError(snapshot.services)).toBe(false);
    const services = isSectionError(snapshot.services) ? [] : snapshot.services.services;
    expect(services.map((s) => `${s.name} ${s.state}`)).toEqual(['postgres UP', 'kafka DOWN', 'connect DOWN', 'clickhouse UP']);
    expect(services[1]?.detail).toBe('no answer within 150ms');
    expect(snapshot.business).toMatchObject({ orders: 3 });
  });

  it('does not start a call again while the previous refresh is still waiting for it', async () => {
    let started = 0;
    const sources = fakeSources({ latestPhaseRuns: () => (started++, never()) });
    await collectSnapshot({ config, sources, sectionTimeoutMs: 50 });
    await collectSnapshot({ config, sources, sectionTimeoutMs: 50 });
    expect(started).toBe(1);
  });

  it('reports the cutover checklist as unavailable when the build has no gate, and an odd gate answer as an error', async () => {
    const missing = await collectSnapshot({ config, sources: fakeSources({ gate: async () => undefined }) });
    expect(missing.cutover).toEqual({ error: 'cutover gate not available in this build (src/cutover/gate.ts)', unavailable: true });
    const odd = await collectSnapshot({ config, sources: fakeSources({ gate: async () => ({ allowed: 'yes' }) }) });
    expect(odd.cutover).toEqual({ error: 'cutover gate answered in an unexpected shape' });
  });

  it('computes records/s from the previous snapshot', async () => {
    const first = await collectSnapshot({ config, sources: fakeSources({}, 1_000n), clock: clockAt('2026-11-26T12:00:00Z') });
    const second = await collectSnapshot({ config, sources: fakeSources({}, 3_000n), clock: clockAt('2026-11-26T12:00:02Z') }, first);
    const topics = isSectionError(second.topics) ? [] : second.topics.topics;
    // Two partitions each grew by 2000 in 2 s.
    expect(topics.find((t) => t.name === 'cdc.public.orders')?.recordsPerSecond).toBe(2000);
    const groups = isSectionError(second.groups) ? [] : second.groups.groups;
    expect(groups[0]?.recordsPerSecond).toBe(1000);
    expect(groups[1]?.recordsPerSecond).toBeNull();
  });
});

describe('pure helpers', () => {
  it('ratePerSecond refuses negative deltas and missing time', () => {
    const at = new Date('2026-11-26T12:00:04Z');
    expect(ratePerSecond(100, 300, '2026-11-26T12:00:00Z', at)).toBe(50);
    expect(ratePerSecond(300, 100, '2026-11-26T12:00:00Z', at)).toBeNull();
    expect(ratePerSecond(100, 300, undefined, at)).toBeNull();
    expect(ratePerSecond(100, 300, '2026-11-26T12:00:04Z', at)).toBeNull();
  });

  it('divideHalfEven rounds ties to even', () => {
    expect(divideHalfEven(5, 2)).toBe(2);
    expect(divideHalfEven(7, 2)).toBe(4);
    expect(divideHalfEven(1000, 3)).toBe(333);
    expect(divideHalfEven(2000, 3)).toBe(667);
    expect(divideHalfEven(-5, 2)).toBe(-2);
  });

  it('businessFigures: average order value in exact cents, fraud rate, zero orders', () => {
    const from = new Date('2026-11-26T11:00:00Z');
    const to = new Date('2026-11-26T12:00:00Z');
    const figures = businessFigures({ orders: '4', revenue_text: '100.10' }, [{ severity: 'MEDIUM', alert_count: '1' }], from, to);
    expect(figures).toMatchObject({ orders: 4, revenue: '100.10', averageOrderValue: '25.02', fraudAlerts: 1, fraudRate: 0.25, alertsBySeverity: { HIGH: 0, MEDIUM: 1 } });
    expect(businessFigures({ orders: '0', revenue_text: '0' }, [], from, to)).toMatchObject({ orders: 0, revenue: '0.00', averageOrderValue: null, fraudRate: null });
  });
});

describe('renderSnapshotText', () => {
  it('prints labels in words: DOWN services, ERROR and UNAVAILABLE sections', () => {
    const text = renderSnapshotText(brokenStackSnapshot() as StatusSnapshot);
    expect(text).toMatch(/kafka\s+DOWN\s+127\.0\.0\.1:19092/);
    expect(text).toContain('TOPICS\nERROR: Kafka at 127.0.0.1:19092 is unreachable: ECONNREFUSED');
    expect(text).toContain('CUTOVER CHECKLIST\nUNAVAILABLE: cutover gate not available in this build');
    expect(text).toMatch(/ingestion\s+FAILED/);
    expect(text).toMatch(/7\s+FAIL\s+.*processed_orders 2 missing in stream; fraud_alerts ok/);
    expect(text).not.toMatch(/\u001b\[/);
  });
});
