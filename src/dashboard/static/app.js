// The dashboard page: listens to /events and redraws every panel from each snapshot. Text goes
// in through textContent only (never innerHTML), so nothing a service says can inject markup.
import uPlot from '/vendor/uplot.esm.js';

const $ = (selector, root = document) => root.querySelector(selector);

/** A DOM element with attributes and children (strings become text nodes). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else el.setAttribute(key, String(value));
  }
  for (const child of children.flat()) if (child !== undefined && child !== null) el.append(child instanceof Node ? child : String(child));
  return el;
}

const isError = (section) => section !== null && typeof section === 'object' && typeof section.error === 'string';
const count = (n) => (n === null || n === undefined ? '–' : Number(n).toLocaleString('en-US'));
/** "12345.60" -> "12,345.60", exactly: money stays a string. */
const money = (text) => {
  if (text === null || text === undefined) return '–';
  const [whole, fraction = '00'] = String(text).split('.');
  const sign = whole.startsWith('-') ? '-' : '';
  return `${sign}${whole.replace('-', '').replace(/\B(?=(\d{3})+(?!\d))/g, ',')}.${fraction}`;
};
const percent = (f) => (f === null || f === undefined ? '–' : `${(f * 100).toFixed(2)}%`);
const rate = (r) => (r === null || r === undefined ? '–' : `${r >= 100 ? Math.round(r) : r.toFixed(1)}/s`);
const instant = (iso) => (iso ? `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z` : '–');
/** Long details (a refused streak lists every report) are cut; the whole text stays in the tooltip. */
const clip = (text, n) => (text.length <= n ? text : `${text.slice(0, n - 1)}…`);
const ms = (v) => (v === null || v === undefined ? '–' : v >= 1000 ? `${(v / 1000).toFixed(v >= 10_000 ? 0 : 1)} s` : `${v} ms`);

function setBadge(el, text, kind) {
  if (!el) return;
  el.textContent = text;
  el.className = `badge ${kind}`;
}

/**
 * Renders one panel from its section: a DOWN badge and the error line when the section could not
 * be collected (the last good content is cleared, never left to pass for current), else `render`.
 */
function panel(name, section, render, okLabel = 'OK') {
  const root = document.querySelector(`[data-panel="${name}"]`);
  if (!root) return;
  const badge = root.querySelector(':scope > .panel-head > .badge');
  const error = root.querySelector(':scope > .error');
  if (isError(section)) {
    root.classList.add('down');
    root.dataset.state = 'down';
    setBadge(badge, section.unavailable ? 'UNAVAILABLE' : 'DOWN', section.unavailable ? 'warn' : 'down');
    if (error) {
      error.hidden = false;
      error.textContent = section.error;
    }
    render(undefined);
    return;
  }
  root.classList.remove('down');
  root.dataset.state = 'up';
  if (error) error.hidden = true;
  const label = render(section) ?? okLabel;
  setBadge(badge, label, label === 'OK' || label === 'UP' || label === 'PASS' || label === 'ALLOWED' ? 'ok' : label === 'DOWN' || label === 'FAIL' || label === 'REFUSED' ? 'down' : 'warn');
}

function setFigure(name, text) {
  for (const el of document.querySelectorAll(`[data-figure="${name}"]`)) el.textContent = text;
}

function bars(container, entries, className = () => '') {
  const max = Math.max(1, ...entries.map(([, n]) => n));
  container.replaceChildren(
    ...entries.map(([label, n]) =>
      h('div', { class: 'bar', 'data-bar': label }, h('span', { text: label }), h('div', { class: 'track' }, h('div', { class: `fill ${className(label)}`, style: `width:${(100 * n) / max}%` })), h('span', { class: 'num', 'data-count': label, text: count(n) })),
    ),
  );
}

// ---- charts ----
let ordersChart;
let lagChart;
const lagHistory = { t: [], processor: [], sink: [] };

function chartWidth(el) {
  return Math.max(300, el.clientWidth - 4);
}

