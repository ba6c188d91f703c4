import { Box, Text } from 'ink';
import { formatCount, formatRate } from '../status/format.ts';
import type { StatusSnapshot } from '../status/snapshot.ts';
import { label, SectionBlock, type Cell, Table } from './table.tsx';

/** Each pipeline topic's end offsets and growth, and the processor's and sink's lag. */
export function Streams({ snapshot }: { readonly snapshot: StatusSnapshot }) {
  return (
    <Box flexDirection="column">
      <SectionBlock title="Topics" section={snapshot.topics}>
        {(d) => (
          <Table
            columns={[
              { header: 'topic' },
              { header: 'role', width: 16 },
              { header: 'partitions', width: 10 },
              { header: 'end offset', width: 12 },
              { header: 'records/s', width: 10 },
            ]}
            rows={d.topics.map((t) => [t.name, t.role, t.exists ? String(t.partitions) : label('MISSING'), t.exists ? formatCount(t.endOffset) : '-', formatRate(t.recordsPerSecond)])}
          />
        )}
      </SectionBlock>
      <SectionBlock title="Consumer groups" section={snapshot.groups}>
        {(d) => (
          <Box flexDirection="column">
            <Table
              columns={[
                { header: 'group / topic' },
                { header: 'state', width: 16 },
                { header: 'partitions', width: 10 },
                { header: 'lag', width: 12 },
                { header: 'committed', width: 12 },
                { header: 'records/s', width: 10 },
              ]}
              rows={d.groups.flatMap((g): Cell[][] => [
                [{ text: `${g.groupId} (${g.role})`, bold: true }, label(g.state), String(g.topics.reduce((n, t) => n + t.partitions, 0)), formatCount(g.lag), formatCount(g.committed), formatRate(g.recordsPerSecond)],
                ...g.topics.map((t) => [`  ${t.topic}`, '', String(t.partitions), formatCount(t.lag), formatCount(t.committed), '']),
              ])}
            />
            {d.otherGroups > 0 ? <Text dimColor>{d.otherGroups} other group(s) in the cluster not shown</Text> : null}
          </Box>
        )}
      </SectionBlock>
    </Box>
  );
}
