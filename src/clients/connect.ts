/**
 * A typed client of the Kafka Connect REST API. Every JSON reply passes a type guard before it is
 * used; a Connect that cannot be reached is a DependencyError (exit 3), an HTTP error carries
 * Connect's own `message`.
 */
import type { Config } from '../config/schema.ts';
import { durationMs } from '../core/duration.ts';
import { DependencyError, messageOf, StreamMigrateError, type ExitCode } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { maskUrlPasswords } from '../core/redactor.ts';
import { withRetry, type RetryOptions } from '../core/retry.ts';

export type ConnectSettings = Config['connect'];

export interface ConnectInfo {
  readonly version: string;
  readonly commit: string;
  readonly kafkaClusterId: string;
}

export interface ConnectPlugin {
  readonly className: string;
  readonly type: string;
  readonly version: string;
}

export type ConnectorConfig = Readonly<Record<string, string>>;

/** The fields Connect's validation rejected, each with its messages; empty when the config is valid. */
export interface ValidationResult {
  readonly errorCount: number;
  readonly errors: readonly { readonly field: string; readonly messages: readonly string[] }[];
}

export type ConnectorState = 'UNASSIGNED' | 'RUNNING' | 'PAUSED' | 'STOPPED' | 'FAILED' | 'RESTARTING';
const CONNECTOR_STATES: readonly string[] = ['UNASSIGNED', 'RUNNING', 'PAUSED', 'STOPPED', 'FAILED', 'RESTARTING'];

export interface WorkerState {
  readonly state: ConnectorState;
  readonly workerId: string;
  /** The Java stack trace of a FAILED connector or task. */
  readonly trace?: string;
}

export interface TaskState extends WorkerState {
  readonly id: number;
}

export interface ConnectorStatus {
  readonly name: string;
  readonly connector: WorkerState;
  readonly tasks: readonly TaskState[];
}

/** A source partition and the offset Connect committed for it (KIP-875, Connect 3.6+). */
export interface ConnectorOffset {
  readonly partition: Readonly<Record<string, unknown>>;
  readonly offset: Readonly<Record<string, unknown>>;
}

export interface PutConfigResult {
  readonly created: boolean;
}

export interface ConnectClient {
  readonly url: string;
  /** GET /: the worker's version and Kafka cluster. */
  info(): Promise<ConnectInfo>;
  /** Connector classes installed on the worker (transforms and converters too with `all`). */
  plugins(all?: boolean): Promise<readonly ConnectPlugin[]>;
  /** Connect's own validation of a connector config (the connector checks it, e.g. Debezium connects to the database). */
  validate(className: string, config: ConnectorConfig): Promise<ValidationResult>;
  listConnectors(): Promise<readonly string[]>;
  /** The stored config, undefined when there is no such connector. */
  getConfig(name: string): Promise<ConnectorConfig | undefined>;
  /** Creates or replaces the connector's config (idempotent). */
  putConfig(name: string, config: ConnectorConfig): Promise<PutConfigResult>;
  /** Undefined when there is no such connector. */
  status(name: string): Promise<ConnectorStatus | undefined>;
  restart(name: string, options: { readonly includeTasks: boolean; readonly onlyFailed: boolean }): Promise<void>;
  /** Deletes the connector; false when it did not exist. */
  deleteConnector(name: string): Promise<boolean>;
  /** The committed source offsets; undefined when there is no such connector. */
  offsets(name: string): Promise<readonly ConnectorOffset[] | undefined>;
}

/** An HTTP error answer of Connect, with its status and Connect's message. */
export class ConnectHttpError extends StreamMigrateError {
  readonly code = 'CONNECT_REQUEST_FAILED';
  readonly exitCode: ExitCode;
  readonly retriable: boolean;
  readonly status: number;
  constructor(message: string, status: number, details: Readonly<Record<string, unknown>>) {
    super(message, { details: { ...details, status } });
    this.status = status;
    // 409 is "rebalance in progress", 5xx a worker in trouble: both may pass, and both are the
    // dependency's state rather than a mistake of ours.
    this.retriable = status === 409 || status === 429 || status >= 500;
    this.exitCode = this.retriable ? 3 : 1;
  }
}

export interface ConnectClientOptions {
  readonly retry?: RetryOptions;
  /** Where a retry is announced (a 409 rebalance, a 5xx, a timeout), so a slow Connect is visibly retried, not silently awaited. */
  readonly logger?: Pick<Logger, 'warn'>;
}

