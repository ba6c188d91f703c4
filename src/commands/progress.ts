import type { Logger } from '../core/logger.ts';
import type { Progress } from '../phases/phase.ts';

/**
 * Progress for long work: a redrawn bar when stderr is a terminal, otherwise a log line at most
 * every few seconds (so CI logs stay readable). Never writes to stdout, which belongs to --json.
 */
export function createProgress(logger: Logger, stream: NodeJS.WriteStream = process.stderr): Progress {
  const tty = stream.isTTY === true;
  let lastLog = 0;
  let drawn = false;
  return {
    update(label, done, total) {
      const ratio = total > 0 ? Math.min(1, done / total) : 1;
      const text = `${label} ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} (${Math.round(ratio * 100)}%)`;
      if (tty) {
        const width = 30;
        const filled = Math.round(ratio * width);
        stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}\x1b[K`);
        drawn = true;
      } else if (Date.now() - lastLog > 3_000) {
        lastLog = Date.now();
        logger.info(text);
      }
    },
    note(message) {
      if (drawn) stream.write('\n');
      drawn = false;
      logger.info(message);
    },
    done() {
      if (drawn) stream.write('\n');
      drawn = false;
    },
  };
}
