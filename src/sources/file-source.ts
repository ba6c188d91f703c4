import fs from 'node:fs';
import path from 'node:path';
import type { OutgoingRecord } from '../clients/kafka.ts';
import type { Config } from '../config/schema.ts';
import { durationMs } from '../core/duration.ts';
import { sleep } from '../core/time.ts';
import type { SourceOrder } from '../domain/process-order.ts';
import { changeRecordOf, csvHeader, lineFields, parseExternalOrder, type Parsed } from './order-input.ts';
import type { SourceContext } from './run-source.ts';

/** Per file: lines consumed (the next line's 0-based index) and whether all were. */
export interface FilePosition {
  readonly files: Readonly<Record<string, { readonly line: number; readonly done: boolean }>>;
}

export function filePositionOf(value: unknown): FilePosition | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const files: unknown = Reflect.get(value, 'files');
  if (typeof files !== 'object' || files === null) return undefined;
  const out: Record<string, { line: number; done: boolean }> = {};
  for (const [name, p] of Object.entries(files)) {
    const line: unknown = typeof p === 'object' && p !== null ? Reflect.get(p, 'line') : undefined;
    const done: unknown = typeof p === 'object' && p !== null ? Reflect.get(p, 'done') : undefined;
    if (typeof line === 'number' && typeof done === 'boolean') out[name] = { line, done };
  }
  return { files: out };
}

/** How long a store file must stay unchanged to count as complete (`settle`, 2 s when absent). */
export function settleMsOf(config: Pick<Config['sources']['files'][number], 'settle'>): number {
  return durationMs(config.settle ?? '2s');
}

const FILE_PATTERN = /\.(csv|jsonl)$/i;
export const DONE_DIR = 'done';

/** The complete store files waiting in a directory, by name (point-of-sale files are named by time). */
export function completeFiles(directory: string, settleMs: number, nowMs: number): readonly string[] {
  let names: string[];
  try {
    names = fs.readdirSync(directory);
  } catch {
    return [];
  }
  return names
    .filter((n) => FILE_PATTERN.test(n))
    .filter((n) => {
      const st = fs.statSync(path.join(directory, n), { throwIfNoEntry: false });
      // A file still being written changes; one unchanged for `settle` is complete (a file never changes once complete).
      return st?.isFile() === true && nowMs - st.mtimeMs >= settleMs;
    })
    .sort();
}

export interface FileLine {
  readonly line: number;
  readonly record?: { readonly key: string; readonly value: string };
  readonly error?: string;
  readonly text: string;
}

/** One non-blank line of a store file (`line` 1-based) as an order or the reason it is none. */
export interface StoreLine {
  readonly line: number;
  readonly text: string;
  readonly order: Parsed<SourceOrder>;
}

/**
 * Decodes lines [from, to) of a store file (0-based; a CSV's line 0 is its header) into orders
 * or reasons; blank lines are skipped. Pure: the source worker and the nightly read share it.
 */
export function decodeStoreLines(fileName: string, lines: readonly string[], from: number, to: number): readonly StoreLine[] {
  const format = fileName.toLowerCase().endsWith('.csv') ? 'csv' : 'jsonl';
  const header = format === 'csv' ? csvHeader(lines[0] ?? '') : [];
  const out: StoreLine[] = [];
  for (let i = Math.max(from, format === 'csv' ? 1 : 0); i < to; i++) {
    const text = lines[i] ?? '';
    if (text.trim() === '') continue;
    const fields = lineFields(format, text, header);
    out.push({ line: i + 1, text, order: fields.ok ? parseExternalOrder(fields.value, 'store') : fields });
  }
  return out;
}

/** Lines [from, to) of a store file as order change records or errors. Pure apart from the clock value passed in. */
export function decodeLines(fileName: string, lines: readonly string[], from: number, to: number, nowMs: number): readonly FileLine[] {
  return decodeStoreLines(fileName, lines, from, to).map(({ line, text, order }) =>
    order.ok ? { line, record: changeRecordOf(order.value, 'store', nowMs), text } : { line, error: order.reason, text },
  );
}

/**
 * The last version, in name order, of each of `touched`'s orders among `later` files (each a
 * file name and its lines, sorted by name). Pure: the file source re-sends these after a file
 * that arrived once later-named files were finished, so the stream ends where name order ends.
 */
