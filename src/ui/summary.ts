// The end-of-run summary printed after `salvo run`: a pure function from the results document
// (salvo.results/v1) to text that fits the terminal, and the "is the target even up?" diagnosis.

import type { MetricResult, RunResults, ThresholdResult, WorkflowResult } from '../stats/types.js';
import {
  createStyle,
  flow,
  formatBytes,
  formatCount,
  formatDuration,
  formatLatency,
  formatNumber,
  formatPercent,
  formatRate,
  ratio,
  sanitize,
  table,
  truncate,
  type Column,
  type Style,
  wrap,
} from './format.js';

export interface SummaryOptions {
  width: number;
  color: boolean;
}

const INDENT = 2;
const PAD = ' '.repeat(INDENT);
const PASS = '✓';
const FAIL = '✗';
const WARN = '!';
/** A failure kind "dominates" when it (or its family) accounts for at least this share of requests. */
const DOMINANT_SHARE = 0.5;
const STEP_MIN_WIDTH = 10;
const SAMPLE_MIN_WIDTH = 12;
const RULE = '─';
const RULE_MAX_WIDTH = 80;

// ─── Diagnosis ───

/** Failure kinds (see HttpErrorKind) that mean requests never got a response from the target. */
const UNREACHABLE_KIND =
  /refused|reset|unreachable|dns|not_?found|enotfound|eai_|connect|socket|tls|ssl/i;
const TIMEOUT_KIND = /timeout|timed_?out/i;
const SERVER_ERROR_KIND = /^status_5\d\d$/;

export interface ErrorKindSummary {
  kind: string;
  count: number;
  /** One message for this kind, prefixed with the step it came from. */
  sample: string | null;
  steps: string[];
}

/** Failure kinds of a workflow summed over its steps, most frequent first. */
export function errorKinds(wf: WorkflowResult): ErrorKindSummary[] {
  const byKind = new Map<string, ErrorKindSummary>();
  for (const step of wf.steps) {
    for (const [kind, count] of Object.entries(step.errors)) {
      if (count <= 0) continue;
      const entry = byKind.get(kind) ?? { kind, count: 0, sample: null, steps: [] };
      entry.count += count;
      entry.steps.push(step.name);
      const message = step.errorSamples[kind];
      if (entry.sample === null && message !== undefined) entry.sample = `${step.name}: ${message}`;
      byKind.set(kind, entry);
    }
  }
  return [...byKind.values()].sort((a, b) => b.count - a.count || a.kind.localeCompare(b.kind));
}

function hintFor(kind: string): string | null {
  if (UNREACHABLE_KIND.test(kind)) return 'target unreachable?';
  if (TIMEOUT_KIND.test(kind)) return 'target unreachable or too slow?';
  if (SERVER_ERROR_KIND.test(kind)) return 'target failing?';
  return null;
}

function kindList(kinds: readonly ErrorKindSummary[]): string {
  return kinds.map((k) => `${k.kind} ${formatCount(k.count)}`).join(', ');
}

/**
 * Says plainly when a workflow's target looks down or failing: every request failed, or failures
 * that never reached the target (connection refused, DNS, TLS, timeouts) or server errors (5xx)
 * make up at least half of all requests. Null when nothing like that happened.
 */
