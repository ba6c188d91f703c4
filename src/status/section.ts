/**
 * How every section of the status snapshot and the dashboard is collected: with its own timeout,
 * its error reduced to one redacted line, and at most one call in flight per source and name.
 */
import { messageOf } from '../core/errors.ts';
import { withTimeout } from '../core/time.ts';

/** What a section holds when it could not be collected; `unavailable` when this build lacks it. */
export interface SectionError {
  readonly error: string;
  readonly unavailable?: true;
}

export type Section<T> = T | SectionError;

/** True for a section that could not be collected. */
export function isSectionError(section: unknown): section is SectionError {
  return typeof section === 'object' && section !== null && typeof (section as { error?: unknown }).error === 'string';
}

/** Runs one section: its value, or `{ error }` when it throws or outlasts `ms` (default the runner's). */
export type SectionRunner = <T>(name: string, fn: () => Promise<T>, ms?: number) => Promise<Section<T>>;

/**
 * A call still running from an earlier refresh is awaited again rather than started twice, so
 * a service that hangs holds one request at most, however often the screen refreshes. Keyed by
 * the sources object, so each open set of clients has its own.
 */
const inflight = new WeakMap<object, Map<string, Promise<unknown>>>();

/** Runs `fn` unless a call under the same key and owner is still running, whose promise it returns. */
export function once<T>(owner: object, key: string, fn: () => Promise<T>): Promise<T> {
  let pending = inflight.get(owner);
  if (!pending) inflight.set(owner, (pending = new Map()));
  const existing = pending.get(key);
  if (existing) return existing as Promise<T>;
  const promise = (async () => fn())().finally(() => pending.delete(key));
  pending.set(key, promise);
  return promise;
}

/** A runner whose sections share `owner`'s in-flight calls, a default timeout and a redactor. */
export function sectionRunner(owner: object, timeoutMs: number, redact: (text: string) => string): SectionRunner {
  return async <T>(name: string, fn: () => Promise<T>, ms = timeoutMs): Promise<Section<T>> => {
    try {
      return await withTimeout(once(owner, name, fn), ms);
    } catch (error) {
      return { error: redact(oneLine(messageOf(error))) };
    }
  };
}

/** The first line of an error or trace, at most 300 characters. */
export function oneLine(text: string): string {
  const first = text.split('\n')[0] ?? '';
  return first.length > 300 ? `${first.slice(0, 297)}...` : first;
}
