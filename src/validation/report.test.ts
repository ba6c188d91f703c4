import { describe, expect, it } from 'vitest';
import { judge } from './policy.ts';
import { buildReport, renderMarkdown, renderText, type ValidationReport } from './report.ts';
import type { TableResult } from './reconcile.ts';
import { TABLE_SPECS } from './tables.ts';

function table(name: 'processed_orders' | 'order_summaries', extra: Partial<TableResult> = {}): TableResult {
  const spec = TABLE_SPECS[name];
  return {
    name,
    batchRows: 100,
    streamRows: 100,
    missingInStream: 0,
    missingInBatch: 0,
    mismatched: 0,
    duplicateKeysInStream: 0,
    samples: [],
    missingInStreamKeys: [],
    missingInBatchKeys: [],
    mismatchedColumns: {},
    examinedMismatches: 0,
    keyColumns: spec.key.map((c) => c.name),
    comparedColumns: spec.columns.map((c) => c.name),
    excludedColumns: spec.excluded,
    buckets: { count: 1, differing: 0, drilledAll: false, drilledBatchRows: 0, drilledStreamRows: 0, postgresParts: 1 },
    timings: { planMs: 1, firstPassMs: 1, firstPassPostgresMs: 1, firstPassClickHouseMs: 1, drillMs: 0, detailMs: 0 },
    ...extra,
  };
}

function report(tables: TableResult[], requested = { fromMs: Date.parse('2026-11-25T00:00:00Z'), toMs: Date.parse('2026-11-26T00:00:00Z') }): ValidationReport {
  const tolerances = { missingInStream: 0, missingInBatch: 0, mismatched: 0 };
  const policy = judge(tables, tolerances);
  const body = buildReport({
    window: { fromMs: Date.parse('2026-11-25T00:00:00Z'), toMs: Date.parse('2026-11-26T00:00:00Z'), requested, notes: [], settleMs: 300_000 },
    settle: '5m',
    tables,
    latency: { p50: 1000, p95: 2000, p99: 3000, rows: 100, note: 'n' },
    outcome: policy,
    minRows: 1,
    sourcePosition: { newestSourceCommit: '2026-11-26T00:04:59.000Z', slotName: 'stream_migrate', slotConfirmedLsn: '0/1A2B3C4', note: null },
    tolerances,
    batchSchema: 'public',
    streamDatabase: 'stream',
    streamRead: 'final',
    elapsedMs: 1234.4,
    createdAt: new Date('2026-11-26T00:10:00Z'),
  });
  return { reportId: 7, ...body, files: { json: '/r/validation-7.json', markdown: '/r/validation-7.md' } };
}

