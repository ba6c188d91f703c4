import type { Command } from 'commander';
import type { CommandContext, CommandResult } from './context.ts';

/** Wraps a typed command function as a commander action; main.ts supplies it. */
export type ActionFactory = <O extends object>(
  fn: (options: O, ctx: CommandContext, args: readonly string[]) => Promise<CommandResult>,
) => (...args: unknown[]) => Promise<void>;

/** Each command file registers its commander definition through this signature. */
export type Register = (program: Command, action: ActionFactory) => void;
