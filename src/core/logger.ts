import type { Redactor } from './redactor.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(message: string, fields?: Readonly<Record<string, unknown>>): void;
  info(message: string, fields?: Readonly<Record<string, unknown>>): void;
  warn(message: string, fields?: Readonly<Record<string, unknown>>): void;
  error(message: string, fields?: Readonly<Record<string, unknown>>): void;
  child(bindings: Readonly<Record<string, unknown>>): Logger;
}

export interface LoggerOptions {
  readonly level: LogLevel;
  /** JSON lines for workers and log shippers; human text otherwise. */
  readonly json: boolean;
  readonly redactor: Redactor;
  /** Where lines go; stderr by default so stdout stays the command's result. */
  readonly write?: (line: string) => void;
  readonly bindings?: Readonly<Record<string, unknown>>;
}

/** A structured logger that writes to stderr and never lets a registered secret through. */
export function createLogger(options: LoggerOptions): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const bindings = options.bindings ?? {};
  const emit = (level: LogLevel, message: string, fields: Readonly<Record<string, unknown>> = {}): void => {
    if (LEVEL_RANK[level] < LEVEL_RANK[options.level]) return;
    const all = { ...bindings, ...fields };
    const line = options.json
      ? JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...all })
      : `${level === 'info' ? '' : level + ': '}${message}${formatFields(all)}`;
    write(options.redactor.redact(line));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (more) => createLogger({ ...options, bindings: { ...bindings, ...more } }),
  };
}

function formatFields(fields: Readonly<Record<string, unknown>>): string {
  const entries = Object.entries(fields);
  if (entries.length === 0) return '';
  return ' ' + entries.map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ');
}