export function diagnoseWorkflow(wf: WorkflowResult): string | null {
  const { count, ok, failed } = wf.totals;
  if (wf.status === 'skipped') return null;
  const it = wf.iterations;
  if (it.started > 0 && it.completed === 0 && (it.interrupted ?? 0) > 0) {
    return `no iteration finished: all ${formatCount(it.interrupted ?? 0)} were still running at the end (duration + gracefulStop) and were interrupted`;
  }
  if (count === 0) {
    return it.started > 0 ? 'no steps ran' : null;
  }
  const kinds = errorKinds(wf);
  const top = kinds[0];
  if (ok === 0 && failed > 0) {
    const others =
      kinds.length > 1 ? ` (and ${kinds.length - 1} other kind${kinds.length > 2 ? 's' : ''})` : '';
    const hint = top === undefined ? null : hintFor(top.kind);
    const what = top === undefined ? '' : `: ${top.kind}${others}`;
    return `all ${formatCount(count)} requests failed${what}${hint === null ? '' : ` (${hint})`}`;
  }
  const unreachable = kinds.filter(
    (k) => UNREACHABLE_KIND.test(k.kind) || TIMEOUT_KIND.test(k.kind),
  );
  const unreachableCount = unreachable.reduce((sum, k) => sum + k.count, 0);
  if (unreachableCount > 0 && ratio(unreachableCount, count) >= DOMINANT_SHARE) {
    const onlyTimeouts = unreachable.every((k) => TIMEOUT_KIND.test(k.kind));
    const hint = onlyTimeouts
      ? 'target unreachable or too slow?'
      : 'target unreachable or overloaded?';
    return `${formatPercent(ratio(unreachableCount, count), 1)} of requests never got a response: ${kindList(unreachable)} (${hint})`;
  }
  const serverErrors = kinds.filter((k) => SERVER_ERROR_KIND.test(k.kind));
  const serverCount = serverErrors.reduce((sum, k) => sum + k.count, 0);
  if (serverCount > 0 && ratio(serverCount, count) >= DOMINANT_SHARE) {
    return `${formatPercent(ratio(serverCount, count), 1)} of requests got server errors: ${kindList(serverErrors)} (target failing?)`;
  }
  return null;
}

// ─── Rendering ───

function runIcon(status: RunResults['run']['status'], style: Style): string {
  if (status === 'completed') return style.green(PASS);
  if (status === 'interrupted') return style.yellow('■');
  return style.red(FAIL);
}

function workflowIcon(wf: WorkflowResult, diagnosis: string | null, style: Style): string {
  switch (wf.status) {
    case 'completed':
      if (wf.thresholds.some((t) => !t.passed)) return style.red(FAIL);
      if (wf.totals.count > 0 && wf.totals.ok === 0) return style.red(FAIL);
      if (wf.steps.some((s) => s.count > 0 && s.ok === 0)) return style.red(FAIL);
      return diagnosis === null ? style.green(PASS) : style.yellow(WARN);
    case 'interrupted':
      return style.yellow('■');
    case 'failed':
      return style.red(FAIL);
    case 'skipped':
      return style.dim('–');
  }
}

function statusPaint(wf: WorkflowResult, style: Style): (text: string) => string {
  switch (wf.status) {
    case 'completed':
      return style.green;
    case 'interrupted':
      return style.yellow;
    case 'failed':
      return style.red;
    case 'skipped':
      return style.dim;
  }
}

const LABEL_WIDTH = 12;

/** "  label       field   field" wrapped so continuation lines line up under the first field. */
function labelled(label: string, fields: readonly string[], width: number, style: Style): string[] {
  const lines = flow(fields, width, INDENT + LABEL_WIDTH);
  return lines.map((line, i) =>
    i === 0 ? PAD + style.dim(label.padEnd(LABEL_WIDTH)) + line.slice(INDENT + LABEL_WIDTH) : line,
  );
}

/** A warning in plain words, wrapped to the width, each line painted. */
function warning(
  text: string,
  width: number,
  indent: number,
  paint: (s: string) => string,
): string[] {
  return wrap(`${WARN} ${text}`, width, indent).map((line) => paint(line));
}

