import type { Command } from 'commander';
import { stringify } from 'yaml';
import type { CommandContext, CommandResult } from './context.ts';
import type { Register } from './registry.ts';

/** The effective configuration (defaults merged with the file), every secret shown as ***. */
export async function configShow(_options: object, ctx: CommandContext): Promise<CommandResult> {
  const loaded = ctx.loaded();
  const source = loaded.file ? `# from ${loaded.file} merged over the defaults\n` : '# no stream-migrate.yaml: defaults for the local stack\n';
  return { data: loaded.redacted, text: source + stringify(loaded.redacted).trimEnd() };
}

export const registerConfig: Register = (program: Command, action) => {
  const config = program.command('config').description('inspect the configuration');
  config
    .command('show')
    .description('print the effective configuration, secrets masked')
    .action(action(configShow));
};
