import { Command, CommanderError } from 'commander';
import { registerAudit } from './commands/audit.ts';
import { registerBatch } from './commands/batch.ts';
import { registerConfig } from './commands/config.ts';
import { createContext, globalsOf, type CommandResult, type ContextIo } from './commands/context.ts';
import { registerDev } from './commands/dev.ts';
import { registerInit } from './commands/init.ts';
import { registerLoad } from './commands/load.ts';
import { registerPhase } from './commands/phase.ts';
import { registerProcessor } from './commands/processor.ts';
import { registerSink } from './commands/sink.ts';
import { registerSources } from './commands/sources.ts';
import { registerStatus } from './commands/status.ts';
import { registerSnapshot } from './commands/snapshot.ts';
import { registerDlq } from './commands/dlq.ts';
import { registerWorkers } from './commands/workers.ts';
import { registerCutover } from './commands/cutover.ts';
import { registerDashboard } from './commands/dashboard.ts';
import { registerDemo } from './commands/demo.ts';
import { registerValidate } from './commands/validate.ts';
import type { ActionFactory } from './commands/registry.ts';
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

  const program = buildProgram(action, io);
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

function buildProgram(action: ActionFactory, io: MainIo): Command {
  const program = new Command('stream-migrate')
    .description('Move a nightly batch ETL to PostgreSQL CDC -> Kafka -> stream processing -> ClickHouse, prove it, then retire the batch job.')
    .version('0.1.0')
    .option('--config <path>', 'configuration file (default: ./stream-migrate.yaml, else built-in defaults)')
    .option('--json', 'print one JSON document on stdout')
    .option('--verbose', 'debug logs and stack traces')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: io.writeOut, writeErr: io.writeErr });
  registerInit(program, action);
  registerConfig(program, action);
  registerDev(program, action);
  registerAudit(program, action);
  registerLoad(program, action);
  registerPhase(program, action);
  registerProcessor(program, action);
  registerWorkers(program, action);
  registerCutover(program, action);
  registerDemo(program, action);
  registerSink(program, action);
  registerSources(program, action);
  registerBatch(program, action);
  registerValidate(program, action);
  registerStatus(program, action);
  registerSnapshot(program, action);
  registerDlq(program, action);
  registerDashboard(program, action);
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