function stepsTable(wf: WorkflowResult, width: number, style: Style): string[] {
  const columns: Column[] = [
    { header: 'step', minWidth: STEP_MIN_WIDTH },
    { header: 'count', align: 'right' },
    { header: 'ok', align: 'right' },
    { header: 'failed', align: 'right' },
    { header: 'rps', align: 'right', dropOrder: 4 },
    { header: 'p50', align: 'right', dropOrder: 5 },
    { header: 'p90', align: 'right', dropOrder: 1 },
    { header: 'p95', align: 'right', dropOrder: 2 },
    { header: 'p99', align: 'right' },
    { header: 'max', align: 'right', dropOrder: 3 },
  ];
  const rows = wf.steps.map((step) => {
    const none = step.count === 0;
    const lat = (value: number): string => (none ? formatLatency(null) : formatLatency(value));
    return [
      sanitize(step.name),
      formatCount(step.count),
      formatCount(step.ok),
      step.failed > 0 ? style.red(formatCount(step.failed)) : '0',
      formatRate(step.rps),
      lat(step.latencyMs.p50),
      lat(step.latencyMs.p90),
      lat(step.latencyMs.p95),
      lat(step.latencyMs.p99),
      lat(step.latencyMs.max),
    ];
  });
  return table(rows, columns, { width, indent: INDENT, headerStyle: style.dim });
}

function errorsTable(wf: WorkflowResult, width: number, style: Style): string[] {
  const kinds = errorKinds(wf);
  if (kinds.length === 0) return [];
  const columns: Column[] = [
    { header: 'error', flex: false, minWidth: 8 },
    { header: 'count', align: 'right' },
    { header: 'share', align: 'right', dropOrder: 1 },
    { header: 'sample', flex: true, minWidth: SAMPLE_MIN_WIDTH },
  ];
  const rows = kinds.map((k) => [
    style.red(sanitize(k.kind)),
    formatCount(k.count),
    formatPercent(ratio(k.count, wf.totals.failed), 1),
    k.sample === null ? style.dim('(no sample)') : sanitize(k.sample),
  ]);
  return table(rows, columns, { width, indent: INDENT, headerStyle: style.dim });
}

function checksTable(wf: WorkflowResult, width: number, style: Style): string[] {
  if (wf.checks.length === 0) return [];
  const columns: Column[] = [
    { header: 'checks', minWidth: STEP_MIN_WIDTH },
    { header: 'passes', align: 'right' },
    { header: 'fails', align: 'right' },
    { header: 'pass rate', align: 'right', dropOrder: 1 },
  ];
  const rows = wf.checks.map((check) => {
    const ok = check.fails === 0;
    const icon = ok ? style.green(PASS) : style.red(FAIL);
    return [
      `${icon} ${sanitize(check.step)} › ${sanitize(check.name)}`,
      formatCount(check.passes),
      ok ? '0' : style.red(formatCount(check.fails)),
      formatPercent(ratio(check.passes, check.passes + check.fails)),
    ];
  });
  return table(rows, columns, { width, indent: INDENT, headerStyle: style.dim });
}

function metricCells(metric: MetricResult): [string, string] {
  switch (metric.kind) {
    case 'counter':
      return [formatNumber(metric.value), formatRate(metric.ratePerSecond)];
    case 'gauge':
      return [
        formatNumber(metric.value),
        `min ${formatNumber(metric.min)}  max ${formatNumber(metric.max)}`,
      ];
    case 'rate':
      return [
        formatPercent(metric.rate),
        `${formatCount(metric.trues)} of ${formatCount(metric.total)}`,
      ];
    case 'trend': {
      const s = metric.summary;
      return [
        `avg ${formatNumber(s.mean)}`,
        `p50 ${formatNumber(s.p50)}  p95 ${formatNumber(s.p95)}  p99 ${formatNumber(s.p99)}  max ${formatNumber(s.max)}  (${formatCount(metric.count)} values)`,
      ];
    }
  }
}

function metricsTable(wf: WorkflowResult, width: number, style: Style): string[] {
  if (wf.metrics.length === 0) return [];
  const columns: Column[] = [
    { header: 'metrics', minWidth: STEP_MIN_WIDTH },
    { header: 'kind' },
    { header: 'value', align: 'right' },
    { header: '', flex: true, minWidth: SAMPLE_MIN_WIDTH },
  ];
  const rows = wf.metrics.map((metric) => [
    sanitize(metric.name),
    metric.kind,
    ...metricCells(metric),
  ]);
  return table(rows, columns, { width, indent: INDENT, headerStyle: style.dim });
}

