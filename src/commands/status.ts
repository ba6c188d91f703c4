import type { Command } from 'commander';
import { parseDuration } from '../core/duration.ts';
import { UsageError } from '../core/errors.ts';
import { renderSnapshotText } from '../status/render-text.ts';
import { collectSnapshot, type StatusSnapshot } from '../status/snapshot.ts';
import { openStatusSources } from '../status/sources.ts';
import type { CommandContext, CommandResult } from './context.ts';
import type { Register } from './registry.ts';

export interface StatusOptions {
  readonly once: boolean;
  readonly interval: string;
}

/**
 * Everything at a glance: an interactive TUI that refreshes itself, or with `--once` (or when
 * stdout is not a terminal) one plain-text snapshot, or with `--json` one JSON snapshot. All
 * three come from the same `collectSnapshot`. Services that are down are shown, not thrown.
 */
export async function status(options: StatusOptions, ctx: CommandContext): Promise<CommandResult<StatusSnapshot | { readonly quit: true }>> {
  const intervalMs = parseDuration(options.interval);
  if (intervalMs === undefined || intervalMs < 200) throw new UsageError(`--interval ${options.interval}: expected a duration of at least 200ms, such as 2s`);
  const { config } = ctx.loaded();
  const sources = openStatusSources({ config, cwd: ctx.cwd, logger: ctx.logger });
  const redact = (text: string) => ctx.redactor.redact(text);
  try {
    // Ink draws nothing but the last frame when CI is set, so a CI job gets the plain text instead.
    if (ctx.json || options.once || !process.stdout.isTTY || isCi(process.env)) {
      const snapshot = await collectSnapshot({ config, sources, clock: ctx.clock, redact });
      return { data: snapshot, text: renderSnapshotText(snapshot) };
    }
    // ink and react load only for the interactive screen, keeping --json and --once light. Node runs
    // our .ts itself (type stripping) but cannot compile JSX: the .tsx views load through tsx's loader.
    (await import('tsx/esm/api')).register();
    const [{ render }, { createElement }, { StatusApp }] = await Promise.all([import('ink'), import('react'), import('../tui/status-app.tsx')]);
    const load = (previous: StatusSnapshot | undefined) => collectSnapshot({ config, sources, clock: ctx.clock, redact }, previous);
    const app = render(createElement(StatusApp, { load, intervalMs }), { exitOnCtrlC: true });
    await app.waitUntilExit();
    return { data: { quit: true }, text: '' };
  } finally {
    await sources.close();
  }
}

export const registerStatus: Register = (program: Command, action) => {
  program
    .command('status')
    .description('interactive status (TUI): phases, services, connector, topics and lag, validation, cutover, business figures; --json / --once for scripts')
    .option('--once', 'print one plain-text snapshot and exit (also the default when stdout is not a terminal)', false)
    .option('--interval <duration>', 'how often the TUI refreshes', '2s')
    .action(action(status));
};

function isCi(env: NodeJS.ProcessEnv): boolean {
  return env.CI !== undefined && env.CI !== '' && env.CI !== 'false' && env.CI !== '0';
}
