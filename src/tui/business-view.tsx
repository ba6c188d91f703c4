import { Box, Text } from 'ink';
import { formatAge, formatCount, formatInstant, formatPercent, reportTableSummary } from '../status/format.ts';
import type { StatusSnapshot } from '../status/snapshot.ts';
import { label, SectionBlock, Table } from './table.tsx';

/** The dashboard's figures over the last hour, the latest fraud alerts and validation reports. */
export function Business({ snapshot }: { readonly snapshot: StatusSnapshot }) {
  return (
    <Box flexDirection="column">
      <SectionBlock title="Business, last hour (stream side, ClickHouse)" section={snapshot.business}>
        {(b) => (
          <Box flexDirection="column">
            <Text>
              orders <Text bold>{formatCount(b.orders)}</Text>   revenue <Text bold>{b.revenue}</Text>   average order <Text bold>{b.averageOrderValue ?? '-'}</Text>   fraud rate{' '}
              <Text bold>{formatPercent(b.fraudRate)}</Text>
            </Text>
            <Text>
              fraud alerts <Text bold>{formatCount(b.fraudAlerts)}</Text>:{' '}
              {Object.entries(b.alertsBySeverity).map(([severity, n], i) => (
                <Text key={severity}>
                  {i > 0 ? ', ' : ''}
                  {severity} {formatCount(n)}
                </Text>
              ))}
            </Text>
          </Box>
        )}
      </SectionBlock>
      <SectionBlock title="Latest fraud alerts" section={snapshot.alerts}>
        {(d) =>
          d.alerts.length === 0 ? (
            <Text dimColor>no active fraud alerts</Text>
          ) : (
            <Table
              columns={[
                { header: 'alerted', width: 21 },
                { header: 'severity', width: 8 },
                { header: 'order', width: 10 },
                { header: 'customer', width: 10 },
                { header: 'final', width: 12 },
                { header: 'reason' },
              ]}
              rows={d.alerts.map((a) => [formatInstant(a.alertedAt), label(a.severity), String(a.orderId), String(a.customerId), a.finalAmount, a.reason])}
            />
          )
        }
      </SectionBlock>
      <SectionBlock title="Validation reports (latest 5)" section={snapshot.validation}>
        {(d) =>
          d.reports.length === 0 ? (
            <Text dimColor>no reports yet: run `stream-migrate validate --window 24h`</Text>
          ) : (
            <Table
              columns={[
                { header: 'id', width: 6 },
                { header: 'verdict', width: 7 },
                { header: 'window', width: 44 },
                { header: 'age', width: 12 },
                { header: 'tables' },
              ]}
              rows={d.reports.map((r) => [String(r.id), label(r.verdict), `${formatInstant(r.windowFrom)} .. ${formatInstant(r.windowTo)}`, formatAge(r.createdAt, snapshot.takenAt), r.tables.map(reportTableSummary).join('; ') || '-'])}
            />
          )
        }
      </SectionBlock>
    </Box>
  );
}
