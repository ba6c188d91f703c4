import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { EXAMPLE_CONFIG } from '../config/example.ts';
import { CONFIG_FILE_NAME } from '../config/load.ts';
import { UsageError } from '../core/errors.ts';
import type { CommandContext, CommandResult } from './context.ts';
import type { Register } from './registry.ts';

export interface InitOptions {
  readonly force: boolean;
  readonly path?: string;
}

/** Writes a commented example configuration; refuses to overwrite one without --force. */
export async function init(options: InitOptions, ctx: CommandContext): Promise<CommandResult<{ file: string; written: boolean }>> {
  const file = path.resolve(ctx.cwd, options.path ?? CONFIG_FILE_NAME);
  if (fs.existsSync(file) && !options.force) {
    throw new UsageError(`${file} already exists; edit it, or pass --force to replace it with the example`);
  }
  fs.writeFileSync(file, EXAMPLE_CONFIG);
  return { data: { file, written: true }, text: `wrote ${file}: every key is optional; uncomment what differs from the defaults` };
}

export const registerInit: Register = (program: Command, action) => {
  program
    .command('init')
    .description('write a commented example stream-migrate.yaml')
    .option('--force', 'overwrite an existing file', false)
    .option('--path <file>', 'where to write it', CONFIG_FILE_NAME)
    .action(action<InitOptions>(init));
};
