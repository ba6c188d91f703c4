/**
 * The plain-text form of a snapshot: `status --once`, and `status` when stdout is not a
 * terminal. Same sections, same words as the TUI; no colours, no cursor movement.
 */
import { renderTable } from '../commands/table.ts';
import { formatAge, formatCount, formatInstant, formatPercent, formatRate, phaseLabel, reportTableSummary } from './format.ts';
import { isSectionError, type Section, type StatusSnapshot } from './snapshot.ts';

export function renderSnapshotText(s: StatusSnapshot): string {
  const blocks = [
    `stream-migrate status at ${s.takenAt} (collected in ${s.elapsedMs} ms)`,
    block('PHASES', s.phases, (d) => renderTable(['phase', 'state', 'last run', 'by'], d.phases.map((p) => [p.name, phaseLabel(p.status), p.lastRunAt === null ? '-' : `${formatInstant(p.lastRunAt)} (${formatAge(p.lastRunAt, s.takenAt)})`, p.actor ?? '-']))),
    block('SERVICES', s.services, (d) => {
      const services = renderTable(['service', 'state', 'endpoint', 'pid', 'detail'], d.services.map((x) => [x.name, x.state, x.endpoint, x.pid === null ? '-' : String(x.pid), x.detail]));
      const workers = d.workers.length === 0 ? 'workers: none (run `stream-migrate phase run processing`)' : `workers: ${d.workers.map((w) => `${w.name} ${w.state}${w.pid === null ? '' : ` (pid ${w.pid})`}`).join(', ')}`;
      const scaling = d.scaling
        ? `\nscaling: ${d.scaling.processors} processor worker(s), ${d.scaling.minWorkers}..${d.scaling.maxWorkers} on lag${d.scaling.lastDecision ? `; last ${d.scaling.lastDecision.from} → ${d.scaling.lastDecision.to} at ${formatInstant(d.scaling.lastDecision.at)}: ${d.scaling.lastDecision.reason}` : ''}`
        : '';
      return `${services}\n${workers}${scaling}`;
    }),
    block('CONNECTOR', s.connector, (c) => {
      const head = `${c.name}: ${c.state}${c.workerId ? ` on ${c.workerId}` : ''}${c.state === 'ABSENT' ? ' (run `stream-migrate phase run ingestion`)' : ''}${c.trace ? `\n  ${c.trace}` : ''}`;
      const tasks = c.tasks.map((t) => `  task ${t.id}: ${t.state} on ${t.workerId}${t.trace ? ` - ${t.trace}` : ''}`);
      return [head, ...tasks].join('\n');
    }),
    block('TOPICS', s.topics, (d) =>
      renderTable(['topic', 'partitions', 'end offset', 'rate'], d.topics.map((t) => [t.name, t.exists ? String(t.partitions) : 'MISSING', t.exists ? formatCount(t.endOffset) : '-', formatRate(t.recordsPerSecond)])),
    ),
    block('CONSUMER GROUPS', s.groups, (d) => {
      const rows = d.groups.flatMap((g) => [
        [g.groupId, g.state, formatCount(g.lag), formatCount(g.committed), formatRate(g.recordsPerSecond)],
        ...g.topics.map((t) => [`  ${t.topic}`, `${t.partitions}p`, formatCount(t.lag), formatCount(t.committed), '']),
      ]);
      const table = renderTable(['group / topic', 'state', 'lag', 'committed', 'rate'], rows);
      return d.otherGroups > 0 ? `${table}\n(${d.otherGroups} other group(s) in the cluster not shown)` : table;
    }),
    block('VALIDATION REPORTS (latest 5)', s.validation, (d) =>
      d.reports.length === 0
        ? 'no reports yet: run `stream-migrate validate --window 24h`'
        : renderTable(
            ['id', 'verdict', 'window', 'tables', 'created'],
            d.reports.map((r) => [String(r.id), r.verdict, `${formatInstant(r.windowFrom)} .. ${formatInstant(r.windowTo)}`, r.tables.map(reportTableSummary).join('; ') || '-', formatAge(r.createdAt, s.takenAt)]),
          ),
    ),
    block('CUTOVER CHECKLIST', s.cutover, (c) =>
      [`state ${c.state.toUpperCase()}, gate ${c.allowed ? 'ALLOWED' : 'REFUSED'}`, ...c.checks.map((x) => `  [${x.passed ? 'PASS' : 'FAIL'}] ${x.name}: ${x.detail}`)].join('\n'),
    ),
    block('BUSINESS (last hour, stream side)', s.business, (b) =>
      renderTable(
        ['figure', 'value'],
        [
          ['orders', formatCount(b.orders)],
          ['revenue', b.revenue],
          ['average order value', b.averageOrderValue ?? '-'],
          ['fraud alerts', formatCount(b.fraudAlerts)],
          ['fraud rate', formatPercent(b.fraudRate)],
          ...Object.entries(b.alertsBySeverity).map(([severity, n]) => [`alerts ${severity}`, formatCount(n)]),
        ],
      ),
    ),
    block('LATEST FRAUD ALERTS', s.alerts, (d) =>
      d.alerts.length === 0
        ? 'no active fraud alerts'
        : renderTable(['alerted', 'severity', 'order', 'customer', 'final', 'reason'], d.alerts.map((a) => [formatInstant(a.alertedAt), a.severity, String(a.orderId), String(a.customerId), a.finalAmount, a.reason])),
    ),
  ];
  return blocks.join('\n\n');
}

function block<T>(title: string, section: Section<T>, render: (data: T) => string): string {
  if (isSectionError(section)) return `${title}\n${section.unavailable ? 'UNAVAILABLE' : 'ERROR'}: ${section.error}`;
  return `${title}\n${render(section)}`;
}