describe('report', () => {
  it('holds the --json contract of DESIGN.md', () => {
    const r = report([table('processed_orders')]);
    const json = JSON.parse(JSON.stringify(r)) as Record<string, unknown>;
    expect(json).toMatchObject({
      reportId: 7,
      verdict: 'PASS',
      window: { from: '2026-11-25T00:00:00.000Z', to: '2026-11-26T00:00:00.000Z' },
      tables: [{ name: 'processed_orders', batchRows: 100, streamRows: 100, missingInStream: 0, missingInBatch: 0, mismatched: 0, samples: [] }],
      latencyMs: { p50: 1000, p95: 2000, p99: 3000 },
      elapsedMs: 1234,
    });
  });

  it('a failing report explains itself: the broken tolerance, each sample column with both values', () => {
    const failing = table('processed_orders', {
      mismatched: 1,
      examinedMismatches: 1,
      mismatchedColumns: { amount: 1 },
      samples: [{ key: '42', columns: [{ name: 'amount', batch: '10.00', stream: '10.01' }] }],
    });
    const r = report([failing, table('order_summaries', { missingInStream: 1, missingInStreamKeys: ['customer_id=7 window_start=2026-11-25T12:05:00Z'] })]);
    expect(r.verdict).toBe('FAIL');
    const text = renderText(r);
    expect(text).toContain('FAIL processed_orders: 1 mismatched (tolerance 0)');
    expect(text).toContain('processed_orders 42: amount: batch 10.00, stream 10.01');
    expect(text).toContain('order_summaries missing in stream: customer_id=7 window_start=2026-11-25T12:05:00Z');
    const markdown = renderMarkdown(r);
    expect(markdown).toContain('# Validation report 7: FAIL');
    expect(markdown).toContain('| 42 | amount | `10.00` | `10.01` |');
    expect(markdown).toContain('| order_summaries | 100 | 100 | 1 | 0 | 0 | FAIL |');
    expect(markdown).toContain('Not compared: `processed_at`');
    expect(r.tables.map((t) => t.passed)).toEqual([false, false]);
  });

  it('escapes pipes in Markdown cells', () => {
    const r = report([table('processed_orders', { mismatched: 1, samples: [{ key: '1', columns: [{ name: 'reason', batch: 'a|b', stream: null }] }] })]);
    expect(renderMarkdown(r)).toContain('| 1 | reason | `a\\|b` | *(absent)* |');
  });

  it('NO_DATA says which table had nothing and that the report does not count', () => {
    const r = report([table('processed_orders', { batchRows: 0, streamRows: 0 })]);
    expect(r.verdict).toBe('NO_DATA');
    expect(renderText(r)).toContain('NO_DATA processed_orders: 0 batch and 0 stream rows in the window, at least 1 needed (validation.minRows)');
    expect(renderMarkdown(r)).toContain('does not count toward cutover');
    expect(renderMarkdown(r)).toContain('| processed_orders | 0 | 0 | 0 | 0 | 0 | NO_DATA |');
    expect(r.tables[0]?.result).toBe('NO_DATA');
  });

  it('a compared window narrower than the requested one shows both, in text, Markdown and JSON', () => {
    const r = report([table('processed_orders')], { fromMs: Date.parse('2026-11-24T23:57:30Z'), toMs: Date.parse('2026-11-26T00:03:00Z') });
    expect(r.narrowed).toBe(true);
    expect(r.requestedWindow).toEqual({ from: '2026-11-24T23:57:30.000Z', to: '2026-11-26T00:03:00.000Z' });
    expect(r.comparedWindow).toEqual({ from: '2026-11-25T00:00:00.000Z', to: '2026-11-26T00:00:00.000Z' });
    const line = 'requested 2026-11-24T23:57:30.000Z .. 2026-11-26T00:03:00.000Z, compared 2026-11-25T00:00:00.000Z .. 2026-11-26T00:00:00.000Z (narrower';
    expect(renderText(r)).toContain(line);
    expect(renderMarkdown(r)).toContain(line);
  });

  it('records how it was made: tables, settle, schema, database, tolerances, windows, source position', () => {
    const r = report([table('processed_orders'), table('order_summaries')]);
    expect(r.provenance).toEqual({
      tables: ['processed_orders', 'order_summaries'],
      settle: '5m',
      settleMs: 300_000,
      batchSchema: 'public',
      streamDatabase: 'stream',
      streamRead: 'final',
      tolerances: { missingInStream: 0, missingInBatch: 0, mismatched: 0 },
      minRows: 1,
      requestedWindow: { from: '2026-11-25T00:00:00.000Z', to: '2026-11-26T00:00:00.000Z' },
      comparedWindow: { from: '2026-11-25T00:00:00.000Z', to: '2026-11-26T00:00:00.000Z' },
      sourcePosition: { newestSourceCommit: '2026-11-26T00:04:59.000Z', slotName: 'stream_migrate', slotConfirmedLsn: '0/1A2B3C4', note: null },
      channels: ['web'],
    });
    expect(renderText(r)).toContain('source position: newest source commit in the stream 2026-11-26T00:04:59.000Z, slot stream_migrate confirmed 0/1A2B3C4');
  });
});

describe('channels', () => {
  it('shows each channel of a table keyed by order, and records the channels the window held', () => {
    const zero = { missingInStream: 0, missingInBatch: 0, mismatched: 0 };
    const t = {
      ...table('processed_orders'),
      channels: [
        { channel: 'web' as const, batchRows: 5, streamRows: 5, ...zero },
        { channel: 'partner' as const, batchRows: 0, streamRows: 0, ...zero },
        { channel: 'store' as const, batchRows: 3, streamRows: 2, ...zero, missingInStream: 1 },
      ],
    };
    const r = report([t]);
    expect(r.provenance.channels).toEqual(['web', 'store']);
    expect(renderMarkdown(r)).toContain('|   · store | 3 | 2 | 1 | 0 | 0 | differs |');
    expect(renderText(r)).toMatch(/· partner\s+0\s+0/);
  });
});