function drawOrders(section) {
  const el = $('#orders-chart');
  if (!section) {
    ordersChart?.setData([[], [], []]);
    return;
  }
  // Every minute of the window, zero where no order was placed, so the bars keep their places.
  const byMinute = new Map(section.minutes.map((m) => [Date.parse(m.minute) / 1000, m]));
  const start = Math.floor(Date.parse(section.from) / 60_000) * 60;
  const end = Math.floor(Date.now() / 60_000) * 60;
  const xs = [];
  const orders = [];
  const revenue = [];
  for (let t = start; t <= end; t += 60) {
    const m = byMinute.get(t);
    xs.push(t);
    orders.push(m ? m.orders : 0);
    revenue.push(m ? Number(m.revenue) : 0);
  }
  const data = [xs, orders, revenue];
  if (ordersChart) return ordersChart.setData(data);
  ordersChart = new uPlot(
    {
      width: chartWidth(el),
      height: 220,
      scales: { x: { time: true }, orders: { auto: true }, revenue: { auto: true } },
      axes: [{}, { scale: 'orders', label: 'orders / min' }, { scale: 'revenue', side: 1, label: 'revenue / min', grid: { show: false } }],
      series: [
        {},
        { label: 'orders', scale: 'orders', stroke: '#2f6fde', fill: 'rgba(47,111,222,0.35)', paths: uPlot.paths.bars({ size: [0.7, 30] }), points: { show: false } },
        { label: 'revenue', scale: 'revenue', stroke: '#d9822b', width: 2, points: { show: false }, value: (u, v) => (v === null ? '–' : v.toFixed(2)) },
      ],
      legend: { live: true },
    },
    data,
    el,
  );
}

function drawLag(groups) {
  const el = $('#lag-chart');
  if (groups) {
    const lagOf = (role) => groups.groups.find((g) => g.role === role)?.lag ?? null;
    lagHistory.t.push(Date.now() / 1000);
    lagHistory.processor.push(lagOf('processor'));
    lagHistory.sink.push(lagOf('sink'));
    // About five minutes at one point per update.
    for (const key of Object.keys(lagHistory)) lagHistory[key] = lagHistory[key].slice(-150);
  }
  const data = [lagHistory.t, lagHistory.processor, lagHistory.sink];
  if (lagChart) return lagChart.setData(data);
  lagChart = new uPlot(
    {
      width: chartWidth(el),
      height: 140,
      // The last five minutes, whatever the number of points so far.
      scales: { x: { time: true, range: (u, min, max) => [max - 300, max] } },
      axes: [{}, { label: 'lag (records)' }],
      series: [{}, { label: 'processor', stroke: '#2f6fde', width: 2 }, { label: 'sink', stroke: '#d9822b', width: 2 }],
    },
    data,
    el,
  );
}

window.addEventListener('resize', () => {
  ordersChart?.setSize({ width: chartWidth($('#orders-chart')), height: 220 });
  lagChart?.setSize({ width: chartWidth($('#lag-chart')), height: 140 });
});

