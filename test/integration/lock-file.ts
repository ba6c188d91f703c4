import fs from 'node:fs';
import { isAlive } from '../../src/local-stack/processes.ts';

export interface LockFileOptions {
  /** How long to wait for another holder before giving up. */
  readonly timeoutMs: number;
  /** How often to look again while another process holds the file. */
  readonly pollMs: number;
  /** Appended to the error when the wait times out: what the holder probably is. */
  readonly heldHint: string;
}

/**
 * Runs `fn` while holding `file` (created exclusively, holding this process's pid), so that two
 * processes never run it at once; a lock whose holder died is taken over, and the file is removed
 * afterwards whatever `fn` did.
 */
export async function withLockFile<T>(file: string, fn: () => Promise<T>, options: LockFileOptions): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number.parseInt(fs.readFileSync(file, 'utf8'), 10);
      if (!Number.isInteger(holder) || !isAlive(holder)) {
        fs.rmSync(file, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`${file} is held by process ${holder}${options.heldHint}`);
      await new Promise((resolve) => setTimeout(resolve, options.pollMs));
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(file, { force: true });
  }
}
