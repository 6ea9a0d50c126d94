// The explorer page: loads the watcher's status, station activity and alerts from this
// server's /api, and wires the personal audit (audit.js), which runs only here.

import { el, utc, count, getJson, fill } from './util.js';
import { growthPlot, stationPlot, stationTable, legend } from './plot.js';
import { runAudit, explain } from './audit.js';

const $ = (id) => document.getElementById(id);

function failed(node, what, error) {
  node.classList.remove('muted');
  node.classList.add('problem');
  node.setAttribute('role', 'alert');
  node.textContent = `Could not load ${what}: ${error.message}`;
}

async function loadStatus() {
  const s = await getJson('/api/status');
  $('origin').textContent = s.origin;
  $('size').textContent = count(s.size, 'entry', 'entries');
  $('root').textContent = s.root;
  $('last-poll').textContent = s.last_poll == null ? 'never' : utc(s.last_poll, true);
  const critical = s.alerts ? s.alerts.critical : 0;
  const warning = s.alerts ? s.alerts.warning : 0;
  $('alert-counts').textContent = `${critical} critical, ${count(warning, 'warning', 'warnings')}`;
  if (s.last_error) {
    $('last-error').textContent = `The last poll failed: ${s.last_error}`;
    $('last-error').hidden = false;
  }
  $('checkpoint-note').textContent = s.checkpoint_note;
  const cosigned = new Map((s.cosigners || []).map((c) => [c.name, c]));
  const names = [...(s.witnesses || [])];
  for (const c of s.cosigners || []) if (!names.includes(c.name)) names.push(c.name);
  const rows = names.map((name) => {
    const c = cosigned.get(name);
    return el(
      'tr',
      { class: c ? 'cosigned' : 'missing' },
      el('th', { scope: 'row', text: name }),
      el('td', { text: c ? '✓ yes' : '✗ no' }),
      el('td', { text: c ? utc(c.timestamp, true) : '—' }),
    );
  });
  if (rows.length === 0) rows.push(el('tr', {}, el('td', { colspan: 3, text: 'The policy lists no witness.' })));
  fill($('cosigners').tBodies[0], rows);
  $('growth').append(growthPlot(s.growth));
  $('status-loading').hidden = true;
  $('status-body').hidden = false;
}

async function loadActivity() {
  const a = await getJson('/api/activity');
  const stations = a.stations || [];
  const parts = stations.map((st, i) =>
    el(
      'section',
      { class: 'station', 'aria-labelledby': `station-${i}` },
      el('h3', { id: `station-${i}`, text: `Station ${st.station}` }),
      el(
        'p',
        { class: 'muted' },
        st.declared_per_hour == null ? 'No declared rate.' : `Declared rate: ${st.declared_per_hour} operations per hour.`,
      ),
      el('figure', { class: 'plot' }, stationPlot(st)),
      el('details', {}, el('summary', { text: `Hourly counts at ${st.station} as a table` }), stationTable(st)),
    ),
  );
  if (parts.length) parts.unshift(legend());
  else parts.push(el('p', { text: 'No activity recorded yet.' }));
  fill($('stations'), parts);
  $('activity-loading').hidden = true;
}

/** The entries behind an alert, fetched one by one when its row is first opened. */
const SHOWN = 20;
async function showEntries(alert, cell) {
  const list = el('ol', { class: 'alert-entries' });
  fill(cell, list);
  for (const index of alert.entries.slice(0, SHOWN)) {
    try {
      const page = await getJson(`/api/entries?from=${index}&limit=1`);
      const view = (page.entries || [])[0];
      if (!view || view.index !== index) {
        list.append(el('li', { text: `Entry ${index}: not served (past the verified size ${page.size}).` }));
        continue;
      }
      list.append(
        el(
          'li',
          {},
          el('span', { class: 'entry-no', text: `Entry ${index}: ` }),
          explain(view.entry),
          el('details', {}, el('summary', { text: 'As logged' }), el('pre', { text: JSON.stringify(view.entry, null, 2) })),
        ),
      );
    } catch (e) {
      list.append(el('li', { class: 'problem', text: `Entry ${index}: ${e.message}` }));
    }
  }
  if (alert.entries.length > SHOWN) {
    cell.append(el('p', { text: `…and ${alert.entries.length - SHOWN} more, all in the evidence bundle.` }));
  }
}

