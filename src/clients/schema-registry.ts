/**
 * A typed client of the Confluent-compatible schema registry API (Apicurio serves it under
 * `/apis/ccompat/v7`; a Confluent Schema Registry at its root). A registry that cannot be reached
 * is a DependencyError (exit 3); an HTTP error carries the registry's own message.
 */
import { maskUrlPasswords } from '../core/redactor.ts';
import { COMPATIBILITY_MODES, type Config } from '../config/schema.ts';
import { CheckFailedError, DependencyError, messageOf } from '../core/errors.ts';

export type SchemaRegistrySettings = Config['schemaRegistry'];
export type Compatibility = SchemaRegistrySettings['compatibility'];
export type SchemaType = 'JSON' | 'AVRO' | 'PROTOBUF';

export interface RegisteredSchema {
  readonly subject: string;
  readonly version: number;
  readonly id: number;
  readonly schema: string;
  readonly schemaType: SchemaType;
}

export interface SchemaRegistryClient {
  readonly url: string;
  subjects(): Promise<readonly string[]>;
  /** The latest version of `subject`, undefined when there is none. */
  latest(subject: string): Promise<RegisteredSchema | undefined>;
  versions(subject: string): Promise<readonly number[]>;
  /** Registers `schema` under `subject`; the same schema again returns the existing id and adds no version. */
  register(subject: string, schema: string, schemaType: SchemaType): Promise<{ readonly id: number }>;
  /** Whether `schema` is compatible with the latest version under the subject's compatibility mode. */
  compatible(subject: string, schema: string, schemaType: SchemaType): Promise<{ readonly compatible: boolean; readonly messages: readonly string[] }>;
  /** The subject's own compatibility mode, undefined when it has none (the global default applies). */
  compatibility(subject: string): Promise<Compatibility | undefined>;
  setCompatibility(subject: string, level: Compatibility): Promise<void>;
}

/** Apicurio's base path; a URL that already names an API path is used as given. */
export function ccompatBase(url: string): string {
  const trimmed = url.replace(/\/+$/, '');
  return /\/apis\/ccompat\/v\d+$/.test(trimmed) || !/^https?:\/\/[^/]+$/.test(trimmed) ? trimmed : `${trimmed}/apis/ccompat/v7`;
}

/** `<topic>-value`: the Confluent TopicNameStrategy, which Debezium's and Kafka's serdes use by default. */
export function valueSubject(topic: string): string {
  return `${topic}-value`;
}

