import type { ProcessedOrder } from './process-order.ts';

const MS_PER_MINUTE = 60_000;

/**
 * Start (epoch ms, UTC) of the tumbling window holding an event time. Windows are aligned to
 * the Unix epoch, so every worker and the batch job agree without coordination; a time exactly
 * on a boundary belongs to the window that starts there (windows are half-open [start, end)).
 */
export function windowStartFor(createdAtMs: number, windowMinutes: number): number {
  const size = windowMinutes * MS_PER_MINUTE;
  // A floored modulo keeps pre-1970 times in the window below them rather than above.
  const offset = ((createdAtMs % size) + size) % size;
  return createdAtMs - offset;
}

/**
 * Exclusive end (epoch ms, UTC) of the tumbling window holding an event time; given a window
 * start it returns that window's end, since a start lies in its own window.
 */
export function windowEndFor(createdAtMs: number, windowMinutes: number): number {
  return windowStartFor(createdAtMs, windowMinutes) + windowMinutes * MS_PER_MINUTE;
}

/** Key of one `order_summaries` row: customer and window start, e.g. "42:1764028800000". */
export type SummaryKey = `${number}:${number}`;

/** The key of a customer's summary for the window starting at windowStartMs. */
export function summaryKeyOf(customerId: number, windowStartMs: number): SummaryKey {
  return `${customerId}:${windowStartMs}`;
}

/** Splits a SummaryKey back into its customer and window start, for state restored from a changelog. */
export function parseSummaryKey(key: string): { readonly customerId: number; readonly windowStartMs: number } {
  const match = /^(-?\d+):(-?\d+)$/.exec(key);
  if (match === null) throw new Error(`invalid summary key ${JSON.stringify(key)}: expected "<customerId>:<windowStartMs>"`);
  return { customerId: Number(match[1]), windowStartMs: Number(match[2]) };
}

/** Running totals of one customer's window; orderCount 0 means the window row no longer exists. */
export interface SummaryAccumulator {
  readonly orderCount: number;
  readonly totalAmountCents: number;
  readonly totalFinalCents: number;
}

export const EMPTY_SUMMARY: SummaryAccumulator = Object.freeze({ orderCount: 0, totalAmountCents: 0, totalFinalCents: 0 });

/** The accumulator with one processed order added. */
export function addContribution(
  acc: SummaryAccumulator,
  processed: Pick<ProcessedOrder, 'amountCents' | 'finalCents'>,
): SummaryAccumulator {
  return {
    orderCount: acc.orderCount + 1,
    totalAmountCents: acc.totalAmountCents + processed.amountCents,
    totalFinalCents: acc.totalFinalCents + processed.finalCents,
  };
}

/**
 * The accumulator with an earlier contribution taken back (an order updated, cancelled or
 * deleted): the exact inverse of addContribution, since cents are integers. Throws when the
 * accumulator is already empty, which means a retraction of something never added: a state bug
 * that must not be hidden behind a negative count.
 */
export function retractContribution(
  acc: SummaryAccumulator,
  processed: Pick<ProcessedOrder, 'amountCents' | 'finalCents'>,
): SummaryAccumulator {
  if (acc.orderCount < 1) {
    throw new Error('cannot retract an order from an empty summary: it was never added');
  }
  return {
    orderCount: acc.orderCount - 1,
    totalAmountCents: acc.totalAmountCents - processed.amountCents,
    totalFinalCents: acc.totalFinalCents - processed.finalCents,
  };
}
