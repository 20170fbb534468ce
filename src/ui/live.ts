// The live screen of `salvo run` on a TTY: a pure function from a LiveSnapshot to lines that fit
// the terminal's width and, when given, its height (dropping the least important parts first).

import {
  createStyle,
  ELLIPSIS,
  formatClock,
  formatCount,
  formatLatency,
  formatPercent,
  formatRate,
  flow,
  ratio,
  sanitize,
  table,
  truncate,
  visibleWidth,
  type Column,
  type Style,
} from './format.js';
import { plotSeries } from './plot.js';
import type { LiveSnapshot, LiveWorkflow } from './snapshot.js';

export interface LiveRenderOptions {
  /** Terminal columns; every line returned is at most this wide. Designed for 60 and more. */
  width: number;
  /** Terminal rows available; when given, at most this many lines are returned. */
  height?: number;
  color: boolean;
}

/** The narrowest terminal the layout is designed for; narrower ones get cut lines. */
export const MIN_WIDTH = 60;
const PLOT_HEIGHT = 6;
const SMALL_PLOT_HEIGHT = 3;
const INDENT = 2;
const FIELD_GAP = '   ';
const BAR_MAX_WIDTH = 40;
const BAR_MIN_WIDTH = 10;
/** Eighth blocks, for a progress bar with sub-character resolution. */
const BAR_PARTIALS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'] as const;
const BAR_FULL = '█';
const BAR_EMPTY = '░';
const EIGHTHS = 8;
const MS_PER_SECOND = 1000;

type WorkflowStatus = LiveWorkflow['status'];

const STATUS_ICON: Record<WorkflowStatus, string> = {
  waiting: '○',
  running: '▶',
  stopping: '▪',
  completed: '✓',
  interrupted: '■',
  failed: '✗',
  skipped: '–',
};

function isActive(status: WorkflowStatus): boolean {
  return status === 'running' || status === 'stopping';
}

export function statusPaint(style: Style, status: WorkflowStatus): (text: string) => string {
  switch (status) {
    case 'running':
    case 'completed':
      return style.green;
    case 'stopping':
    case 'interrupted':
      return style.yellow;
    case 'failed':
      return style.red;
    case 'waiting':
    case 'skipped':
      return style.dim;
  }
}

/** A bar `width` columns wide (brackets excluded), filled to `fraction` with 1/8-column steps. */
export function progressBar(fraction: number, width: number): string {
  const f = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
  const eighths = Math.round(f * width * EIGHTHS);
  const full = Math.floor(eighths / EIGHTHS);
  const partial = BAR_PARTIALS[eighths % EIGHTHS] ?? '';
  const filled = BAR_FULL.repeat(full) + partial;
  return filled + BAR_EMPTY.repeat(Math.max(0, width - visibleWidth(filled)));
}

function elapsedText(elapsedMs: number, plannedMs: number | null): string {
  return plannedMs === null
    ? formatClock(elapsedMs)
    : `${formatClock(elapsedMs)} / ${formatClock(plannedMs)}`;
}

function header(snapshot: LiveSnapshot, width: number, style: Style): string[] {
  const phase = sanitize(snapshot.phase);
  const phasePaint = phase.startsWith('running') ? style.green : style.yellow;
  const title = flow(
    [
      `${style.bold('salvo')} ${style.cyan(sanitize(snapshot.file))}`,
      `${snapshot.workers} worker${snapshot.workers === 1 ? '' : 's'}`,
      phasePaint(phase),
    ],
    width,
  );
  let progress: string;
  if (snapshot.plannedMs === null || snapshot.plannedMs <= 0) {
    progress = `elapsed ${formatClock(snapshot.elapsedMs)}`;
  } else {
    const fraction = Math.min(1, ratio(snapshot.elapsedMs, snapshot.plannedMs));
    const suffix = `  ${formatPercent(fraction, 0).padStart(4)}  ${elapsedText(snapshot.elapsedMs, snapshot.plannedMs)}`;
    const barWidth = Math.min(BAR_MAX_WIDTH, Math.max(BAR_MIN_WIDTH, width - suffix.length - 2));
    progress = `${style.dim('[')}${style.cyan(progressBar(fraction, barWidth))}${style.dim(']')}${suffix}`;
  }
  return [...title, truncate(progress, width)];
}