/** A threshold's measured value in its unit: "6.30ms", "0.03%", "1,234/s"; "no data" for null. */
export function formatThresholdActual(t: ThresholdResult): string {
  if (t.actual === null) return 'no data';
  switch (t.unit) {
    case 'ms':
      return formatLatency(t.actual);
    case '%':
      return `${t.actual.toFixed(2)}%`;
    case '/s':
      return formatRate(t.actual);
    case '':
      return formatNumber(t.actual);
  }
}

function thresholdsTable(wf: WorkflowResult, width: number, style: Style): string[] {
  if (wf.thresholds.length === 0) return [];
  const columns: Column[] = [
    { header: 'thresholds', minWidth: STEP_MIN_WIDTH },
    { header: 'expression', minWidth: STEP_MIN_WIDTH },
    { header: 'actual', flex: false },
  ];
  const rows = wf.thresholds.map((t) => {
    const icon = t.passed ? style.green(PASS) : style.red(FAIL);
    const actual = `→ ${formatThresholdActual(t)}`;
    return [
      `${icon} ${sanitize(t.target)}`,
      sanitize(t.expression),
      t.passed ? actual : style.red(actual),
    ];
  });
  return table(rows, columns, { width, indent: INDENT, headerStyle: style.dim });
}

function workflowSection(wf: WorkflowResult, width: number, style: Style): string[] {
  const diagnosis = diagnoseWorkflow(wf);
  const paint = statusPaint(wf, style);
  const title = [
    `${workflowIcon(wf, diagnosis, style)} ${style.bold(sanitize(wf.name))}`,
    style.dim(sanitize(wf.executor.type)),
    paint(wf.status),
    wf.status === 'skipped' ? '' : formatDuration(wf.durationMs),
  ];
  const lines = flow(title, width);
  if (wf.error !== undefined) lines.push(...wrap(sanitize(wf.error), width, INDENT).map(paint));
  const hasData = wf.totals.count > 0 || wf.iterations.started > 0;
  if (wf.status === 'skipped' && !hasData) return lines;

  const it = wf.iterations;
  lines.push(
    ...labelled(
      'iterations',
      [
        `${formatCount(it.started)} started`,
        `${formatCount(it.completed)} completed`,
        it.failed > 0 ? style.red(`${formatCount(it.failed)} failed`) : '',
        it.dropped > 0 ? style.yellow(`${formatCount(it.dropped)} dropped`) : `0 dropped`,
        (it.interrupted ?? 0) > 0
          ? style.yellow(`${formatCount(it.interrupted ?? 0)} interrupted`)
          : '',
      ],
      width,
      style,
    ),
  );
  const t = wf.totals;
  const failedText = `${formatCount(t.failed)} failed (${formatPercent(ratio(t.failed, t.count))})`;
  lines.push(
    ...labelled(
      'steps',
      [
        `${formatCount(t.count)} total`,
        `${formatCount(t.ok)} ok`,
        t.failed > 0 ? style.red(failedText) : failedText,
        formatRate(t.rps),
      ],
      width,
      style,
    ),
  );
  if (wf.network !== undefined) {
    const n = wf.network;
    lines.push(
      ...labelled(
        'network',
        [
          `${formatCount(n.requests)} requests`,
          `${formatBytes(n.bytesSent)} sent`,
          `${formatBytes(n.bytesReceived)} received`,
        ],
        width,
        style,
      ),
    );
  }
  const vus = [`max ${formatCount(wf.vus.max)}`, `allocated ${formatCount(wf.vus.allocated)}`];
  lines.push(...labelled('vus', vus, width, style));
  if (diagnosis !== null) lines.push(...warning(diagnosis, width, INDENT, style.red));

  for (const section of [
    wf.steps.length > 0 ? stepsTable(wf, width, style) : [],
    errorsTable(wf, width, style),
    checksTable(wf, width, style),
    metricsTable(wf, width, style),
    thresholdsTable(wf, width, style),
  ]) {
    if (section.length === 0) continue;
    lines.push('', ...section);
  }
  return lines;
}