// ---- panels ----
function render(d) {
  const s = d.status;
  $('#updated').textContent = `updated ${instant(d.takenAt)} · collected in ${d.elapsedMs} ms`;
  document.body.dataset.takenAt = d.takenAt;

  panel('business', s.business, (b) => {
    setFigure('orders', b ? count(b.orders) : '–');
    setFigure('revenue', b ? money(b.revenue) : '–');
    setFigure('aov', b ? money(b.averageOrderValue) : '–');
    setFigure('fraud-alerts', b ? count(b.fraudAlerts) : '–');
    setFigure('fraud-rate', b ? percent(b.fraudRate) : '–');
    if (b) $('#business-window').textContent = `${instant(b.windowFrom)} – ${instant(b.windowTo)}, stream side (ClickHouse)`;
  });
  panel('orders-per-minute', d.ordersPerMinute, (o) => drawOrders(o));
  panel('alerts-by-severity', s.business, (b) => bars($('#severity-bars'), b ? Object.entries(b.alertsBySeverity) : [], (label) => label));
  panel('alerts-by-pattern', d.alertsByPattern, (p) => {
    const container = $('#pattern-bars');
    if (!p) return container.replaceChildren();
    if (p.byPattern === null) return container.replaceChildren(h('p', { class: 'muted small', text: 'no pattern column in fraud_alerts yet: single-order rules only' }));
    const entries = Object.entries(p.byPattern);
    if (entries.length === 0) return container.replaceChildren(h('p', { class: 'muted small', text: 'no alerts in the last hour' }));
    bars(container, entries);
  });
  panel('top-customers', d.topCustomers, (t) => {
    $('#top-customers').replaceChildren(
      ...(t ? t.customers : []).map((c) => h('tr', { 'data-customer': c.customerId }, h('td', { text: String(c.customerId) }), h('td', { class: 'num', text: count(c.orders) }), h('td', { class: 'num', 'data-revenue': '', text: money(c.revenue) }))),
    );
  });
  panel('alerts', s.alerts, (a) => {
    $('#latest-alerts').replaceChildren(
      ...(a ? a.alerts : []).map((x) => h('tr', {}, h('td', { text: instant(x.alertedAt) }), h('td', {}, h('span', { class: `badge ${x.severity === 'HIGH' ? 'down' : 'warn'}`, text: x.severity })), h('td', { class: 'num', text: String(x.orderId) }), h('td', { class: 'num', text: String(x.customerId) }), h('td', { class: 'num', text: money(x.finalAmount) }))),
    );
  });

  panel('services', s.services, (sv) => {
    if (!sv) return ($('#services').replaceChildren(), $('#workers').replaceChildren());
    $('#services').replaceChildren(
      ...sv.services.map((x) => h('li', { class: x.state === 'UP' ? 'up' : 'down', 'data-service': x.name, 'data-state': x.state }, h('span', { class: 'name', text: x.name }), h('span', { class: `badge ${x.state === 'UP' ? 'up' : 'down'}`, text: x.state }), h('span', { class: 'detail', title: x.detail, text: x.state === 'UP' ? x.endpoint : x.detail }))),
    );
    $('#workers').replaceChildren(
      ...(sv.workers.length === 0 ? [h('li', {}, h('span', { class: 'detail', text: 'no workers (stream-migrate phase run processing)' }))] : sv.workers.map((w) => h('li', { class: w.state === 'RUNNING' ? 'up' : 'down' }, h('span', { class: 'name', text: w.name }), h('span', { class: `badge ${w.state === 'RUNNING' ? 'up' : 'down'}`, text: w.state }), h('span', { class: 'detail', text: w.pid === null ? '' : `pid ${w.pid}` })))),
    );
    return sv.services.some((x) => x.state !== 'UP') ? 'DOWN' : 'UP';
  });
  panel('connector', s.connector, (c) => {
    if (!c) return $('#connector').replaceChildren();
    $('#connector').replaceChildren(
      h('p', {}, h('b', { text: c.name }), ' ', c.state === 'ABSENT' ? 'not created yet (stream-migrate phase run ingestion)' : c.workerId ? `on ${c.workerId}` : ''),
      c.trace ? h('p', { class: 'error', text: c.trace }) : '',
      h('ul', { class: 'rows' }, ...c.tasks.map((t) => h('li', {}, h('span', { class: 'name', text: `task ${t.id}` }), h('span', { class: `badge ${t.state === 'RUNNING' ? 'up' : 'down'}`, text: t.state }), h('span', { class: 'detail', text: t.trace ?? t.workerId })))),
    );
    return c.state === 'RUNNING' && c.tasks.every((t) => t.state === 'RUNNING') ? 'UP' : c.state;
  });
  panel('groups', s.groups, (g) => {
    drawLag(g);
    $('#groups').replaceChildren(...(g ? g.groups : []).map((x) => h('tr', { 'data-group': x.role }, h('td', { text: `${x.role} (${x.groupId})` }), h('td', { text: x.state }), h('td', { class: 'num', text: count(x.lag) }), h('td', { class: 'num', text: rate(x.recordsPerSecond) }))));
  });
  panel('dead-letters', s.topics, (t) => {
    const dlq = t?.topics.find((x) => x.role === 'deadLetter');
    setFigure('dead-letters', dlq ? (dlq.exists ? count(dlq.endOffset) : 'no topic') : '–');
    setFigure('dead-letter-rate', dlq?.exists ? rate(dlq.recordsPerSecond) : '–');
    return dlq?.exists && dlq.endOffset > 0 ? 'DEAD LETTERS' : 'OK';
  });
  panel('latency', d.latency, (l) => {
    setFigure('latency-p50', l ? ms(l.p50Ms) : '–');
    setFigure('latency-p99', l ? ms(l.p99Ms) : '–');
    $('#latency-note').textContent = l ? `${count(l.records)} records ${l.overSeconds === null ? 'since the sink started' : `in the last ${l.overSeconds} s`}, from the sink's histogram (${l.source})` : '';
  });

  panel('phases', s.phases, (p) => {
    $('#phases').replaceChildren(
      ...(p ? p.phases : []).map((x) => {
        const label = { not_started: 'NOT STARTED', running: 'RUNNING', succeeded: 'SUCCEEDED', failed: 'FAILED' }[x.status];
        const kind = { not_started: 'pending', running: 'warn', succeeded: 'ok', failed: 'down' }[x.status];
        return h('li', { 'data-phase': x.name, 'data-state': x.status }, h('span', { class: 'name', text: x.name }), h('span', { class: `badge ${kind}`, text: label }), h('div', { class: 'muted small', text: x.lastRunAt ? instant(x.lastRunAt) : 'never run' }));
      }),
    );
  });
  panel('cutover', s.cutover, (c) => {
    if (!c) return ($('#gate').replaceChildren(), $('#checks').replaceChildren());
    $('#gate').replaceChildren('state ', h('b', { text: c.state.toUpperCase() }), ', gate ', h('b', { text: c.allowed ? 'ALLOWED' : 'REFUSED' }));
    $('#checks').replaceChildren(...c.checks.map((x) => h('li', { 'data-check': x.name }, h('span', { class: `badge ${x.passed ? 'pass' : 'fail'}`, text: x.passed ? 'PASS' : 'FAIL' }), h('span', { class: 'name', text: x.name }), h('span', { class: 'detail', title: x.detail, text: clip(x.detail, 220) }))));
    return c.allowed ? 'ALLOWED' : 'REFUSED';
  });
  panel('validation', s.validation, (v) => {
    const reports = v ? v.reports : [];
    $('#reports').replaceChildren(
      ...(reports.length === 0 && v ? [h('p', { class: 'muted', text: 'no reports yet: stream-migrate validate --window 24h' })] : []),
      ...reports.map((r) => {
        const differing = r.tables.filter((t) => (t.mismatched ?? 0) + (t.missingInStream ?? 0) + (t.missingInBatch ?? 0) > 0);
        return h(
          'details',
          { class: 'report', 'data-report': r.id, open: r === reports[0] && differing.length > 0 ? '' : undefined },
          h('summary', {}, h('span', { class: `badge ${r.verdict === 'PASS' ? 'pass' : r.verdict === 'NO_DATA' ? 'warn' : 'fail'}`, text: r.verdict }), ` #${r.id} · ${instant(r.windowFrom)} – ${instant(r.windowTo)} · ${r.tables.map((t) => `${t.name} ${t.batchRows ?? '?'}/${t.streamRows ?? '?'}`).join(', ')}`),
          ...r.tables.map((t) =>
            h(
              'div',
              { class: 'small' },
              h('b', { text: t.name }),
              ` batch ${count(t.batchRows)} · stream ${count(t.streamRows)} · missing in stream ${count(t.missingInStream)} · missing in batch ${count(t.missingInBatch)} · mismatched ${count(t.mismatched)}`,
              ...t.samples.map((sample) => h('div', { class: 'diff', text: `${sample.key}: ${sample.reason ?? sample.columns.map((c) => `${c.name} batch=${c.batch ?? 'null'} stream=${c.stream ?? 'null'}`).join('; ')}` })),
            ),
          ),
        );
      }),
    );
    return reports[0]?.verdict ?? 'OK';
  });
}

// ---- connection ----
let lastSnapshotAt = 0;
function connection(state, text) {
  const el = $('#connection');
  el.dataset.connection = state;
  setBadge(el, text, state === 'live' ? 'ok' : state === 'connecting' ? 'pending' : 'down');
}

const events = new EventSource('/events');
events.addEventListener('open', () => connection('live', 'LIVE'));
events.addEventListener('error', () => connection('down', 'DISCONNECTED: retrying'));
events.addEventListener('snapshot', (event) => {
  lastSnapshotAt = Date.now();
  connection('live', 'LIVE');
  $('#failure').hidden = true;
  render(JSON.parse(event.data));
});
events.addEventListener('failure', (event) => {
  const failure = $('#failure');
  failure.hidden = false;
  failure.textContent = `the dashboard could not collect: ${JSON.parse(event.data).error}`;
});
// The server pushes every 2 s; a long silence means it or the network stopped.
setInterval(() => {
  if (lastSnapshotAt > 0 && Date.now() - lastSnapshotAt > 10_000) connection('stale', 'STALE: no update for 10 s');
}, 1_000);
