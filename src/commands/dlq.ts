import type { Command } from 'commander';
import { UsageError } from '../core/errors.ts';
import type { DeadLetter, DeadLetterFilter } from '../dlq/dead-letters.ts';
import { listDeadLetters, replayDeadLetters, type DeadLetterList, type ListedDeadLetter, type ReplayResult } from '../dlq/service.ts';
import type { CommandContext, CommandResult } from './context.ts';
import { createProgress } from './progress.ts';
import type { Register } from './registry.ts';
import { renderTable } from './table.ts';

export interface DlqListOptions {
  readonly reason?: string;
  readonly since?: string;
}

export interface DlqReplayOptions {
  readonly reason?: string;
  readonly since?: string;
  readonly dryRun: boolean;
  readonly wait: boolean;
}

function filterOf(options: { readonly reason?: string; readonly since?: string }): DeadLetterFilter {
  let sinceMs: number | undefined;
  if (options.since !== undefined) {
    sinceMs = Date.parse(options.since);
    if (!Number.isFinite(sinceMs) || !/\d{4}-\d\d-\d\d/.test(options.since)) throw new UsageError(`--since ${options.since}: expected an ISO-8601 time such as 2026-11-25T10:00:00Z`);
  }
  if (options.reason !== undefined && options.reason.trim() === '') throw new UsageError('--reason: empty; give a reason class (e.g. missing-customer) or text the reason contains');
  return { reason: options.reason, sinceMs };
}

/** The dead letters: when, stage, why, where from, which order, whether replayed; a count by reason. */
export async function dlqList(options: DlqListOptions, ctx: CommandContext): Promise<CommandResult> {
  const list = await listDeadLetters(ctx.loaded().config, filterOf(options));
  return {
    data: {
      topic: list.topic,
      total: list.total,
      count: list.deadLetters.length,
      byReason: list.byReason,
      deadLetters: list.deadLetters.map(listedJson),
    },
    text: renderList(list),
  };
}

/** Re-sends the current rows of dead-lettered orders whose cause is gone, once each, audited. */
export async function dlqReplay(options: DlqReplayOptions, ctx: CommandContext): Promise<CommandResult> {
  const { config } = ctx.loaded();
  const result = await replayDeadLetters(
    config,
    { filter: filterOf(options), dryRun: options.dryRun, wait: options.wait, actor: ctx.actor },
    { config, logger: ctx.logger, clock: ctx.clock, progress: createProgress(ctx.logger) },
  );
  return { data: replayJson(result), text: renderReplay(result) };
}

function deadLetterJson(d: DeadLetter): Record<string, unknown> {
  return {
    topic: d.topic,
    partition: d.partition,
    offset: d.offset.toString(),
    at: d.at,
    stage: d.stage,
    reason: d.reason,
    reasonClass: d.reasonClass,
    source: d.source,
    table: d.table,
    orderId: d.orderId,
    customerId: d.customerId,
    productId: d.productId,
  };
}

function listedJson(d: ListedDeadLetter): Record<string, unknown> {
  return { ...deadLetterJson(d), replayed: d.replayed ? { signalId: d.replayed.signalId, actor: d.replayed.actor, at: d.replayed.replayedAt.toISOString() } : null };
}

function replayJson(r: ReplayResult): Record<string, unknown> {
  return {
    topic: r.topic,
    dryRun: r.dryRun,
    signalId: r.signalId,
    signalSent: r.signalSent,
    orderIds: r.orderIds,
    replayed: r.replay.map(deadLetterJson),
    skipped: r.skipped.map((s) => ({ ...deadLetterJson(s.deadLetter), skipReason: s.reason })),
    alreadyReplayed: r.alreadyReplayed,
    snapshot: r.snapshot,
  };
}

function renderList(list: DeadLetterList): string {
  if (list.deadLetters.length === 0) return `no dead letters${list.total > 0 ? ` match (${list.total} on ${list.topic})` : ` on ${list.topic}`}`;
  const rows = list.deadLetters.map((d) => [
    d.at ?? '-',
    d.stage,
    d.reason,
    `${d.source.topic ?? '?'}/${d.source.partition ?? '?'}@${d.source.offset ?? '?'}`,
    d.orderId === null ? '-' : String(d.orderId),
    d.replayed ? `yes (${d.replayed.replayedAt.toISOString()})` : 'no',
  ]);
  const summary = list.byReason.map((r) => `${r.reason} ${r.count}`).join(', ');
  return `${renderTable(['when', 'stage', 'reason', 'source', 'order', 'replayed'], rows)}\n${list.deadLetters.length} dead letters on ${list.topic}: ${summary}`;
}

function renderReplay(r: ReplayResult): string {
  const lines: string[] = [];
  if (r.dryRun) lines.push('dry run: nothing was sent or recorded');
  const orders = r.orderIds.join(', ');
  if (r.replay.length === 0) lines.push('nothing to replay');
  else if (r.dryRun) lines.push(`would re-send ${r.orderIds.length} orders (${orders}) for ${r.replay.length} dead letters, signal ${r.signalId}`);
  else lines.push(`re-sent ${r.orderIds.length} orders (${orders}) for ${r.replay.length} dead letters, signal ${r.signalId}${r.signalSent ? '' : ' (already sent by an earlier attempt)'}`);
  for (const s of r.skipped) lines.push(`skipped ${s.deadLetter.topic}/${s.deadLetter.partition}@${s.deadLetter.offset}: ${s.reason}`);
  if (r.alreadyReplayed > 0) lines.push(`${r.alreadyReplayed} dead letters were replayed before`);
  if (r.snapshot) lines.push(`snapshot done: ${r.snapshot.rows} rows re-sent in ${(r.snapshot.elapsedMs / 1_000).toFixed(1)}s`);
  return lines.join('\n');
}

export const registerDlq: Register = (program: Command, action) => {
  const dlq = program.command('dlq').description('dead letters: what could not be processed and why; re-inject once the cause is fixed');
  dlq
    .command('list')
    .description('every dead letter: when, stage, reason, source record, order, whether replayed; a count by reason')
    .option('--reason <r>', 'only this reason class (missing-customer, missing-product, invalid-row, ...) or reasons containing this text')
    .option('--since <iso>', 'only dead letters written at or after this time')
    .action(action(dlqList));
  dlq
    .command('replay')
    .description("re-send the current row of each dead-lettered order whose order, customer and product now exist (Debezium incremental snapshot), once, audited")
    .option('--reason <r>', 'only this reason class or reasons containing this text')
    .option('--since <iso>', 'only dead letters written at or after this time')
    .option('--dry-run', 'show what would be replayed or skipped and why; change nothing', false)
    .option('--no-wait', 'return once the signal is sent, without following the snapshot')
    .action(action(dlqReplay));
};
