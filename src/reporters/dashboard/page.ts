// The dashboard page: one self-contained HTML document (inline CSS, inline script, charts drawn
// as inline SVG by the script below: no CDN, no library, so the saved report opens offline).
// The same page runs live (fed by server-sent events) and as the saved report (data embedded).
import type { RunResults, SeriesWindow, SourceShare } from '../../stats/types.js';
import type { BreakdownGroup } from '../types.js';
import type { Comparison } from './compare.js';

export interface PageData {
  mode: 'live' | 'report' | 'compare';
  title: string;
  results: RunResults | null;
  series: SeriesWindow[];
  comparison?: Comparison;
  /** Per-DC / per-worker groups of a distributed run. */
  breakdown?: readonly BreakdownGroup[];
  /** A cluster job's windows per datacenter, as they streamed in (the live DC section). */
  dcSeries?: Record<string, SeriesWindow[]>;
}

/** JSON safe inside a <script> element (no `</script>`, no `<!--`). */
export function embedJson(value: unknown): string {
  return JSON.stringify(value)
    .replaceAll('<', '\\u003c')
    .replaceAll('\u2028', '\\u2028')
    .replaceAll('\u2029', '\\u2029');
}

export function escapeHtml(s: string): string {
  return s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

const STYLE = `
:root{--fg:#1d2330;--muted:#667085;--line:#e4e7ec;--bg:#f7f8fa;--ok:#12805c;--bad:#c0362c;--warn:#b54708}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{padding:16px 24px;background:#fff;border-bottom:1px solid var(--line);display:flex;gap:16px;align-items:baseline;flex-wrap:wrap}
h1{font-size:18px;margin:0}h2{font-size:15px;margin:0 0 8px}.muted{color:var(--muted)}
main{padding:16px 24px;display:grid;gap:16px;grid-template-columns:repeat(auto-fit,minmax(460px,1fr))}
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:14px 16px;min-width:0}
section.wide{grid-column:1/-1}
.cards{display:flex;gap:12px;flex-wrap:wrap}.card{flex:1 1 120px;border:1px solid var(--line);border-radius:6px;padding:8px 10px}
.card b{display:block;font-size:20px}.card span{color:var(--muted);font-size:12px}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}th,td{padding:4px 8px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
th:first-child,td:first-child,td.l,th.l{text-align:left}th{color:var(--muted);font-weight:600;font-size:12px}
.pass{color:var(--ok);font-weight:600}.fail{color:var(--bad);font-weight:600}.same{color:var(--muted)}
svg{display:block;width:100%;height:auto}svg text{font-size:10px;fill:var(--muted)}
.legend{display:flex;gap:12px;flex-wrap:wrap;font-size:12px;color:var(--muted)}.legend i{display:inline-block;width:10px;height:3px;margin-right:4px;vertical-align:middle}
.status{font-weight:600}
`;

/** The page script: renders `DATA` and, live, keeps it current from /events. */
const SCRIPT = String.raw`
'use strict';
const DATA = JSON.parse(document.getElementById('salvo-data').textContent);
const COLORS = ['#2e6be6','#e8590c','#2b8a3e','#ae3ec9','#c92a2a','#0b7285','#5f3dc4','#a07000'];
const $ = (sel) => document.querySelector(sel);
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'})[c]);
const fmt = (n, d = 2) => n === null || n === undefined || Number.isNaN(n) ? '–' : (Math.round(n * 10 ** d) / 10 ** d).toString();
const pct = (a, b) => b > 0 ? fmt((a / b) * 100, 2) + '%' : '0%';

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

// A line chart as inline SVG. Each line carries its values in data-values for readers.
function lineChart(name, xs, lines, unit) {
  const W = 640, H = 220, L = 48, R = 10, T = 10, B = 24;
  const all = lines.flatMap((l) => l.values.filter((v) => v !== null));
  const ymax = niceMax(Math.max(0, ...all));
  const lastX = (x) => x.length ? x[x.length - 1] : 1;
  const xmax = Math.max(1, lastX(xs), ...lines.map((l) => l.xs ? lastX(l.xs) : 1));
  const px = (x) => L + (x / xmax) * (W - L - R);
  const py = (y) => T + (1 - y / ymax) * (H - T - B);
  let s = '<svg viewBox="0 0 ' + W + ' ' + H + '" role="img" aria-label="' + esc(name) + '" data-chart="' + esc(name) + '">';
  for (let i = 0; i <= 4; i++) {
    const y = (ymax * i) / 4;
    s += '<line x1="' + L + '" x2="' + (W - R) + '" y1="' + py(y) + '" y2="' + py(y) + '" stroke="#eef0f3"/>';
    s += '<text x="' + (L - 4) + '" y="' + (py(y) + 3) + '" text-anchor="end">' + fmt(y, 1) + unit + '</text>';
  }
  for (let i = 0; i <= 4; i++) {
    const x = (xmax * i) / 4;
    s += '<text x="' + px(x) + '" y="' + (H - 6) + '" text-anchor="middle">' + fmt(x, xmax < 10 ? 1 : 0) + 's</text>';
  }
  lines.forEach((l, i) => {
    const pts = [];
    const lx = l.xs || xs;
    l.values.forEach((v, j) => { if (v !== null) pts.push(px(lx[j]).toFixed(1) + ',' + py(v).toFixed(1)); });
    s += '<polyline fill="none" stroke-width="1.8" stroke="' + COLORS[i % COLORS.length] + '" points="' + pts.join(' ') +
      '" data-series="' + esc(l.name) + '" data-values="' + l.values.map((v) => v === null ? '' : v).join(',') + '"/>';
  });
  s += '</svg><div class="legend">' + lines.map((l, i) => '<span><i style="background:' + COLORS[i % COLORS.length] + '"></i>' + esc(l.name) + '</span>').join('') + '</div>';
  return s;
}

function workflowNames() {
  if (DATA.results) return DATA.results.workflows.map((w) => w.name);
  const names = [];
  for (const p of DATA.series) for (const w of p.workflows) if (!names.includes(w.name)) names.push(w.name);
  return names;
}

function seriesFor(name) {
  return DATA.series.map((p) => ({ t: p.elapsedMs / 1000, w: p.workflows.find((w) => w.name === name) })).filter((p) => p.w);
}

// Live totals per step, summed from the windows (each window holds the increments).
function liveSteps(name) {
  const steps = new Map();
  for (const { w } of seriesFor(name)) {
    for (const s of w.steps) {
      const e = steps.get(s.name) || { name: s.name, count: 0, failed: 0, p50: null, p99: null };
      e.count += s.count; e.failed += s.failed;
      if (s.p50Ms !== null) { e.p50 = s.p50Ms; e.p99 = s.p99Ms; }
      steps.set(s.name, e);
    }
  }
  return [...steps.values()];
}

function summary() {
  const r = DATA.results;
  const last = DATA.series[DATA.series.length - 1];
  let count = 0, failed = 0, rps = 0, vus = 0, status = DATA.mode === 'live' ? 'running' : 'unknown', secs = 0;
  if (r) {
    for (const w of r.workflows) { count += w.totals.count; failed += w.totals.failed; rps += w.totals.rps; vus = Math.max(vus, w.vus.max); }
    status = r.run.status; secs = r.run.durationMs / 1000;
  } else if (last) {
    for (const w of last.workflows) { count += w.total.count; failed += w.total.failed; rps += w.rps; vus += w.vus; }
    secs = last.elapsedMs / 1000;
  }
  const th = r ? r.thresholds : null;
  const card = (k, v, label) => '<div class="card"><b data-k="' + k + '">' + esc(v) + '</b><span>' + label + '</span></div>';
  return '<section class="wide"><h2>Summary</h2><div class="cards">' +
    card('status', status, 'status') + card('duration', fmt(secs, 1) + 's', 'duration') +
    card('requests', count, 'requests') + card('rps', fmt(rps, 1), r ? 'requests/s (average)' : 'requests/s (now)') +
    card('errors', pct(failed, count), failed + ' failed') + card('vus', vus, r ? 'max VUs' : 'VUs now') +
    (th ? card('thresholds', th.passed + '/' + th.total, 'thresholds passed') : '') +
    '</div>' + (r && r.run.notes.length ? '<ul class="muted">' + r.run.notes.map((n) => '<li>' + esc(n) + '</li>').join('') + '</ul>' : '') + '</section>';
}

function timelineFallback(w) {
  // Files without a series still have per-interval counts: throughput and errors from those.
  const tl = w.timeline, secs = tl.intervalMs / 1000;
  const xs = tl.counts.map((_, i) => (i + 1) * secs);
  return { xs, rps: tl.counts.map((c) => c / secs), errors: tl.failures.slice(), vus: null, latency: null };
}

function workflowSections(name) {
  const pts = seriesFor(name);
  const wr = DATA.results ? DATA.results.workflows.find((w) => w.name === name) : null;
  let data;
  if (pts.length > 0) {
    const stepNames = [];
    for (const p of pts) for (const s of p.w.steps) if (!stepNames.includes(s.name)) stepNames.push(s.name);
    const lat = [];
    for (const sn of stepNames.slice(0, 4)) {
      for (const q of ['p50Ms', 'p99Ms']) {
        lat.push({ name: sn + ' ' + q.slice(0, 3), values: pts.map((p) => { const s = p.w.steps.find((x) => x.name === sn); return s ? s[q] : null; }) });
      }
    }
    data = { xs: pts.map((p) => p.t), rps: pts.map((p) => p.w.rps), errors: pts.map((p) => p.w.failed), vus: pts.map((p) => p.w.vus), latency: lat };
  } else if (wr) {
    data = timelineFallback(wr);
  } else {
    data = { xs: [], rps: [], errors: [], vus: [], latency: [] };
  }
  let s = '<section data-workflow="' + esc(name) + '"><h2>' + esc(name) + ': throughput</h2>' + lineChart('throughput', data.xs, [{ name: 'requests/s', values: data.rps }], '') + '</section>';
  s += '<section><h2>' + esc(name) + ': latency percentiles</h2>' + (data.latency ? lineChart('latency', data.xs, data.latency, 'ms') : '<p class="muted">This results file has no per-window latency.</p>') + '</section>';
  s += '<section><h2>' + esc(name) + ': errors</h2>' + lineChart('errors', data.xs, [{ name: 'failed per window', values: data.errors }], '') + '</section>';
  if (data.vus) s += '<section><h2>' + esc(name) + ': VUs</h2>' + lineChart('vus', data.xs, [{ name: 'VUs', values: data.vus }], '') + '</section>';
  s += '<section class="wide"><h2>' + esc(name) + ': steps</h2>' + stepTable(name, wr) + '</section>';
  const ths = wr ? wr.thresholds : (pts.length ? pts[pts.length - 1].w.thresholds : []);
  if (ths.length) s += '<section class="wide"><h2>' + esc(name) + ': thresholds</h2>' + thresholdTable(ths) + '</section>';
  return s;
}

function stepTable(name, wr) {
  let rows;
  if (wr) {
    rows = wr.steps.map((st) => {
      const l = st.latencyMs;
      const errs = Object.entries(st.errors).map(([k, n]) => k + '=' + n).join(' ');
      return '<tr data-step="' + esc(st.name) + '"><td>' + esc(st.name) + '</td><td data-k="count">' + st.count + '</td><td data-k="failed">' + st.failed +
        '</td><td data-k="rps">' + fmt(st.rps) + '</td><td data-k="p50">' + fmt(l.p50) + '</td><td data-k="p90">' + fmt(l.p90) + '</td><td data-k="p95">' + fmt(l.p95) +
        '</td><td data-k="p99">' + fmt(l.p99) + '</td><td data-k="max">' + fmt(l.max) + '</td><td class="l">' + esc(errs) + '</td></tr>';
    });
    return '<table><thead><tr><th>step</th><th>count</th><th>failed</th><th>req/s</th><th>p50 ms</th><th>p90 ms</th><th>p95 ms</th><th>p99 ms</th><th>max ms</th><th class="l">errors</th></tr></thead><tbody>' + rows.join('') + '</tbody></table>';
  }
  rows = liveSteps(name).map((st) => '<tr data-step="' + esc(st.name) + '"><td>' + esc(st.name) + '</td><td data-k="count">' + st.count + '</td><td data-k="failed">' + st.failed +
    '</td><td data-k="p50">' + fmt(st.p50) + '</td><td data-k="p99">' + fmt(st.p99) + '</td></tr>');
  return '<table><thead><tr><th>step</th><th>count</th><th>failed</th><th>p50 ms (last window)</th><th>p99 ms (last window)</th></tr></thead><tbody>' + rows.join('') + '</tbody></table>';
}

function thresholdTable(ths) {
  return '<table><thead><tr><th>target</th><th class="l">expression</th><th>actual</th><th>verdict</th></tr></thead><tbody>' +
    ths.map((t) => '<tr data-threshold="' + esc(t.target + ': ' + t.expression) + '"><td>' + esc(t.target) + '</td><td class="l">' + esc(t.expression) + '</td><td>' +
      (t.actual === null ? '–' : fmt(t.actual) + esc(t.unit)) + '</td><td data-k="verdict" class="' + (t.passed ? 'pass">pass' : 'fail">FAIL') + '</td></tr>').join('') +
    '</tbody></table>';
}

function breakdown() {
  const groups = DATA.breakdown;
  if (!groups || !groups.length) return '';
  return '<section class="wide"><h2>Breakdown</h2><table><thead><tr><th>group</th><th>requests</th><th>failed</th><th>req/s</th></tr></thead><tbody>' +
    groups.map((g) => { const t = g.results.workflows.reduce((a, w) => ({ c: a.c + w.totals.count, f: a.f + w.totals.failed, r: a.r + w.totals.rps }), { c: 0, f: 0, r: 0 });
      return '<tr><td>' + esc(Object.entries(g.labels).map(([k, v]) => k + '=' + v).join(' ')) + '</td><td>' + t.c + '</td><td>' + t.f + '</td><td>' + fmt(t.r) + '</td></tr>'; }).join('') +
    '</tbody></table></section>';
}

// A cluster job's datacenters: finished, the results' distributed section (each DC's totals,
// step latencies and series); live, the DC windows streamed so far. Shown for 2 DCs or more.
function dcViews() {
  const d = DATA.results && DATA.results.distributed;
  const streamed = DATA.dcSeries || {};
  if (d) return Object.entries(d.dcs).map(([dc, e]) => ({ dc, status: e.status, series: e.series || streamed[dc] || [], final: e }));
  return Object.entries(streamed).map(([dc, series]) => ({ dc, status: 'running', series, final: null }));
}

function dcTotals(v) {
  if (v.final) return { requests: v.final.requests, failed: v.final.failed };
  const last = v.series[v.series.length - 1];
  let requests = 0, failed = 0;
  if (last) for (const w of last.workflows) { requests += w.total.count; failed += w.total.failed; }
  return { requests, failed };
}

// Each DC's steps: finished, exact (from its merged histograms); live, counts summed over its
// windows and the percentiles of its last window with samples.
function dcSteps(v) {
  if (v.final && v.final.steps) return v.final.steps.map((s) => ({ key: s.workflow + '/' + s.step, count: s.count, failed: s.failed, p50: s.latencyMs.p50, p99: s.latencyMs.p99 }));
  const steps = new Map();
  for (const p of v.series) for (const w of p.workflows) for (const s of w.steps) {
    const key = w.name + '/' + s.name;
    const e = steps.get(key) || { key, count: 0, failed: 0, p50: null, p99: null };
    e.count += s.count; e.failed += s.failed;
    if (s.p50Ms !== null) { e.p50 = s.p50Ms; e.p99 = s.p99Ms; }
    steps.set(key, e);
  }
  return [...steps.values()];
}

function dcSection() {
  const views = dcViews();
  if (views.length < 2) return '';
  const r = DATA.results;
  const secs = r ? r.run.durationMs / 1000 : 0;
  const rows = views.map((v) => {
    const t = dcTotals(v);
    const last = v.series[v.series.length - 1];
    const rps = r ? (secs > 0 ? t.requests / secs : 0) : (last ? last.workflows.reduce((a, w) => a + w.rps, 0) : 0);
    return '<tr data-dc="' + esc(v.dc) + '"><td>' + esc(v.dc) + '</td><td class="l" data-k="status">' + esc(v.status) + '</td><td data-k="requests">' + t.requests +
      '</td><td data-k="failed">' + t.failed + '</td><td data-k="errors">' + pct(t.failed, t.requests) + '</td><td data-k="rps">' + fmt(rps, 1) + '</td></tr>';
  });
  const stepRows = views.flatMap((v) => dcSteps(v).map((s) => '<tr data-dc-step="' + esc(v.dc + '/' + s.key) + '"><td>' + esc(v.dc) + '</td><td class="l">' + esc(s.key) +
    '</td><td data-k="count">' + s.count + '</td><td data-k="failed">' + s.failed + '</td><td data-k="p50">' + fmt(s.p50) + '</td><td data-k="p99">' + fmt(s.p99) + '</td></tr>'));
  const line = (v, f) => ({ name: v.dc, xs: v.series.map((p) => p.elapsedMs / 1000), values: v.series.map(f) });
  const sum = (p, f) => p.workflows.reduce((a, w) => a + f(w), 0);
  const stepKeys = [];
  for (const v of views) for (const p of v.series) for (const w of p.workflows) for (const s of w.steps) {
    const k = w.name + '/' + s.name; if (!stepKeys.includes(k)) stepKeys.push(k);
  }
  const lat = [];
  for (const v of views) for (const k of stepKeys.slice(0, 3)) {
    const [wn, sn] = [k.slice(0, k.indexOf('/')), k.slice(k.indexOf('/') + 1)];
    lat.push({ name: v.dc + ' ' + sn + ' p99', xs: v.series.map((p) => p.elapsedMs / 1000), values: v.series.map((p) => {
      const w = p.workflows.find((x) => x.name === wn); const s = w && w.steps.find((x) => x.name === sn); return s ? s.p99Ms : null; }) });
  }
  return '<section class="wide" id="dcs"><h2>Datacenters</h2><table><thead><tr><th>datacenter</th><th class="l">status</th><th>requests</th><th>failed</th><th>error %</th><th>' +
    (r ? 'req/s (average)' : 'req/s (now)') + '</th></tr></thead><tbody>' + rows.join('') + '</tbody></table>' +
    '<table style="margin-top:12px"><thead><tr><th>datacenter</th><th class="l">step</th><th>count</th><th>failed</th><th>' + (r ? 'p50 ms' : 'p50 ms (last window)') + '</th><th>' +
    (r ? 'p99 ms' : 'p99 ms (last window)') + '</th></tr></thead><tbody>' + stepRows.join('') + '</tbody></table></section>' +
    '<section><h2>Throughput by datacenter</h2>' + lineChart('dc-throughput', [], views.map((v) => line(v, (p) => sum(p, (w) => w.rps))), '') + '</section>' +
    '<section><h2>Errors by datacenter</h2>' + lineChart('dc-errors', [], views.map((v) => line(v, (p) => sum(p, (w) => w.failed))), '') + '</section>' +
    '<section><h2>Latency by datacenter</h2>' + lineChart('dc-latency', [], lat, 'ms') + '</section>';
}

function comparison() {
  const c = DATA.comparison;
  if (!c) return '';
  const cell = (v, d) => '<td>' + fmt(v, d) + '</td>';
  const rows = c.rows.map((r) => '<tr data-step="' + esc(r.workflow + '/' + r.step) + '"><td>' + esc(r.workflow + '/' + r.step) + '</td>' +
    cell(r.base.p50Ms) + cell(r.next.p50Ms) + cell(r.base.p99Ms) + cell(r.next.p99Ms) + '<td data-k="p99-change">' + fmt(r.change.p99Pct, 1) + '%</td>' +
    cell(r.base.rps) + cell(r.next.rps) + '<td>' + fmt(r.change.rpsPct, 1) + '%</td>' + cell(r.base.errorRatePct, 2) + cell(r.next.errorRatePct, 2) +
    '<td data-k="verdict" class="' + (r.verdict === 'regressed' ? 'fail' : r.verdict === 'improved' ? 'pass' : 'same') + '">' + r.verdict + '</td></tr>');
  return '<section class="wide"><h2>Comparison: ' + esc(c.base) + ' → ' + esc(c.next) + '</h2><table><thead><tr><th>step</th><th>p50 base</th><th>p50 new</th><th>p99 base</th><th>p99 new</th><th>p99 change</th><th>req/s base</th><th>req/s new</th><th>req/s change</th><th>err% base</th><th>err% new</th><th>verdict</th></tr></thead><tbody>' +
    rows.join('') + '</tbody></table><p class="muted" data-k="overall">overall: ' + esc(c.verdict) + '</p></section>';
}

function render() {
  const main = $('main');
  let html = DATA.comparison ? comparison() : '';
  if (DATA.results || DATA.series.length || DATA.mode === 'live') html += summary();
  html += dcSection();
  for (const name of workflowNames()) html += workflowSections(name);
  html += breakdown();
  main.innerHTML = html;
  const state = $('#state');
  if (state) state.textContent = DATA.mode === 'live' ? (DATA.results ? 'finished' : 'live') : 'report';
  document.body.dataset.windows = String(DATA.series.length);
  document.body.dataset.final = DATA.results ? 'yes' : 'no';
}

render();
if (DATA.mode === 'live' && !DATA.results && typeof EventSource === 'function') {
  const events = new EventSource('events');
  let pending = false;
  const soon = () => { if (!pending) { pending = true; requestAnimationFrame(() => { pending = false; render(); }); } };
  events.addEventListener('window', (e) => { const w = JSON.parse(e.data); if (!DATA.series.some((p) => p.seq === w.seq)) DATA.series.push(w); soon(); });
  events.addEventListener('dc-window', (e) => {
    const { dc, window: w } = JSON.parse(e.data);
    const points = (DATA.dcSeries = DATA.dcSeries || {})[dc] = (DATA.dcSeries[dc] || []);
    if (!points.some((p) => p.seq === w.seq)) points.push(w);
    soon();
  });
  events.addEventListener('final', (e) => { const f = JSON.parse(e.data); DATA.results = f.results; DATA.series = f.series; events.close(); render(); });
}
`;

const count = (n: number): string => String(n);
const errorPct = (failed: number, requests: number): string =>
  requests > 0 ? `${(Math.round((failed / requests) * 10_000) / 100).toString()}%` : '0%';

/**
 * A cluster job's datacenters and workers (the results' `distributed` section) as a static
 * table: one row per DC with its status and share, one row per worker under it, and the total.
 */
export function distributedHtml(results: RunResults | null): string {
  const d = results?.distributed;
  if (d === undefined) return '';
  const cells = (s: SourceShare): string =>
    [s.requests, s.ok, s.failed].map((n) => `<td>${count(n)}</td>`).join('') +
    `<td>${errorPct(s.failed, s.requests)}</td><td>${count(s.iterationsCompleted)}</td><td>${count(s.iterationsFailed)}</td><td>${count(s.windows)}</td>`;
  const rows: string[] = [];
  const total: SourceShare = {
    windows: 0,
    requests: 0,
    ok: 0,
    failed: 0,
    iterationsCompleted: 0,
    iterationsFailed: 0,
  };
  for (const [dc, share] of Object.entries(d.dcs)) {
    for (const k of Object.keys(total) as (keyof SourceShare)[]) total[k] += share[k];
    rows.push(
      `<tr data-dc="${escapeHtml(dc)}"><td>${escapeHtml(dc)}</td><td class="l">${escapeHtml(share.status)}</td>${cells(share)}</tr>`,
    );
    for (const [worker, w] of Object.entries(share.workers)) {
      rows.push(
        `<tr data-worker="${escapeHtml(`${dc}/${worker}`)}" class="muted"><td>&nbsp;&nbsp;${escapeHtml(worker)}</td><td class="l">worker</td>${cells(w)}</tr>`,
      );
    }
  }
  rows.push(`<tr data-dc="*"><td><b>all</b></td><td class="l"></td>${cells(total)}</tr>`);
  return `<section class="wide" id="distributed"><h2>Job ${escapeHtml(d.job)}: datacenters and workers</h2><table><thead><tr><th>datacenter / worker</th><th class="l">status</th><th>requests</th><th>ok</th><th>failed</th><th>error %</th><th>iterations</th><th>iterations failed</th><th>windows</th></tr></thead><tbody>${rows.join('')}</tbody></table></section>`;
}

export function renderPage(data: PageData): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(data.title)}</title><style>${STYLE}</style></head>
<body><header><h1>${escapeHtml(data.title)}</h1><span class="muted" id="state"></span></header>
<main></main>
<div style="padding:0 24px 16px">${distributedHtml(data.results)}</div>
<script type="application/json" id="salvo-data">${embedJson(data)}</script>
<script>${SCRIPT}</script>
</body></html>
`;
}
