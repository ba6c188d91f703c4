/**
 * A token bucket that paces batches to a steady rate. Callers reserve a whole batch at once and
 * are told how long to wait before sending it (the bucket may go into debt, as Guava's
 * RateLimiter does), so concurrent workers queue up one batch interval apart instead of all
 * firing at the top of each second. The bucket never holds more than `capacity` tokens, so an
 * idle spell cannot turn into a burst later.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  readonly ratePerSecond: number;
  readonly capacity: number;

  /**
   * @param ratePerSecond tokens added per second (orders/s)
   * @param capacity the most tokens that may accumulate; also the starting balance
   * @param nowMs the current time in milliseconds (monotonic)
   */
  constructor(
    ratePerSecond: number,
    capacity: number,
    nowMs: number,
  ) {
    this.ratePerSecond = ratePerSecond;
    this.capacity = capacity;
    if (!(ratePerSecond > 0)) throw new RangeError(`token bucket rate must be positive, got ${ratePerSecond}`);
    if (!(capacity > 0)) throw new RangeError(`token bucket capacity must be positive, got ${capacity}`);
    this.tokens = capacity;
    this.last = nowMs;
  }

  /** Takes `count` tokens now and returns how many milliseconds to wait before using them (0 when available). */
  reserve(count: number, nowMs: number): number {
    this.refill(nowMs);
    this.tokens -= count;
    return this.tokens >= 0 ? 0 : (-this.tokens / this.ratePerSecond) * 1_000;
  }

  /** The current balance; negative while reservations are queued ahead of the rate. */
  balance(nowMs: number): number {
    this.refill(nowMs);
    return this.tokens;
  }

  private refill(nowMs: number): void {
    if (nowMs > this.last) {
      this.tokens = Math.min(this.capacity, this.tokens + ((nowMs - this.last) / 1_000) * this.ratePerSecond);
      this.last = nowMs;
    }
  }
}

/**
 * How many orders one batch carries at a requested rate: about `ticksPerSecond` batches a second
 * keeps the stream steady at low rates, and `maxBatch` bounds a statement's size at high ones.
 */
export function batchSizeFor(ratePerSecond: number, ticksPerSecond: number, maxBatch: number): number {
  return Math.max(1, Math.min(maxBatch, Math.round(ratePerSecond / ticksPerSecond)));
}