const DEFAULT_CONNECT_RETRY: RetryOptions = { retries: 3, initialDelayMs: 250, maxDelayMs: 2_000 };

/** A Connect REST client for `config.connect` (URL, optional basic auth, per-request timeout). */
export function createConnectClient(settings: ConnectSettings, options: ConnectClientOptions = {}): ConnectClient {
  // `base` names Connect in messages (phase runs, the audit log): never with a password from the URL.
  const base = maskUrlPasswords(settings.url.replace(/\/+$/, ''));
  const target = settings.url.replace(/\/+$/, '');
  const timeoutMs = durationMs(settings.timeout);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (settings.username !== undefined) {
    headers.authorization = `Basic ${Buffer.from(`${settings.username}:${settings.password ?? ''}`).toString('base64')}`;
  }
  const baseRetry = options.retry ?? DEFAULT_CONNECT_RETRY;
  const logger = options.logger;
  const retry: RetryOptions =
    logger === undefined
      ? baseRetry
      : {
          ...baseRetry,
          onRetry: (error, attempt, delayMs) => {
            baseRetry.onRetry?.(error, attempt, delayMs);
            logger.warn(`${messageOf(error)}; retrying in ${delayMs} ms (attempt ${attempt} of ${baseRetry.retries})`);
          },
        };

  interface Reply {
    readonly status: number;
    readonly body: unknown;
  }

  /** One request; `accept` lists the statuses the caller handles itself (e.g. 404). */
  const request = (method: string, path: string, body?: unknown, accept: readonly number[] = []): Promise<Reply> =>
    withRetry(async () => {
      let response: Response;
      try {
        response = await fetch(target + path, {
          method,
          headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (error) {
        throw unreachable(base, error, timeoutMs);
      }
      const text = await response.text().catch(() => '');
      let parsed: unknown = undefined;
      if (text !== '') {
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = text;
        }
      }
      if (response.ok || accept.includes(response.status)) return { status: response.status, body: parsed };
      throw httpError(base, method, path, response.status, parsed);
    }, retry);

  const bad = (what: string, body: unknown): DependencyError =>
    new DependencyError(`Kafka Connect at ${base} answered ${what} with an unexpected body: ${JSON.stringify(body)?.slice(0, 200)}; is connect.url a Kafka Connect REST endpoint?`, {
      retriable: false,
      details: { service: 'connect', endpoint: base },
    });

  const name = (connector: string): string => encodeURIComponent(connector);

  return {
    url: base,

    async info() {
      const { body } = await request('GET', '/');
      if (!isRecord(body) || typeof body.version !== 'string') throw bad('GET /', body);
      return { version: body.version, commit: stringOr(body.commit, ''), kafkaClusterId: stringOr(body.kafka_cluster_id, '') };
    },

    async plugins(all = false) {
      const { body } = await request('GET', `/connector-plugins${all ? '?connectorsOnly=false' : ''}`);
      if (!Array.isArray(body)) throw bad('GET /connector-plugins', body);
      return body.filter(isRecord).map((p) => ({ className: stringOr(p.class, ''), type: stringOr(p.type, ''), version: stringOr(p.version, '') }));
    },

    async validate(className, config) {
      const path = `/connector-plugins/${encodeURIComponent(className)}/config/validate`;
      const { body } = await request('PUT', path, { ...config, 'connector.class': className });
      if (!isRecord(body) || typeof body.error_count !== 'number' || !Array.isArray(body.configs)) throw bad(`PUT ${path}`, body);
      const errors: { field: string; messages: string[] }[] = [];
      for (const entry of body.configs) {
        if (!isRecord(entry) || !isRecord(entry.value)) continue;
        const messages = Array.isArray(entry.value.errors) ? entry.value.errors.filter((e): e is string => typeof e === 'string') : [];
        if (messages.length > 0) errors.push({ field: stringOr(entry.value.name, '(unknown field)'), messages });
      }
      return { errorCount: body.error_count, errors };
    },

    async listConnectors() {
      const { body } = await request('GET', '/connectors');
      if (!Array.isArray(body) || !body.every((n) => typeof n === 'string')) throw bad('GET /connectors', body);
      return body as string[];
    },

    async getConfig(connector) {
      const { status, body } = await request('GET', `/connectors/${name(connector)}/config`, undefined, [404]);
      if (status === 404) return undefined;
      if (!isStringRecord(body)) throw bad(`GET /connectors/${connector}/config`, body);
      return body;
    },

    async putConfig(connector, config) {
      const { status, body } = await request('PUT', `/connectors/${name(connector)}/config`, config);
      if (!isRecord(body) || body.name !== connector) throw bad(`PUT /connectors/${connector}/config`, body);
      return { created: status === 201 };
    },

    async status(connector) {
      const { status, body } = await request('GET', `/connectors/${name(connector)}/status`, undefined, [404]);
      if (status === 404) return undefined;
      const parsed = parseStatus(body);
      if (!parsed) throw bad(`GET /connectors/${connector}/status`, body);
      return parsed;
    },

    async restart(connector, { includeTasks, onlyFailed }) {
      await request('POST', `/connectors/${name(connector)}/restart?includeTasks=${includeTasks}&onlyFailed=${onlyFailed}`);
    },

    async deleteConnector(connector) {
      const { status } = await request('DELETE', `/connectors/${name(connector)}`, undefined, [404]);
      return status !== 404;
    },

    async offsets(connector) {
      const { status, body } = await request('GET', `/connectors/${name(connector)}/offsets`, undefined, [404]);
      if (status === 404) return undefined;
      if (!isRecord(body) || !Array.isArray(body.offsets)) throw bad(`GET /connectors/${connector}/offsets`, body);
      return body.offsets.filter(isRecord).flatMap((o) => (isRecord(o.partition) && isRecord(o.offset) ? [{ partition: o.partition, offset: o.offset }] : []));
    },
  };
}

function unreachable(base: string, error: unknown, timeoutMs: number): DependencyError {
  const reason = networkReason(error, timeoutMs);
  return new DependencyError(
    `Kafka Connect at ${base} is unreachable: ${reason}; is it running? for the local stack run \`stream-migrate dev up\`, otherwise check connect.url`,
    { details: { service: 'connect', endpoint: base, reason }, cause: error },
  );
}

/** Node's fetch hides the system error (ECONNREFUSED, ENOTFOUND) in `cause`. */
function networkReason(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return `no answer within ${timeoutMs} ms (connect.timeout)`;
  let current: unknown = error;
  let innermost = messageOf(error);
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z_]+$/.test(code)) return code;
    if (current.message) innermost = current.message;
    if (current instanceof AggregateError && current.errors.length > 0) current = current.errors[0];
    else current = current.cause;
  }
  // e.g. "bad port": fetch refuses ports on its blocklist (1, 9, 25, ...) before connecting.
  return innermost;
}

