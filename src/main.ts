import { Command, CommanderError } from 'commander';
import { createContext, globalsOf, type CommandResult, type ContextIo } from './commands/context.ts';
import type { ActionFactory, Register } from './commands/registry.ts';
import { StreamMigrateError, messageOf, type ExitCode } from './core/errors.ts';
import { Redactor } from './core/redactor.ts';

export interface MainIo extends ContextIo {
  readonly writeOut: (text: string) => void;
}

/**
 * Parses the command line, runs one command and renders its result or error. Returns the exit
 * code; only bin/stream-migrate turns it into process.exit.
 */
export async function main(argv: readonly string[], io: MainIo): Promise<ExitCode> {
  let outcome: { result: CommandResult; json: boolean } | undefined;
  let redactor = new Redactor();
  let json = argv.includes('--json');
  let verbose = argv.includes('--verbose');

  const action: ActionFactory = (fn) => async (...args: unknown[]) => {
    const command = args.at(-1) as Command;
    const options = (args.at(-2) ?? {}) as Parameters<typeof fn>[0];
    const positional = args.slice(0, -2).filter((a): a is string => typeof a === 'string');
    const globals = globalsOf(command);
    const ctx = createContext(globals, io);
    redactor = ctx.redactor;
    json = ctx.json;
    verbose = ctx.verbose;
    outcome = { result: await fn(options, ctx, positional), json: ctx.json };
  };

  const program = await buildProgram(action, io, argv);
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    return renderError(error, { io, redactor, json, verbose });
  }
  if (!outcome) return 0;
  const { result } = outcome;
  if (outcome.json) io.writeOut(redactor.redact(JSON.stringify(result.data, null, 2)) + '\n');
  else if (result.text) io.writeOut(redactor.redact(result.text) + '\n');
  return result.exitCode ?? 0;
}

/**
 * Every command file, in help order, with the top-level commands it defines. A command line that
 * names one loads only that file: a worker started by the supervisor (or restarted after a crash)
 * does not import the dashboard, the demo and the phases first, which was half its start-up.
 */
const COMMAND_FILES: readonly { readonly names: readonly string[]; readonly load: () => Promise<Register> }[] = [
  { names: ['init'], load: async () => (await import('./commands/init.ts')).registerInit },
  { names: ['config'], load: async () => (await import('./commands/config.ts')).registerConfig },
  { names: ['dev'], load: async () => (await import('./commands/dev.ts')).registerDev },
  { names: ['audit'], load: async () => (await import('./commands/audit.ts')).registerAudit },
  { names: ['load'], load: async () => (await import('./commands/load.ts')).registerLoad },
  { names: ['phase'], load: async () => (await import('./commands/phase.ts')).registerPhase },
  { names: ['processor'], load: async () => (await import('./commands/processor.ts')).registerProcessor },
  { names: ['workers'], load: async () => (await import('./commands/workers.ts')).registerWorkers },
  { names: ['cutover', 'rollback'], load: async () => (await import('./commands/cutover.ts')).registerCutover },
  { names: ['demo'], load: async () => (await import('./commands/demo.ts')).registerDemo },
  { names: ['sink'], load: async () => (await import('./commands/sink.ts')).registerSink },
  { names: ['sources'], load: async () => (await import('./commands/sources.ts')).registerSources },
  { names: ['batch'], load: async () => (await import('./commands/batch.ts')).registerBatch },
  { names: ['validate'], load: async () => (await import('./commands/validate.ts')).registerValidate },
  { names: ['status'], load: async () => (await import('./commands/status.ts')).registerStatus },
  { names: ['snapshot'], load: async () => (await import('./commands/snapshot.ts')).registerSnapshot },
  { names: ['dlq'], load: async () => (await import('./commands/dlq.ts')).registerDlq },
  { names: ['dashboard'], load: async () => (await import('./commands/dashboard.ts')).registerDashboard },
];

/** The top-level command a command line names: its first word that is neither an option nor --config's value. */
export function commandNameOf(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] ?? '';
    if (word === '--config') i++;
    else if (!word.startsWith('-')) return word;
  }
  return undefined;
}

async function buildProgram(action: ActionFactory, io: MainIo, argv: readonly string[]): Promise<Command> {
  const program = new Command('stream-migrate')
    .description('Move a nightly batch ETL to PostgreSQL CDC -> Kafka -> stream processing -> ClickHouse, prove it, then retire the batch job.')
    .version('0.1.0')
    .option('--config <path>', 'configuration file (default: ./stream-migrate.yaml, else built-in defaults)')
    .option('--json', 'print one JSON document on stdout')
    .option('--verbose', 'debug logs and stack traces')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: io.writeOut, writeErr: io.writeErr });
  const name = commandNameOf(argv);
  const named = COMMAND_FILES.filter((file) => name !== undefined && file.names.includes(name));
  // No command, `help`, or a misspelt one: every command is registered, for the help and the suggestion.
  const files = named.length > 0 ? named : COMMAND_FILES;
  for (const register of await Promise.all(files.map((file) => file.load()))) register(program, action);
  return program;
}

interface RenderOptions {
  readonly io: MainIo;
  readonly redactor: Redactor;
  readonly json: boolean;
  readonly verbose: boolean;
}

function renderError(error: unknown, { io, redactor, json, verbose }: RenderOptions): ExitCode {
  if (error instanceof CommanderError) {
    // Commander already printed help, the version or its own one-line usage error.
    return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help' ? 0 : 2;
  }
  const known = error instanceof StreamMigrateError ? error : undefined;
  const message = redactor.redact(known ? known.message : `unexpected error: ${messageOf(error)} (rerun with --verbose for details)`);
  io.writeErr(`error: ${message}\n`);
  if (verbose && error instanceof Error && error.stack) io.writeErr(redactor.redact(error.stack) + '\n');
  if (json) {
    const body = known ? known.toJSON() : { code: 'INTERNAL', message, retriable: false, details: {} };
    io.writeOut(redactor.redact(JSON.stringify({ error: body }, null, 2)) + '\n');
  }
  return known ? known.exitCode : 1;
}
