// The explorer's plots: inline SVG built here (no library, nothing fetched). Each plot
// is role="img" with an aria-label and a <title> that say what it shows; the station
// plots also come with their numbers as a table.

import { el, utc, count } from './util.js';

const SVG = 'http://www.w3.org/2000/svg';
const W = 640;
const H = 240;
const M = { left: 64, right: 20, top: 16, bottom: 46 };
const PW = W - M.left - M.right;
const PH = H - M.top - M.bottom;

/** The kinds of operation, bottom to top in a stacked bar, with their names. */
export const KINDS = [
  ['enrolled', 'Enrolled'],
  ['duplicate', 'Duplicates'],
  ['verify', 'Checks'],
  ['refused', 'Refused'],
  ['other', 'Other'],
];

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A round step for about `n` ticks up to `max`. */
function niceStep(max, n) {
  const raw = Math.max(max, 1) / n;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  return Math.max(1, step);
}

/** An empty plot: the svg with its title, axes and the y ticks up to `ymax`. */
function frame(label, ymax, yname) {
  const root = svg('svg', {
    viewBox: `0 0 ${W} ${H}`,
    role: 'img',
    'aria-label': label,
    class: 'chart',
  });
  root.append(svg('title', {}, label));
  const step = niceStep(ymax, 4);
  const top = Math.max(step, Math.ceil(ymax / step) * step);
  const y = (v) => M.top + PH - (v / top) * PH;
  for (let v = 0; v <= top; v += step) {
    root.append(svg('line', { x1: M.left, x2: M.left + PW, y1: y(v), y2: y(v), class: 'grid' }));
    root.append(
      svg('text', { x: M.left - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'tick' }, v.toLocaleString('en')),
    );
  }
  root.append(svg('line', { x1: M.left, x2: M.left, y1: M.top, y2: M.top + PH, class: 'axis' }));
  root.append(svg('line', { x1: M.left, x2: M.left + PW, y1: M.top + PH, y2: M.top + PH, class: 'axis' }));
  root.append(
    svg(
      'text',
      { x: 14, y: M.top + PH / 2, transform: `rotate(-90 14 ${M.top + PH / 2})`, 'text-anchor': 'middle', class: 'label' },
      yname,
    ),
  );
  root.append(svg('text', { x: M.left + PW / 2, y: H - 6, 'text-anchor': 'middle', class: 'label' }, 'time (UTC)'));
  return { root, y };
}

/** Time ticks: the first and last time, and the middle when there is room. */
function timeAxis(root, t0, t1, x) {
  const middle = Math.round((t0 + t1) / 2 / 3600) * 3600;
  const ticks = t1 - t0 >= 4 * 3600 ? [t0, middle, t1] : t1 > t0 ? [t0, t1] : [t0];
  ticks.forEach((t, i) => {
    const anchor = ticks.length === 1 ? 'middle' : i === 0 ? 'start' : i === ticks.length - 1 ? 'end' : 'middle';
    root.append(svg('text', { x: x(t), y: M.top + PH + 18, 'text-anchor': anchor, class: 'tick' }, utc(Math.round(t))));
  });
}

/** The log's size over time (status.growth). */
export function growthPlot(points) {
  const sorted = [...(points || [])].sort((a, b) => a.unix - b.unix);
  if (sorted.length === 0) {
    return el('p', { class: 'muted', text: 'No growth recorded yet (the watcher has not seen the log grow).' });
  }
  const first = sorted[0];
  const last = sorted[sorted.length - 1];
  const label =
    `Log size over time: from ${count(first.size, 'entry', 'entries')} on ${utc(first.unix)} ` +
    `to ${count(last.size, 'entry', 'entries')} on ${utc(last.unix)} (${count(sorted.length, 'poll', 'polls')} that saw growth).`;
  const { root, y } = frame(label, last.size, 'entries');
  const span = Math.max(1, last.unix - first.unix);
  const x = (t) => M.left + ((t - first.unix) / span) * PW;
  if (sorted.length === 1) {
    root.append(svg('circle', { cx: x(first.unix), cy: y(first.size), r: 4, class: 'series' }));
  } else {
    const path = sorted.map((p) => `${x(p.unix).toFixed(1)},${y(p.size).toFixed(1)}`).join(' ');
    root.append(svg('polyline', { points: path, class: 'series', fill: 'none' }));
  }
  timeAxis(root, first.unix, last.unix, x);
  return root;
}

