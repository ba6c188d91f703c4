import type { Command } from 'commander';
import { UsageError } from '../core/errors.ts';
import { openStateStore } from '../state/state-store.ts';
import type { CommandContext, CommandResult } from './context.ts';
import type { Register } from './registry.ts';
import { renderTable } from './table.ts';

export interface AuditOptions {
  readonly limit: string;
  readonly command?: string;
}

/** Shows the newest audit log entries (opening the state store applies pending migrations). */
export async function audit(options: AuditOptions, ctx: CommandContext): Promise<CommandResult> {
  const limit = Number(options.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit ${options.limit}: expected a positive whole number`);
  const store = await openStateStore(ctx.loaded().config.warehouse);
  try {
    const entries = await store.audit.recent(limit, options.command);
    const rows = entries.map((e) => [e.at.toISOString(), e.actor, e.command, e.target, e.outcome]);
    return {
      data: { entries: entries.map((e) => ({ ...e, at: e.at.toISOString() })), migrationsApplied: store.migrations.applied },
      text: entries.length === 0 ? 'the audit log is empty' : renderTable(['at', 'actor', 'command', 'target', 'outcome'], rows),
    };
  } finally {
    await store.close();
  }
}

export const registerAudit: Register = (program: Command, action) => {
  program
    .command('audit')
    .description('show the audit log: who changed what, when, with which outcome')
    .option('-n, --limit <n>', 'how many entries', '20')
    .option('--command <name>', 'only entries of this command, e.g. "phase run"')
    .action(action(audit));
};
