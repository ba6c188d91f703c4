import type { StatusSnapshot } from './snapshot.ts';

/**
 * A snapshot as `collectSnapshot` returns it on a half-broken stack: Kafka down (its sections
 * errored), the cutover gate missing from the build, everything else answering. For view tests.
 */
export function brokenStackSnapshot(): StatusSnapshot {
  const takenAt = '2026-11-26T12:00:00.000Z';
  return {
    takenAt,
    elapsedMs: 3012,
    phases: {
      phases: [
        { name: 'infrastructure', status: 'succeeded', lastRunAt: '2026-11-26T11:00:00.000Z', finishedAt: '2026-11-26T11:00:05.000Z', actor: 'ana@ops' },
        { name: 'ingestion', status: 'failed', lastRunAt: '2026-11-26T11:10:00.000Z', finishedAt: '2026-11-26T11:10:30.000Z', actor: 'ana@ops' },
        { name: 'processing', status: 'not_started', lastRunAt: null, finishedAt: null, actor: null },
        { name: 'output', status: 'not_started', lastRunAt: null, finishedAt: null, actor: null },
      ],
    },
    services: {
      services: [
        { name: 'postgres', state: 'UP', endpoint: '127.0.0.1:15432', pid: 101, detail: 'PostgreSQL 15.20' },
        { name: 'kafka', state: 'DOWN', endpoint: '127.0.0.1:19092', pid: null, detail: 'not running; start it with `stream-migrate dev up`' },
        { name: 'connect', state: 'UP', endpoint: 'http://127.0.0.1:18083', pid: 103, detail: 'Kafka Connect' },
        { name: 'clickhouse', state: 'UP', endpoint: 'http://127.0.0.1:18123', pid: 104, detail: 'ClickHouse 18.16.1' },
      ],
      workers: [
        { name: 'processor-w1', state: 'RUNNING', pid: 201 },
        { name: 'sink-s1', state: 'DOWN', pid: null },
      ],
    },
    connector: {
      name: 'stream-migrate-source',
      state: 'RUNNING',
      workerId: '127.0.0.1:18083',
      trace: null,
      tasks: [{ id: 0, state: 'FAILED', workerId: '127.0.0.1:18083', trace: 'org.apache.kafka.connect.errors.ConnectException: slot is gone' }],
    },
    topics: { error: 'Kafka at 127.0.0.1:19092 is unreachable: ECONNREFUSED' },
    groups: { error: 'Kafka at 127.0.0.1:19092 is unreachable: ECONNREFUSED' },
    validation: {
      reports: [
        {
          id: 7,
          windowFrom: '2026-11-25T00:00:00.000Z',
          windowTo: '2026-11-26T00:00:00.000Z',
          verdict: 'FAIL',
          elapsedMs: 1200,
          actor: 'ana@ops',
          createdAt: '2026-11-26T11:30:00.000Z',
          tables: [
            { name: 'processed_orders', batchRows: 100, streamRows: 98, missingInStream: 2, missingInBatch: 0, mismatched: 0, samples: [] },
            { name: 'fraud_alerts', batchRows: 3, streamRows: 3, missingInStream: 0, missingInBatch: 0, mismatched: 0, samples: [] },
          ],
        },
      ],
    },
    cutover: { error: 'cutover gate not available in this build (src/cutover/gate.ts)', unavailable: true },
    business: {
      windowFrom: '2026-11-26T11:00:00.000Z',
      windowTo: takenAt,
      orders: 1234,
      revenue: '98765.43',
      averageOrderValue: '80.04',
      fraudAlerts: 12,
      fraudRate: 12 / 1234,
      alertsBySeverity: { HIGH: 4, MEDIUM: 8 },
    },
    alerts: {
      alerts: [
        { orderId: 9001, customerId: 42, finalAmount: '12500.00', severity: 'HIGH', reason: 'final amount above 10000.00', createdAt: '2026-11-26T11:58:00.000Z', alertedAt: '2026-11-26T11:58:01.000Z' },
      ],
    },
  };
}
