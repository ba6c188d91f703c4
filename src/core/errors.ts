/**
 * The one error hierarchy of stream-migrate. Every error has a stable `code`, the exit code the
 * edge (bin/stream-migrate) turns it into, whether retrying can help, and JSON-safe details.
 * Messages are one line: what failed, why, and what to do.
 */
export type ExitCode = 0 | 1 | 2 | 3;

export interface ErrorOptions {
  readonly details?: Readonly<Record<string, unknown>>;
  readonly cause?: unknown;
}

export abstract class StreamMigrateError extends Error {
  abstract readonly code: string;
  abstract readonly exitCode: ExitCode;
  abstract readonly retriable: boolean;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.details = options.details ?? {};
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, retriable: this.retriable, details: this.details };
  }
}

/** Bad command-line usage: unknown option, malformed value, command not available yet. */
export class UsageError extends StreamMigrateError {
  readonly code: string = 'USAGE';
  readonly exitCode = 2 as const;
  readonly retriable = false;
}

/** The configuration file or a value in it is invalid; `details.path` names the key. */
export class ConfigError extends StreamMigrateError {
  readonly code = 'CONFIG_INVALID';
  readonly exitCode = 2 as const;
  readonly retriable = false;
}

/** PostgreSQL, Kafka, Kafka Connect or ClickHouse could not be reached or did not come up. */
export class DependencyError extends StreamMigrateError {
  readonly code = 'DEPENDENCY_UNREACHABLE';
  readonly exitCode = 3 as const;
  readonly retriable: boolean;
  constructor(message: string, options: ErrorOptions & { readonly retriable?: boolean } = {}) {
    super(message, options);
    this.retriable = options.retriable ?? true;
  }
}

/** A check the user asked for did not hold: validation FAIL, cutover refused, verify failed. */
export class CheckFailedError extends StreamMigrateError {
  readonly code = 'CHECK_FAILED';
  readonly exitCode = 1 as const;
  readonly retriable = false;
}

/** Another run holds the lock this command needs (same phase running, cutover in progress). */
export class ConflictError extends StreamMigrateError {
  readonly code = 'CONFLICT';
  readonly exitCode = 1 as const;
  readonly retriable = true;
}

/** True for errors that a later attempt may not repeat (network, lock, unavailable service). */
export function isRetriable(error: unknown): boolean {
  if (error instanceof StreamMigrateError) return error.retriable;
  if (error instanceof Error && 'code' in error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' && RETRIABLE_SYSTEM_CODES.has(code);
  }
  return false;
}

const RETRIABLE_SYSTEM_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  '57P03', // PostgreSQL: cannot connect now (starting up)
  '40001', // serialization failure
  '40P01', // deadlock detected
]);

/** Narrows an unknown thrown value to a message, for wrapping foreign errors. */
export function messageOf(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return messageOf(error.errors[0]);
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