/**
 * A plain-words warning when the generator's own event-loop delay (results.generator) was above
 * its bound: its pauses then show up as the target's latency or as dropped iterations. Null
 * otherwise, or when the document has no such figures.
 */
export function loopDelayWarning(results: RunResults): string | null {
  const eld = results.generator?.eventLoopDelay;
  if (eld === undefined || eld.merged.p99 <= eld.warnP99Ms) return null;
  const worst = eld.threads.reduce<(typeof eld.threads)[number] | null>(
    (w, t) => (w === null || t.p99 > w.p99 ? t : w),
    null,
  );
  const where =
    eld.threads.length > 1 && worst !== null
      ? `; worst thread: worker ${worst.worker}, p99 ${formatLatency(worst.p99)}`
      : '';
  return (
    `the load generator itself was delayed: event-loop delay p99 ${formatLatency(eld.merged.p99)}, ` +
    `max ${formatLatency(eld.merged.max)} (bound ${formatLatency(eld.warnP99Ms)})${where}. ` +
    'Latencies include up to that much of its own pauses and open-model iterations may start ' +
    'late or be dropped: use more workers, fewer VUs per worker, or lighter steps.'
  );
}

function verdict(results: RunResults, style: Style): string {
  const { total, failed } = results.thresholds;
  if (total === 0) return style.dim('no thresholds defined');
  if (failed === 0)
    return style.green(
      `${PASS} all ${formatCount(total)} threshold${total === 1 ? '' : 's'} passed`,
    );
  return style.red(
    `${FAIL} ${formatCount(failed)} of ${formatCount(total)} threshold${total === 1 ? '' : 's'} failed`,
  );
}

/**
 * Renders the end-of-run summary: the run's status and duration and notes, then per workflow its
 * status (and why it failed or was skipped), iterations, totals, a plain-words diagnosis when the
 * target looks down, and tables of steps, error kinds with a sample each, checks, custom metrics
 * and thresholds; it ends with the diagnoses again and whether the thresholds passed. Every line
 * fits `width`. Returns the text with a trailing newline.
 */
export function renderSummary(results: RunResults, opts: SummaryOptions): string {
  const width = Math.max(1, Math.floor(opts.width));
  const style = createStyle(opts.color);
  const run = results.run;
  const rule = style.dim(RULE.repeat(Math.min(width, RULE_MAX_WIDTH)));
  const headline = [
    `${runIcon(run.status, style)} ${style.bold(`run ${run.status}`)} in ${formatDuration(run.durationMs)}`,
    style.cyan(sanitize(run.file)),
    `${run.workers} worker${run.workers === 1 ? '' : 's'}`,
    style.dim(sanitize(run.id)),
  ];
  const lines: string[] = [rule, ...flow(headline, width)];
  for (const note of run.notes) lines.push(...warning(sanitize(note), width, INDENT, style.yellow));
  const delayed = loopDelayWarning(results);
  if (delayed !== null) lines.push(...warning(delayed, width, INDENT, style.yellow));
  lines.push(rule);
  for (const wf of results.workflows) lines.push('', ...workflowSection(wf, width, style));

  lines.push('', rule);
  for (const wf of results.workflows) {
    const diagnosis = diagnoseWorkflow(wf);
    if (diagnosis !== null)
      lines.push(...warning(`${sanitize(wf.name)}: ${diagnosis}`, width, 0, style.red));
  }
  lines.push(verdict(results, style));
  return `${lines.map((line) => truncate(line, width)).join('\n')}\n`;
}