/** The hour's total. */
export function total(hour) {
  return KINDS.reduce((sum, [k]) => sum + (Number(hour[k]) || 0), 0);
}

/** One station's operations per hour, stacked by kind, with its declared rate. */
export function stationPlot(station) {
  const hours = [...(station.hours || [])].sort((a, b) => a.hour - b.hour);
  const declared = station.declared_per_hour;
  const busiest = hours.reduce((m, h) => Math.max(m, total(h)), 0);
  const t0 = hours.length ? hours[0].hour : 0;
  const t1 = hours.length ? hours[hours.length - 1].hour + 3600 : 3600;
  let label = `Operations per hour at station ${station.station}: `;
  label += hours.length
    ? `${count(hours.length, 'hour', 'hours')} with activity from ${utc(t0)} to ${utc(t1)}, at most ${busiest} in one hour`
    : 'no activity';
  label += declared == null ? '; no declared rate.' : `; declared rate ${declared} per hour.`;
  const { root, y } = frame(label, Math.max(busiest, declared || 0), 'operations per hour');
  const x = (t) => M.left + ((t - t0) / (t1 - t0)) * PW;
  const width = Math.max(1, (3600 / (t1 - t0)) * PW - 1);
  for (const hour of hours) {
    let base = 0;
    for (const [kind, name] of KINDS) {
      const n = Number(hour[kind]) || 0;
      if (n === 0) continue;
      const bar = svg('rect', {
        x: x(hour.hour).toFixed(2),
        y: y(base + n).toFixed(2),
        width: width.toFixed(2),
        height: Math.max(0.5, y(base) - y(base + n)).toFixed(2),
        class: `bar k-${kind}`,
      });
      bar.append(svg('title', {}, `${utc(hour.hour)}: ${n} ${name.toLowerCase()}`));
      root.append(bar);
      base += n;
    }
  }
  if (declared != null) {
    root.append(svg('line', { x1: M.left, x2: M.left + PW, y1: y(declared), y2: y(declared), class: 'declared' }));
    root.append(
      svg('text', { x: M.left + 4, y: y(declared) - 5, 'text-anchor': 'start', class: 'label' }, `declared ${declared}/h`),
    );
  }
  if (hours.length) timeAxis(root, t0, t1, x);
  return root;
}

/** The legend of the station plots (kinds by colour and name). */
export function legend() {
  return el(
    'ul',
    { class: 'legend', 'aria-label': 'Legend' },
    KINDS.map(([kind, name]) => el('li', {}, el('span', { class: `swatch k-${kind}`, 'aria-hidden': 'true' }), name)),
    el('li', {}, el('span', { class: 'swatch declared-swatch', 'aria-hidden': 'true' }), 'Declared rate'),
  );
}

/** One station's counts as a table (the plot's accessible twin). */
export function stationTable(station) {
  const hours = [...(station.hours || [])].sort((a, b) => a.hour - b.hour);
  return el(
    'table',
    { class: 'counts' },
    el('caption', { text: `Operations per hour at station ${station.station}` }),
    el(
      'thead',
      {},
      el('tr', {}, el('th', { scope: 'col', text: 'Hour (UTC)' }), KINDS.map(([, name]) => el('th', { scope: 'col', text: name })), el('th', { scope: 'col', text: 'Total' })),
    ),
    el(
      'tbody',
      {},
      hours.map((h) =>
        el(
          'tr',
          {},
          el('th', { scope: 'row', text: utc(h.hour) }),
          KINDS.map(([k]) => el('td', { text: String(Number(h[k]) || 0) })),
          el('td', { text: String(total(h)) }),
        ),
      ),
    ),
  );
}
