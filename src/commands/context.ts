import os from 'node:os';
import type { Command } from 'commander';
import { loadConfig, type LoadedConfig } from '../config/load.ts';
import type { ExitCode } from '../core/errors.ts';
import { systemClock, type Clock } from '../core/clock.ts';
import { createLogger, type Logger } from '../core/logger.ts';
import { Redactor } from '../core/redactor.ts';

/** What every command receives: configuration (loaded on first use), output mode, logger, clock. */
export interface CommandContext {
  readonly cwd: string;
  readonly json: boolean;
  readonly verbose: boolean;
  readonly clock: Clock;
  readonly redactor: Redactor;
  readonly logger: Logger;
  /** Who runs this command, for the audit log: $STREAM_MIGRATE_ACTOR or user@host. */
  readonly actor: string;
  /** The validated configuration; throws ConfigError (exit 2) when the file is invalid. */
  loaded(): LoadedConfig;
}

/** The one shape every command returns; rendered as text or, with --json, as `data`. */
export interface CommandResult<T = unknown> {
  readonly data: T;
  readonly text: string;
  /** 1 when a check did not hold (validation FAIL, gate refused); 3 when a run stopped on an unreachable service. */
  readonly exitCode?: ExitCode;
}

export interface GlobalOptions {
  readonly config?: string;
  readonly json?: boolean;
  readonly verbose?: boolean;
  readonly jsonLogs?: boolean;
}

export interface ContextIo {
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  readonly writeErr: (line: string) => void;
}

export function createContext(globals: GlobalOptions, io: ContextIo): CommandContext {
  const redactor = new Redactor();
  const logger = createLogger({
    level: globals.verbose ? 'debug' : 'info',
    json: Boolean(globals.jsonLogs),
    redactor,
    write: io.writeErr,
  });
  let loaded: LoadedConfig | undefined;
  return {
    cwd: io.cwd,
    json: Boolean(globals.json),
    verbose: Boolean(globals.verbose),
    clock: systemClock,
    redactor,
    logger,
    actor: io.env.STREAM_MIGRATE_ACTOR ?? `${safeUser()}@${os.hostname()}`,
    loaded() {
      if (!loaded) {
        loaded = loadConfig({ cwd: io.cwd, explicitPath: globals.config, env: io.env });
        for (const secret of loaded.secretValues) redactor.add(secret);
      }
      return loaded;
    },
  };
}

function safeUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return 'unknown';
  }
}

/** Command actions receive commander's parsed options and the command; this recovers the globals. */
export function globalsOf(command: Command): GlobalOptions {
  return command.optsWithGlobals<GlobalOptions>();
}