export function laterVersions(touched: ReadonlySet<number>, later: readonly { readonly name: string; readonly lines: readonly string[] }[]): readonly SourceOrder[] {
  const latest = new Map<number, SourceOrder>();
  for (const file of later) {
    for (const { order } of decodeStoreLines(file.name, file.lines, 0, file.lines.length)) {
      if (order.ok && touched.has(order.value.id)) latest.set(order.value.id, order.value);
    }
  }
  return [...latest.values()];
}

/** The lines of a complete file (a final newline ends the last line, it does not start another). */
export function fileLines(text: string): readonly string[] {
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/**
 * The store-files source: each complete file is read from its committed line on, `batchLines`
 * lines per transaction, and moved to `done/` once its last line is committed. A crash between
 * the commit and the move only repeats the move.
 *
 * Files count in name order (point-of-sale files are named by time; the nightly read applies them
 * so, last change wins). A file that completes after later-named files were finished (a late
 * drop, a file renamed by hand) would otherwise leave its changes last in the stream but not in
 * name order: e.g. a cancellation in a later-named file that the stream read first would be
 * undone by the late file's older version of the order. So its last transaction also re-sends,
 * for the orders it touched, their last version in the later-named files.
 */
export async function runFileSource(ctx: SourceContext<FilePosition>, config: Config['sources']['files'][number]): Promise<void> {
  const { spec, logger, signal } = ctx;
  const settleMs = settleMsOf(config);
  const pollMs = durationMs(config.pollInterval ?? '1s');
  const batchLines = config.batchLines ?? 1_000;
  let position: FilePosition = ctx.position ?? { files: {} };
  const doneDir = path.join(config.directory, DONE_DIR);
  const markDone = (name: string) => {
    fs.mkdirSync(doneDir, { recursive: true });
    fs.renameSync(path.join(config.directory, name), path.join(doneDir, name));
  };
  while (!signal.aborted) {
    for (const name of completeFiles(config.directory, settleMs, Date.now())) {
      if (signal.aborted) break;
      const at = position.files[name];
      if (at?.done) {
        markDone(name);
        continue;
      }
      const lines = fileLines(fs.readFileSync(path.join(config.directory, name), 'utf8'));
      let line = at?.line ?? 0;
      const started = Date.now();
      const finishedLater = Object.keys(position.files).filter((other) => other > name && position.files[other]?.done).sort();
      do {
        const end = Math.min(line + batchLines, lines.length);
        const now = Date.now();
        const records: OutgoingRecord[] = decodeLines(name, lines, line, end, now).map((l) =>
          l.record
            ? { topic: spec.topic, key: l.record.key, value: l.record.value }
            : {
                topic: ctx.deadLetterTopic,
                key: null,
                value: l.text,
                headers: { 'dlq.reason': l.error ?? 'undecodable', 'dlq.stage': 'source', 'dlq.source.name': spec.name, 'dlq.source.file': name, 'dlq.source.line': String(l.line), 'dlq.at': new Date(now).toISOString() },
              },
        );
        if (end >= lines.length && finishedLater.length > 0) {
          const replay = laterVersions(touchedOrders(name, lines), finishedLater.flatMap((other) => readDone(doneDir, other)));
          records.push(...replay.map((order) => ({ topic: spec.topic, ...changeRecordOf(order, 'store', now) })));
          logger.warn(`source ${spec.name}: ${name} arrived after ${finishedLater.at(-1)} (later by name) was finished; re-sent the later-named files' last version of ${replay.length} of the orders it changes, so the stream ends as name order says`);
        }
        position = { files: { ...position.files, [name]: { line: end, done: end >= lines.length } } };
        await ctx.commit(records, position);
        line = end;
      } while (line < lines.length && !signal.aborted);
      if (line >= lines.length) {
        markDone(name);
        const ms = Date.now() - started;
        logger.info(`source ${spec.name}: ${name} done, ${lines.length} lines in ${ms} ms (${Math.round((lines.length * 1000) / Math.max(1, ms))} lines/s)`);
      }
    }
    await sleep(pollMs, signal);
  }
}

/** The ids of the orders a file's lines change. */
function touchedOrders(name: string, lines: readonly string[]): ReadonlySet<number> {
  return new Set(decodeStoreLines(name, lines, 0, lines.length).flatMap(({ order }) => (order.ok ? [order.value.id] : [])));
}

/** A finished file's lines from done/, or none when it has been removed since. */
function readDone(doneDir: string, name: string): readonly { readonly name: string; readonly lines: readonly string[] }[] {
  try {
    return [{ name, lines: fileLines(fs.readFileSync(path.join(doneDir, name), 'utf8')) }];
  } catch {
    return [];
  }
}
