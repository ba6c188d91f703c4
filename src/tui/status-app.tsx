import { Box, Text, useApp, useInput, useStdin } from 'ink';
import { useState } from 'react';
import { formatDuration } from '../core/duration.ts';
import { formatInstant } from '../status/format.ts';
import { isSectionError, type StatusSnapshot } from '../status/snapshot.ts';
import { Business } from './business-view.tsx';
import { Overview } from './overview-view.tsx';
import { Streams } from './streams-view.tsx';
import { useSnapshot, type SnapshotLoader } from './use-snapshot.ts';

export const VIEWS = ['overview', 'streams', 'business'] as const;
export type ViewName = (typeof VIEWS)[number];
const TITLES: Readonly<Record<ViewName, string>> = { overview: 'Overview', streams: 'Streams', business: 'Business' };

export interface StatusAppProps {
  readonly load: SnapshotLoader;
  readonly intervalMs: number;
  readonly initialView?: ViewName;
}

/** The container: polls snapshots and handles keys; everything it draws is StatusScreen. */
export function StatusApp({ load, intervalMs, initialView = 'overview' }: StatusAppProps) {
  const { exit } = useApp();
  const { isRawModeSupported } = useStdin();
  const [view, setView] = useState<ViewName>(initialView);
  const { snapshot, loading, error, refresh } = useSnapshot(load, intervalMs);

  useInput(
    (input, key) => {
      if (input === 'q' || key.escape) exit();
      else if (input === 'r') refresh();
      else if (key.tab || key.rightArrow) setView((v) => nextView(v, key.shift ? -1 : 1));
      else if (key.leftArrow) setView((v) => nextView(v, -1));
      else if (input === '1' || input === '2' || input === '3') setView(VIEWS[Number(input) - 1] ?? 'overview');
    },
    // Without a terminal on stdin there are no keys to read; Ctrl-C still ends the process.
    { isActive: isRawModeSupported === true },
  );

  return <StatusScreen snapshot={snapshot} view={view} loading={loading} error={error} intervalMs={intervalMs} />;
}

/** The view after (or before) `view`, wrapping around: what Tab and Shift-Tab do. */
export function nextView(view: ViewName, step: 1 | -1): ViewName {
  const index = VIEWS.indexOf(view);
  return VIEWS[(index + step + VIEWS.length) % VIEWS.length] ?? 'overview';
}

export interface StatusScreenProps {
  readonly snapshot: StatusSnapshot | undefined;
  readonly view: ViewName;
  readonly loading: boolean;
  readonly error: string | undefined;
  readonly intervalMs: number;
}

/** Header, the chosen view and the key help; plain props only. */
export function StatusScreen({ snapshot, view, loading, error, intervalMs }: StatusScreenProps) {
  return (
    <Box flexDirection="column">
      <Header snapshot={snapshot} view={view} loading={loading} intervalMs={intervalMs} />
      {error ? <Text color="red">ERROR: could not collect status: {error}</Text> : null}
      {snapshot === undefined ? (
        <Text>collecting the first snapshot...</Text>
      ) : view === 'overview' ? (
        <Overview snapshot={snapshot} />
      ) : view === 'streams' ? (
        <Streams snapshot={snapshot} />
      ) : (
        <Business snapshot={snapshot} />
      )}
      <Text dimColor>Tab / 1-3 / arrows: switch view   r: refresh now   q: quit</Text>
    </Box>
  );
}

function Header({ snapshot, view, loading, intervalMs }: Omit<StatusScreenProps, 'error'>) {
  const problems = snapshot ? problemCount(snapshot) : 0;
  return (
    <Box flexDirection="column" marginBottom={1}>
      <Box>
        <Text bold>stream-migrate status</Text>
        <Text>{'   '}</Text>
        {VIEWS.map((v, i) => (
          <Text key={v} inverse={v === view} bold={v === view}>
            {` ${i + 1} ${TITLES[v]} `}
          </Text>
        ))}
      </Box>
      <Text dimColor>
        {snapshot ? `updated ${formatInstant(snapshot.takenAt)} in ${snapshot.elapsedMs} ms` : 'not updated yet'}, every {formatDuration(intervalMs)}
        {loading ? ', refreshing...' : ''}
        {problems > 0 ? `, ${problems} section(s) or service(s) with problems` : ''}
      </Text>
    </Box>
  );
}

/** Errored sections plus services that are down: what the header warns about on every view. */
function problemCount(s: StatusSnapshot): number {
  const sections = [s.phases, s.services, s.connector, s.topics, s.groups, s.validation, s.cutover, s.business, s.alerts];
  const errored = sections.filter((x) => isSectionError(x) && !x.unavailable).length;
  const down = isSectionError(s.services) ? 0 : s.services.services.filter((x) => x.state === 'DOWN').length;
  return errored + down;
}