function httpError(base: string, method: string, path: string, status: number, body: unknown): StreamMigrateError {
  const connectMessage = isRecord(body) && typeof body.message === 'string' ? body.message : typeof body === 'string' ? body.slice(0, 300) : '';
  const what = `Kafka Connect ${method} ${path} answered ${status}${connectMessage ? `: ${firstLine(connectMessage)}` : ''}`;
  if (status === 401 || status === 403) {
    return new DependencyError(`${what}; check connect.username and connect.password`, {
      retriable: false,
      details: { service: 'connect', endpoint: base, status },
    });
  }
  return new ConnectHttpError(what, status, { service: 'connect', endpoint: base, method, path, connectMessage });
}

function parseStatus(body: unknown): ConnectorStatus | undefined {
  if (!isRecord(body) || typeof body.name !== 'string' || !Array.isArray(body.tasks)) return undefined;
  const connector = parseWorkerState(body.connector);
  if (!connector) return undefined;
  const tasks: TaskState[] = [];
  for (const task of body.tasks) {
    const state = parseWorkerState(task);
    if (!state || !isRecord(task) || typeof task.id !== 'number') return undefined;
    tasks.push({ ...state, id: task.id });
  }
  return { name: body.name, connector, tasks: tasks.sort((a, b) => a.id - b.id) };
}

function parseWorkerState(value: unknown): WorkerState | undefined {
  if (!isRecord(value) || typeof value.state !== 'string' || !CONNECTOR_STATES.includes(value.state)) return undefined;
  return {
    state: value.state as ConnectorState,
    workerId: stringOr(value.worker_id, ''),
    ...(typeof value.trace === 'string' ? { trace: value.trace } : {}),
  };
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.trim();
}

function stringOr(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value : fallback;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return isRecord(value) && Object.values(value).every((v) => typeof v === 'string');
}
