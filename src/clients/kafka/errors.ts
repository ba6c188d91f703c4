import { DependencyError, messageOf, UsageError } from '../../core/errors.ts';
import type { KafkaSettings } from './settings.ts';

/** The error for a broker that does not answer: exit code 3, retriable, with what to do. */
export function kafkaUnreachable(kafka: KafkaSettings, error: unknown): DependencyError {
  return new DependencyError(
    `Kafka at ${kafka.brokers.join(',')} is unreachable: ${messageOf(error)}; is it running? for the local stack run \`stream-migrate dev up\`, else check kafka.brokers`,
    { details: { service: 'kafka', brokers: kafka.brokers }, cause: error },
  );
}

/** Runs a library call, turning its errors into ours: network trouble is retriable, protocol refusals say what Kafka answered. */
export async function guard<T>(kafka: KafkaSettings, what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof UsageError || error instanceof DependencyError) throw error;
    if (isNetworkError(error)) throw kafkaUnreachable(kafka, error);
    const protocol = protocolErrorIds(error);
    throw new DependencyError(`Kafka ${what} failed: ${protocol.length > 0 ? protocol.join(', ') : messageOf(error)}`, {
      retriable: protocol.some((id) => RETRIABLE_PROTOCOL_ERRORS.has(id)),
      details: { service: 'kafka', operation: what, protocolErrors: protocol },
      cause: error,
    });
  }
}

const RETRIABLE_PROTOCOL_ERRORS = new Set([
  'NOT_COORDINATOR',
  'COORDINATOR_NOT_AVAILABLE',
  'COORDINATOR_LOAD_IN_PROGRESS',
  'CONCURRENT_TRANSACTIONS',
  'LEADER_NOT_AVAILABLE',
  'NOT_LEADER_OR_FOLLOWER',
  'REBALANCE_IN_PROGRESS',
  'UNSTABLE_OFFSET_COMMIT',
  'REQUEST_TIMED_OUT',
]);

/** The Kafka protocol error names (e.g. PRODUCER_FENCED) found in a library error and its causes. */
export function protocolErrorIds(error: unknown, depth = 0): string[] {
  if (depth > 5 || typeof error !== 'object' || error === null) return [];
  const ids: string[] = [];
  const apiId: unknown = Reflect.get(error, 'apiId');
  if (typeof apiId === 'string') ids.push(apiId);
  const nested: unknown = Reflect.get(error, 'errors');
  if (Array.isArray(nested)) for (const e of nested) ids.push(...protocolErrorIds(e, depth + 1));
  const cause: unknown = Reflect.get(error, 'cause');
  if (cause !== undefined) ids.push(...protocolErrorIds(cause, depth + 1));
  return [...new Set(ids)];
}

export function hasProtocolError(error: unknown, id: string): boolean {
  return protocolErrorIds(error).includes(id);
}

function isNetworkError(error: unknown, depth = 0): boolean {
  if (depth > 5 || typeof error !== 'object' || error === null) return false;
  const code: unknown = Reflect.get(error, 'code');
  if (code === 'PLT_KFK_NETWORK' || code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'ETIMEDOUT') return true;
  const nested: unknown = Reflect.get(error, 'errors');
  if (Array.isArray(nested) && nested.length > 0 && nested.every((e) => isNetworkError(e, depth + 1))) return true;
  const cause: unknown = Reflect.get(error, 'cause');
  return cause !== undefined && isNetworkError(cause, depth + 1);
}