/** Alert id -> opens its row (for links `#alert-<id>`). */
const opener = new Map();

/** Opens the alert the fragment names (`#alert-<id>`), if it is listed. */
function openFromFragment() {
  const prefix = '#alert-';
  if (!location.hash.startsWith(prefix)) return;
  let id = location.hash.slice(prefix.length);
  try {
    id = decodeURIComponent(id);
  } catch (_) {
    return;
  }
  const open = opener.get(id);
  if (open) open();
}

function alertRows(alert, i) {
  const critical = alert.severity === 'critical';
  const detailId = `alert-detail-${i}`;
  const button = el('button', {
    type: 'button',
    class: 'toggle',
    'aria-expanded': 'false',
    'aria-controls': detailId,
    text: `Show ${count(alert.entries.length, 'entry', 'entries')}`,
  });
  const cell = el('td', { colspan: 7 });
  const detail = el('tr', { id: detailId, class: 'detail', hidden: true }, cell);
  let loaded = false;
  button.addEventListener('click', () => {
    const open = button.getAttribute('aria-expanded') !== 'true';
    toggle(open);
  });
  const toggle = (open) => {
    button.setAttribute('aria-expanded', String(open));
    button.textContent = `${open ? 'Hide' : 'Show'} ${count(alert.entries.length, 'entry', 'entries')}`;
    detail.hidden = !open;
    if (open && !loaded) {
      loaded = true;
      showEntries(alert, cell);
    }
  };
  opener.set(alert.id, () => {
    toggle(true);
    row.scrollIntoView();
  });
  const where = [alert.station && `station ${alert.station}`, alert.service && `service ${alert.service}`].filter(Boolean).join(', ') || '—';
  const shown = alert.entries.slice(0, 5).join(', ') + (alert.entries.length > 5 ? ', …' : '');
  const row = el(
    'tr',
    { id: `alert-${alert.id}`, class: `alert sev-${critical ? 'critical' : 'warning'}`, 'data-alert': alert.id },
    el('td', {}, el('span', { class: 'sev', text: critical ? '▲ Critical' : '● Warning' })),
    el('td', {}, el('a', { href: `#alert-${alert.id}`, title: 'Link to this alert' }, el('code', { text: alert.rule }))),
    el('td', { text: alert.summary }),
    el('td', { text: where }),
    el('td', { text: utc(alert.hour) }),
    el('td', {}, el('span', { class: 'indexes', text: shown }), ' ', button),
    el(
      'td',
      {},
      el(
        'a',
        { href: `/api/alerts/${encodeURIComponent(alert.id)}/evidence`, download: `${alert.id}.evidence.json` },
        'Download',
        el('span', { class: 'visually-hidden', text: ` the evidence of alert ${alert.id}` }),
      ),
    ),
  );
  return [row, detail];
}

async function loadAlerts() {
  const alerts = await getJson('/api/alerts');
  const body = $('alert-table').tBodies[0];
  if (alerts.length === 0) {
    fill(body, el('tr', {}, el('td', { colspan: 7, text: 'No alert: every entry so far follows the rules.' })));
  } else {
    fill(body, alerts.map(alertRows).flat());
  }
  $('alerts-loading').hidden = true;
  $('alert-table').hidden = false;
  openFromFragment();
}

function audit(text) {
  return runAudit(text, { status: $('audit-status'), results: $('audit-results'), error: $('audit-error') });
}

/** A key in the fragment (`#audit-key=...`, never sent to any server): read, removed, run. */
function auditFromFragment() {
  const prefix = '#audit-key=';
  if (!location.hash.startsWith(prefix)) return;
  const raw = location.hash.slice(prefix.length);
  history.replaceState(null, '', location.pathname + location.search);
  let text = raw;
  try {
    text = decodeURIComponent(raw);
  } catch (_) {
    // Left as is: the key check below says what is wrong with it.
  }
  audit(text);
}

function init() {
  loadStatus().catch((e) => failed($('status-loading'), "the watcher's status", e));
  loadActivity().catch((e) => failed($('activity-loading'), 'station activity', e));
  loadAlerts().catch((e) => failed($('alerts-loading'), 'alerts', e));
  $('audit-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = $('audit-key');
    const text = input.value;
    input.value = '';
    audit(text);
  });
  window.addEventListener('hashchange', () => {
    auditFromFragment();
    openFromFragment();
  });
  auditFromFragment();
}

init();
