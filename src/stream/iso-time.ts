/**
 * `new Date(ms).toISOString()`, without a Date per call: the processor formats a creation time
 * for every processed order and alert, and the Date route was ~2% of a worker's CPU. The date part
 * is formatted once per day and kept; the time of day is arithmetic over padded digit tables.
 * Times outside years 0000-9999 (and NaN) take the Date route, so the result and its errors are
 * always toISOString's.
 */
const MS_PER_DAY = 86_400_000;
/** 10000-01-01T00:00:00Z: past it toISOString writes a six-digit year. */
const MAX_FOUR_DIGIT_YEAR_MS = 253_402_300_800_000;
const TWO_DIGITS = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));
const THREE_DIGITS = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

/** `YYYY-MM-DDT` by day number since the epoch; bounded (a day's prefix is rebuilt after a clear). */
const dayPrefixes = new Map<number, string>();
const MAX_DAYS = 4_096;

export function isoTime(ms: number): string {
  if (!(ms >= 0 && ms < MAX_FOUR_DIGIT_YEAR_MS) || !Number.isInteger(ms)) return new Date(ms).toISOString();
  const day = Math.floor(ms / MS_PER_DAY);
  let prefix = dayPrefixes.get(day);
  if (prefix === undefined) {
    if (dayPrefixes.size >= MAX_DAYS) dayPrefixes.clear();
    prefix = new Date(day * MS_PER_DAY).toISOString().slice(0, 11);
    dayPrefixes.set(day, prefix);
  }
  let rest = ms - day * MS_PER_DAY;
  const millis = rest % 1000;
  rest = (rest - millis) / 1000;
  const seconds = rest % 60;
  rest = (rest - seconds) / 60;
  const minutes = rest % 60;
  const hours = (rest - minutes) / 60;
  return `${prefix}${TWO_DIGITS[hours]}:${TWO_DIGITS[minutes]}:${TWO_DIGITS[seconds]}.${THREE_DIGITS[millis]}Z`;
}