export function createSchemaRegistryClient(settings: SchemaRegistrySettings, options: { readonly timeoutMs?: number } = {}): SchemaRegistryClient {
  const base = ccompatBase(settings.url);
  const headers: Record<string, string> = { Accept: 'application/vnd.schemaregistry.v1+json, application/json' };
  if (settings.username !== undefined) headers.Authorization = `Basic ${Buffer.from(`${settings.username}:${settings.password ?? ''}`).toString('base64')}`;
  const timeoutMs = options.timeoutMs ?? 10_000;

  const request = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> => {
    let response: Response;
    try {
      response = await fetch(base + path, {
        method,
        headers: body === undefined ? headers : { ...headers, 'Content-Type': 'application/vnd.schemaregistry.v1+json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new DependencyError(`schema registry at ${maskUrlPasswords(settings.url)} is unreachable (${messageOf(error)}); start it with \`stream-migrate dev up\` or check schemaRegistry.url`, {
        cause: error,
      });
    }
    const text = await response.text();
    let json: unknown = undefined;
    try {
      json = text === '' ? undefined : (JSON.parse(text) as unknown);
    } catch {
      json = text;
    }
    if (response.status === 401 || response.status === 403) {
      throw new DependencyError(`schema registry at ${maskUrlPasswords(settings.url)} refused the credentials (HTTP ${response.status}); check schemaRegistry.username and password`, { retriable: false });
    }
    if (response.status >= 500) throw new DependencyError(`schema registry ${method} ${path} answered ${response.status}: ${messageIn(json)}`);
    return { status: response.status, json };
  };

  const fail = (what: string, reply: { status: number; json: unknown }): never => {
    throw new CheckFailedError(`schema registry: ${what} answered ${reply.status}: ${messageIn(reply.json)}`, { details: { status: reply.status } });
  };
  const path = (subject: string) => `/subjects/${encodeURIComponent(subject)}`;

  return {
    // Shown in messages and phase details: never with a password written into the URL.
    url: maskUrlPasswords(settings.url),
    async subjects() {
      const reply = await request('GET', '/subjects');
      if (reply.status !== 200 || !isStringArray(reply.json)) return fail('GET /subjects', reply);
      return reply.json;
    },
    async latest(subject) {
      const reply = await request('GET', `${path(subject)}/versions/latest`);
      if (reply.status === 404) return undefined;
      if (reply.status !== 200 || !isRegistered(reply.json)) return fail(`GET ${path(subject)}/versions/latest`, reply);
      const r = reply.json;
      return { subject: r.subject, version: r.version, id: r.id, schema: r.schema, schemaType: isSchemaType(r.schemaType) ? r.schemaType : 'AVRO' };
    },
    async versions(subject) {
      const reply = await request('GET', `${path(subject)}/versions`);
      if (reply.status === 404) return [];
      if (reply.status !== 200 || !Array.isArray(reply.json) || !reply.json.every((v) => typeof v === 'number')) return fail(`GET ${path(subject)}/versions`, reply);
      return reply.json as number[];
    },
    async register(subject, schema, schemaType) {
      const reply = await request('POST', `${path(subject)}/versions`, { schema, schemaType });
      if (reply.status === 409) {
        throw new CheckFailedError(`schema registry refused a new version of ${subject} as incompatible: ${messageIn(reply.json)}`, { details: { subject } });
      }
      const id = (reply.json as { id?: unknown } | undefined)?.id;
      if (reply.status !== 200 || typeof id !== 'number') return fail(`POST ${path(subject)}/versions`, reply);
      return { id };
    },
    async compatible(subject, schema, schemaType) {
      const reply = await request('POST', `/compatibility${path(subject)}/versions/latest?verbose=true`, { schema, schemaType });
      if (reply.status === 404) return { compatible: true, messages: [] };
      const body = reply.json as { is_compatible?: unknown; messages?: unknown } | undefined;
      if (reply.status !== 200 || typeof body?.is_compatible !== 'boolean') return fail(`POST /compatibility${path(subject)}/versions/latest`, reply);
      return { compatible: body.is_compatible, messages: isStringArray(body.messages) ? body.messages : [] };
    },
    async compatibility(subject) {
      const reply = await request('GET', `/config/${encodeURIComponent(subject)}`);
      if (reply.status === 404) return undefined;
      const level = (reply.json as { compatibilityLevel?: unknown; compatibility?: unknown } | undefined);
      const value = level?.compatibilityLevel ?? level?.compatibility;
      if (reply.status !== 200) return fail(`GET /config/${subject}`, reply);
      return isCompatibility(value) ? value : undefined;
    },
    async setCompatibility(subject, level) {
      const reply = await request('PUT', `/config/${encodeURIComponent(subject)}`, { compatibility: level });
      if (reply.status !== 200) fail(`PUT /config/${subject}`, reply);
    },
  };
}

function messageIn(json: unknown): string {
  if (typeof json === 'string') return json.slice(0, 300);
  const message = (json as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' ? message.replace(/^io\.apicurio\.[\w.]+Exception: /, '').slice(0, 400) : 'no message';
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

function isSchemaType(value: unknown): value is SchemaType {
  return value === 'JSON' || value === 'AVRO' || value === 'PROTOBUF';
}

function isCompatibility(value: unknown): value is Compatibility {
  return typeof value === 'string' && (COMPATIBILITY_MODES as readonly string[]).includes(value);
}

function isRegistered(value: unknown): value is { subject: string; version: number; id: number; schema: string; schemaType?: unknown } {
  const v = value as Record<string, unknown> | null;
  return typeof v === 'object' && v !== null && typeof v.subject === 'string' && typeof v.version === 'number' && typeof v.id === 'number' && typeof v.schema === 'string';
}
