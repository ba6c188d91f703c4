import { useCallback, useEffect, useRef, useState } from 'react';
import { messageOf } from '../core/errors.ts';
import type { StatusSnapshot } from '../status/snapshot.ts';

/** Collects one snapshot; given the previous one so rates can be computed. */
export type SnapshotLoader = (previous: StatusSnapshot | undefined) => Promise<StatusSnapshot>;

export interface SnapshotState {
  readonly snapshot: StatusSnapshot | undefined;
  /** True while a collection runs. */
  readonly loading: boolean;
  /** Set when the loader itself threw (sections never do); the last good snapshot stays shown. */
  readonly error: string | undefined;
  /** Collects now; a request while one runs is queued, not run twice. */
  refresh(): void;
}

/**
 * Polls `load` every `intervalMs`, counted from the end of the previous collection, so a slow
 * service stretches the cycle instead of piling requests up. Stops when the component unmounts.
 */
export function useSnapshot(load: SnapshotLoader, intervalMs: number): SnapshotState {
  const [state, setState] = useState<Omit<SnapshotState, 'refresh'>>({ snapshot: undefined, loading: true, error: undefined });
  const previous = useRef<StatusSnapshot | undefined>(undefined);
  const running = useRef(false);
  const queued = useRef(false);
  const alive = useRef(true);
  const timer = useRef<NodeJS.Timeout | undefined>(undefined);

  const collect = useCallback(async (): Promise<void> => {
    if (running.current) {
      queued.current = true;
      return;
    }
    running.current = true;
    clearTimeout(timer.current);
    setState((s) => ({ ...s, loading: true }));
    try {
      const snapshot = await load(previous.current);
      previous.current = snapshot;
      if (alive.current) setState({ snapshot, loading: false, error: undefined });
    } catch (error) {
      if (alive.current) setState((s) => ({ ...s, loading: false, error: messageOf(error) }));
    } finally {
      running.current = false;
      if (alive.current) {
        if (queued.current) {
          queued.current = false;
          void collect();
        } else {
          timer.current = setTimeout(() => void collect(), intervalMs);
        }
      }
    }
  }, [load, intervalMs]);

  useEffect(() => {
    alive.current = true;
    void collect();
    return () => {
      alive.current = false;
      clearTimeout(timer.current);
    };
  }, [collect]);

  const refresh = useCallback(() => void collect(), [collect]);
  return { ...state, refresh };
}
