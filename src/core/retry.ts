import { isRetriable } from './errors.ts';

export interface RetryOptions {
  readonly retries: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /** Called before each wait, e.g. to log "ClickHouse unreachable, retrying in 800 ms". */
  readonly onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  readonly sleep?: (ms: number) => Promise<void>;
  /** A deadline (epoch ms): the last error is thrown instead of a wait that would end after it. */
  readonly giveUpAt?: number;
}

export const DEFAULT_RETRY: RetryOptions = { retries: 5, initialDelayMs: 200, maxDelayMs: 10_000 };

/**
 * Runs `task` until it succeeds, retrying only errors that say they are retriable, with
 * exponential backoff and full jitter. Programming errors surface at once.
 */
export async function withRetry<T>(task: (attempt: number) => Promise<T>, options: RetryOptions = DEFAULT_RETRY): Promise<T> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  for (let attempt = 0; ; attempt++) {
    try {
      return await task(attempt);
    } catch (error) {
      if (attempt >= options.retries || !isRetriable(error)) throw error;
      const ceiling = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** attempt);
      const delayMs = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
      if (options.giveUpAt !== undefined && Date.now() + delayMs > options.giveUpAt) throw error;
      options.onRetry?.(error, attempt + 1, delayMs);
      await sleep(delayMs);
    }
  }
}
