import type { Config } from '../config/schema.ts';

/**
 * The V8 flags a processor or sink worker runs with; the benches start their workers with the same.
 * - The heap cap also sets how far V8 lets the heap grow past what is live before a full
 *   collection: about 4× at a 2 GiB cap, 1.6× at 1 GiB (measured: full collections at ~400 MB
 *   with ~250 MB live at 1 GiB, ~610 MB at 2 GiB). The stream state lives outside the heap
 *   (typed arrays), so the cap bounds only what is in flight.
 * - A 32 MiB semi-space (V8 picks 64 MiB at this cap): what a batch allocates and drops mostly
 *   dies young at 32, and the young generation is 64 MiB smaller than at 64. Measured at the 1M
 *   bench with the state off the heap: 4-7% less worker CPU than 16 MiB; peak RSS 469-502 MiB over
 *   a dozen runs (448-473 at 16; 526-552 at 64, over the 512 MiB target), see
 *   docs/decisions/processor-performance.md.
 */
export function workerNodeArgs(config: Config): readonly string[] {
  return [`--max-old-space-size=${config.processor.heapMiB}`, '--max-semi-space-size=32'];
}

/**
 * glibc malloc settings for workers (a user's own environment wins). Growing the state's typed
 * arrays frees large blocks; with the mmap threshold left dynamic, glibc raises it after such a
 * free and later blocks come from the arena, whose freed space stays resident (~90 MiB at the 1M
 * bench). Fixing the threshold at its default (128 KiB) returns them; two arenas instead of
 * eight per core keep the threads' fragments together.
 */
export const WORKER_MALLOC_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072' };
