// A compact area plot of a series (actions per second over a run) drawn with Unicode braille:
// each character cell holds 2×4 dots, so a plot `c` columns wide shows 2·c points.
//
// Aggregation: when there are more points than dot columns, each dot column shows the MAX of the
// points it covers. Max keeps short spikes visible (a mean would flatten a one-second spike in a
// long run) and makes the tallest bar equal the max printed on the y-axis. When there are fewer
// points than dot columns, points are stretched over the width so the plot always fills it.

import { formatCompact, visibleWidth } from './format.js';

const BRAILLE_BASE = 0x2800;
const DOTS_PER_CELL_ROW = 4;
const DOTS_PER_CELL_COLUMN = 2;
/** Braille dot bits of the left and right dot columns, from the bottom dot up. */
const LEFT_DOTS_FROM_BOTTOM = [0x40, 0x04, 0x02, 0x01] as const;
const RIGHT_DOTS_FROM_BOTTOM = [0x80, 0x20, 0x10, 0x08] as const;
const AXIS_TICK = '┤';
const AXIS_LINE = '│';
/** Below this many plot columns the axis labels are dropped to leave room for the data. */
const MIN_PLOT_COLUMNS = 8;
const EMPTY_MESSAGE = 'no data yet';

function clean(value: number): number {
  return Number.isFinite(value) && value > 0 ? value : 0;
}

/** One value per dot column: the max of the points each column covers (see the header). */
export function aggregateMax(values: readonly number[], columns: number): number[] {
  const n = values.length;
  const out: number[] = [];
  if (n === 0 || columns <= 0) return out;
  for (let c = 0; c < columns; c++) {
    const start = Math.floor((c * n) / columns);
    const end = Math.max(start + 1, Math.floor(((c + 1) * n) / columns));
    let max = 0;
    for (let i = start; i < end && i < n; i++) max = Math.max(max, clean(values[i] ?? 0));
    out.push(max);
  }
  return out;
}

/** Dots lit in the cell row `rowFromBottom` for a bar `dots` high (0..4). */
function dotsInRow(dots: number, rowFromBottom: number): number {
  return Math.min(DOTS_PER_CELL_ROW, Math.max(0, dots - rowFromBottom * DOTS_PER_CELL_ROW));
}

function cellBits(fromBottom: readonly number[], lit: number): number {
  let bits = 0;
  for (let i = 0; i < lit; i++) bits |= fromBottom[i] ?? 0;
  return bits;
}

/**
 * Plots `values` (e.g. actions per second, one point per second) in exactly `height` lines of
 * exactly `width` columns: a y-axis on the left labelled with the max (top) and 0 (bottom), the
 * braille area plot, and the latest value on the right at the height where the plot ends.
 * An empty series shows "no data yet"; an all-zero series shows a flat baseline.
 */
export function plotSeries(values: readonly number[], width: number, height: number): string[] {
  const w = Math.floor(width);
  const h = Math.floor(height);
  if (w <= 0 || h <= 0) return [];
  const max = values.reduce((m, v) => Math.max(m, clean(v)), 0);
  const latest = values.length > 0 ? clean(values[values.length - 1] ?? 0) : 0;

  const topLabel = max > 0 ? formatCompact(max) : '';
  const bottomLabel = '0';
  const gutter = Math.max(topLabel.length, bottomLabel.length);
  const latestLabel = values.length > 0 ? ` ${formatCompact(latest)}` : '';
  let leftWidth = gutter + 2; // label, space, axis character
  let rightWidth = latestLabel.length;
  if (w - leftWidth - rightWidth < MIN_PLOT_COLUMNS) rightWidth = 0;
  if (w - leftWidth - rightWidth < MIN_PLOT_COLUMNS) leftWidth = 0;
  const plotColumns = w - leftWidth - rightWidth;

  const totalDots = h * DOTS_PER_CELL_ROW;
  const dotColumns = plotColumns * DOTS_PER_CELL_COLUMN;
  const bars = aggregateMax(values, dotColumns).map((v) => {
    if (max === 0) return 1; // all zero: a flat baseline
    if (v === 0) return 0;
    return Math.max(1, Math.round((v / max) * totalDots));
  });
  const latestDots =
    max === 0 || latest === 0 ? 1 : Math.max(1, Math.round((latest / max) * totalDots));
  const latestRow = h - 1 - Math.floor((latestDots - 1) / DOTS_PER_CELL_ROW);

  const lines: string[] = [];
  for (let row = 0; row < h; row++) {
    const rowFromBottom = h - 1 - row;
    let cells = '';
    if (values.length === 0) {
      cells =
        row === h - 1
          ? EMPTY_MESSAGE.slice(0, plotColumns).padEnd(plotColumns)
          : ' '.repeat(plotColumns);
    } else {
      for (let c = 0; c < plotColumns; c++) {
        const left = dotsInRow(bars[c * DOTS_PER_CELL_COLUMN] ?? 0, rowFromBottom);
        const right = dotsInRow(bars[c * DOTS_PER_CELL_COLUMN + 1] ?? 0, rowFromBottom);
        const bits =
          cellBits(LEFT_DOTS_FROM_BOTTOM, left) | cellBits(RIGHT_DOTS_FROM_BOTTOM, right);
        cells += bits === 0 ? ' ' : String.fromCodePoint(BRAILLE_BASE + bits);
      }
    }
    let axis = '';
    if (leftWidth > 0) {
      const isTop = row === 0 && topLabel !== '';
      const isBottom = row === h - 1;
      const label = isTop ? topLabel : isBottom ? bottomLabel : '';
      axis = `${label.padStart(gutter)} ${isTop || isBottom ? AXIS_TICK : AXIS_LINE}`;
    }
    const right = rightWidth > 0 ? (row === latestRow ? latestLabel : '').padEnd(rightWidth) : '';
    const line = axis + cells + right;
    lines.push(line + ' '.repeat(Math.max(0, w - visibleWidth(line))));
  }
  return lines;
}
