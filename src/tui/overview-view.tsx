import { Box, Text } from 'ink';
import { formatAge, formatInstant, phaseLabel } from '../status/format.ts';
import type { StatusSnapshot } from '../status/snapshot.ts';
import { label, SectionBlock, stateColor, Table } from './table.tsx';

/** Phases, the four services and the workers, the Debezium connector and the cutover checklist. */
export function Overview({ snapshot }: { readonly snapshot: StatusSnapshot }) {
  return (
    <Box flexDirection="column">
      <SectionBlock title="Phases" section={snapshot.phases}>
        {(d) => (
          <Table
            columns={[
              { header: 'phase', width: 16 },
              { header: 'state', width: 12 },
              { header: 'last run', width: 22 },
              { header: 'age', width: 14 },
              { header: 'by' },
            ]}
            rows={d.phases.map((p) => [p.name, label(phaseLabel(p.status)), formatInstant(p.lastRunAt), formatAge(p.lastRunAt, snapshot.takenAt), p.actor ?? '-'])}
          />
        )}
      </SectionBlock>
      <SectionBlock title="Services" section={snapshot.services}>
        {(d) => (
          <Box flexDirection="column">
            <Table
              columns={[
                { header: 'service', width: 11 },
                { header: 'state', width: 6 },
                { header: 'endpoint', width: 23 },
                { header: 'pid', width: 8 },
                { header: 'detail' },
              ]}
              rows={d.services.map((s) => [s.name, label(s.state), s.endpoint, s.pid === null ? '-' : String(s.pid), s.detail])}
            />
            <Text wrap="truncate-end">
              workers:{' '}
              {d.workers.length === 0
                ? 'none (run `stream-migrate phase run processing`)'
                : d.workers.map((w, i) => (
                    <Text key={w.name}>
                      {i > 0 ? ', ' : ''}
                      {w.name} <Text color={stateColor(w.state)}>{w.state}</Text>
                      {w.pid === null ? '' : ` (pid ${w.pid})`}
                    </Text>
                  ))}
            </Text>
            {d.scaling && (
              <Text wrap="truncate-end">
                scaling on lag: {d.scaling.processors} of {d.scaling.minWorkers}..{d.scaling.maxWorkers} processor workers
                {d.scaling.lastDecision ? `; last ${d.scaling.lastDecision.from} → ${d.scaling.lastDecision.to}: ${d.scaling.lastDecision.reason}` : ''}
              </Text>
            )}
          </Box>
        )}
      </SectionBlock>
      <SectionBlock title="Connector" section={snapshot.connector}>
        {(c) => (
          <Box flexDirection="column">
            <Text wrap="truncate-end">
              {c.name}: <Text color={stateColor(c.state)} bold>{c.state}</Text>
              {c.workerId ? ` on ${c.workerId}` : ''}
              {c.state === 'ABSENT' ? ' (run `stream-migrate phase run ingestion`)' : ''}
              {c.trace ? ` - ${c.trace}` : ''}
            </Text>
            {c.tasks.map((t) => (
              <Text key={t.id} wrap="truncate-end">
                {'  '}task {t.id}: <Text color={stateColor(t.state)} bold>{t.state}</Text> on {t.workerId}
                {t.trace ? ` - ${t.trace}` : ''}
              </Text>
            ))}
          </Box>
        )}
      </SectionBlock>
      <SectionBlock title="Cutover checklist" section={snapshot.cutover}>
        {(c) => (
          <Box flexDirection="column">
            <Text>
              state <Text bold>{c.state.toUpperCase()}</Text>, gate <Text color={stateColor(c.allowed ? 'ALLOWED' : 'REFUSED')} bold>{c.allowed ? 'ALLOWED' : 'REFUSED'}</Text>
            </Text>
            <Table
              columns={[
                { header: 'check', width: 6 },
                { header: 'name', width: 22 },
                { header: 'detail' },
              ]}
              rows={c.checks.map((x) => [label(x.passed ? 'PASS' : 'FAIL'), x.name, x.detail])}
            />
          </Box>
        )}
      </SectionBlock>
    </Box>
  );
}