/** How much of the screen each part may take; the fitting loop degrades these step by step. */
interface Layout {
  activePlot: number;
  finishedPlot: number;
  waiting: 'full' | 'summary' | 'none';
  finished: 'full' | 'line';
  /** Step rows per table; Infinity for all. */
  maxSteps: number;
  blankLines: boolean;
}

function workflowTitle(wf: LiveWorkflow, style: Style): string[] {
  const paint = statusPaint(style, wf.status);
  let time: string;
  if (wf.status !== 'waiting') time = elapsedText(wf.elapsedMs, wf.plannedMs);
  else time = wf.plannedMs === null ? '' : `planned ${formatClock(wf.plannedMs)}`;
  return [
    `${paint(STATUS_ICON[wf.status])} ${style.bold(sanitize(wf.name))}`,
    style.dim(sanitize(wf.executor)),
    paint(wf.status),
    time,
  ];
}

function errorsField(failed: number, count: number, style: Style): string {
  const text = `errors ${formatCount(failed)} (${formatPercent(ratio(failed, count))})`;
  return failed > 0 ? style.red(text) : text;
}

function workflowLine(wf: LiveWorkflow, width: number, style: Style): string {
  const fields = [...workflowTitle(wf, style), `total ${formatCount(wf.count)}`];
  if (wf.failed > 0) fields.push(errorsField(wf.failed, wf.count, style));
  return truncate(fields.join(FIELD_GAP), width);
}

function stepTable(wf: LiveWorkflow, width: number, maxSteps: number, style: Style): string[] {
  if (wf.steps.length === 0) return [];
  const columns: Column[] = [
    { header: 'step', align: 'left', minWidth: 6 },
    { header: 'count', align: 'right' },
    { header: 'ok', align: 'right' },
    { header: 'errors', align: 'right' },
    { header: 'p50', align: 'right' },
    { header: 'p99', align: 'right' },
  ];
  const shown = wf.steps.slice(0, maxSteps);
  const rowsWith = (compact: boolean): string[][] =>
    shown.map((step) => [
      sanitize(step.name),
      formatCount(step.count, { compact }),
      formatCount(step.ok, { compact }),
      step.failed > 0 ? style.red(formatCount(step.failed, { compact })) : '0',
      formatLatency(step.p50Ms),
      formatLatency(step.p99Ms),
    ]);
  const options = { width, indent: INDENT, headerStyle: style.dim };
  let lines = table(rowsWith(false), columns, options);
  // Huge counts squeeze the step names: switch to compact counts ("1.2M") when names get cut.
  if (lines.some((line) => line.includes(ELLIPSIS)))
    lines = table(rowsWith(true), columns, options);
  const hidden = wf.steps.length - shown.length;
  if (hidden > 0) {
    lines.push(style.dim(`${' '.repeat(INDENT)}… ${hidden} more step${hidden === 1 ? '' : 's'}`));
  }
  return lines;
}

function workflowBlock(wf: LiveWorkflow, width: number, layout: Layout, style: Style): string[] {
  const active = isActive(wf.status);
  if (!active && layout.finished === 'line') return [workflowLine(wf, width, style)];
  const lines = flow(workflowTitle(wf, style), width);
  const stats = [
    `vus ${formatCount(wf.activeVus)} (${formatCount(wf.allocatedVus)} allocated)`,
    active
      ? `now ${style.bold(formatRate(wf.rpsNow))}`
      : `avg ${formatRate(ratio(wf.count, wf.elapsedMs / MS_PER_SECOND))}`,
    `total ${formatCount(wf.count)}`,
    `ok ${formatCount(wf.ok)}`,
    errorsField(wf.failed, wf.count, style),
    wf.dropped > 0 ? style.yellow(`dropped ${formatCount(wf.dropped)}`) : '',
  ];
  lines.push(...flow(stats, width, INDENT));
  const plotHeight = active ? layout.activePlot : layout.finishedPlot;
  if (plotHeight > 0) {
    const plot = plotSeries(wf.rpsSeries, width - INDENT, plotHeight);
    lines.push(...plot.map((line) => ' '.repeat(INDENT) + style.cyan(line)));
  }
  lines.push(...stepTable(wf, width, layout.maxSteps, style));
  return lines;
}

function compose(snapshot: LiveSnapshot, width: number, layout: Layout, style: Style): string[] {
  const lines = header(snapshot, width, style);
  const waiting = snapshot.workflows.filter((wf) => wf.status === 'waiting');
  for (const wf of snapshot.workflows) {
    if (wf.status === 'waiting') continue;
    const block = workflowBlock(wf, width, layout, style);
    if (layout.blankLines && (isActive(wf.status) || layout.finished === 'full')) lines.push('');
    lines.push(...block);
  }
  if (waiting.length > 0 && layout.waiting !== 'none') {
    if (layout.blankLines) lines.push('');
    if (layout.waiting === 'full') {
      for (const wf of waiting) {
        const fields = workflowTitle(wf, style).filter((field) => field !== '');
        lines.push(truncate(fields.join(FIELD_GAP), width));
      }
    } else {
      const names = waiting.map((wf) => sanitize(wf.name)).join(', ');
      lines.push(
        truncate(style.dim(`${STATUS_ICON.waiting} ${waiting.length} waiting: ${names}`), width),
      );
    }
  }
  return lines;
}

/** Layouts from richest to barest, in the order parts are given up (see renderLive). */
function degradations(maxSteps: number): Layout[] {
  const full: Layout = {
    activePlot: PLOT_HEIGHT,
    finishedPlot: PLOT_HEIGHT,
    waiting: 'full',
    finished: 'full',
    maxSteps: Infinity,
    blankLines: true,
  };
  const steps: Layout[] = [
    full,
    { ...full, finishedPlot: 0 },
    { ...full, finishedPlot: 0, activePlot: SMALL_PLOT_HEIGHT },
    { ...full, finishedPlot: 0, activePlot: 0 },
  ];
  const noPlots = steps[steps.length - 1] ?? full;
  steps.push({ ...noPlots, waiting: 'summary' });
  steps.push({ ...noPlots, waiting: 'none' });
  steps.push({ ...noPlots, waiting: 'none', finished: 'line' });
  steps.push({ ...noPlots, waiting: 'none', finished: 'line', blankLines: false });
  for (let n = maxSteps - 1; n >= 1; n--) {
    steps.push({ ...noPlots, waiting: 'none', finished: 'line', blankLines: false, maxSteps: n });
  }
  return steps;
}

/**
 * Renders the live screen: a header (file, workers, phase, a progress bar against the planned
 * duration or the elapsed time alone), then per running or finished workflow its status, VUs,
 * rate, totals, an actions-per-second plot and a step table; waiting workflows last, one line
 * each. Every line fits `width`. With `height`, parts are given up in this order until the screen
 * fits: plots of finished workflows, then the running ones' plots (first halved), the waiting
 * list (first to one line), finished workflows' detail, blank lines, step rows; as a last resort
 * the screen is cut and its last line says so.
 */
export function renderLive(snapshot: LiveSnapshot, opts: LiveRenderOptions): string[] {
  const width = Math.max(1, Math.floor(opts.width));
  const style = createStyle(opts.color);
  const maxSteps = snapshot.workflows.reduce((m, wf) => Math.max(m, wf.steps.length), 0);
  const height = opts.height === undefined ? undefined : Math.max(1, Math.floor(opts.height));
  let lines: string[] = [];
  for (const layout of height === undefined
    ? degradations(0).slice(0, 1)
    : degradations(maxSteps)) {
    lines = compose(snapshot, width, layout, style);
    if (height === undefined || lines.length <= height) return lines;
  }
  if (height !== undefined && lines.length > height) {
    const hidden = lines.length - height + 1;
    lines = [
      ...lines.slice(0, height - 1),
      style.dim(truncate(`… ${hidden} more lines (enlarge the terminal)`, width)),
    ];
  }
  return lines;
}
