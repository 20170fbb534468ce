// Tests for src/ui/plot.ts: the braille plot's dimensions, where a spike lands, max-per-column
// aggregation, and the empty and all-zero series.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { visibleWidth } from '../../src/ui/format.js';
import { aggregateMax, plotSeries } from '../../src/ui/plot.js';

const BRAILLE_BLANK = 0x2800;

/** The plot area of a line: what sits between the axis "┤"/"│" and the right-hand label. */
function plotArea(line: string): string {
  const afterAxis = line.replace(/^[^┤│]*[┤│]/, '');
  return afterAxis;
}

/** Columns (within the plot area) whose character has any dot lit, on any line. */
function litColumns(lines: readonly string[]): Set<number> {
  const lit = new Set<number>();
  for (const line of lines) {
    [...plotArea(line)].forEach((char, i) => {
      const code = char.codePointAt(0) ?? 0;
      if (code > BRAILLE_BLANK && code <= BRAILLE_BLANK + 0xff) lit.add(i);
    });
  }
  return lit;
}

void describe('plotSeries', () => {
  void it('returns exactly height lines of exactly width columns', () => {
    const values = Array.from({ length: 300 }, (_, i) => 100 + (i % 17) * 10);
    for (const [width, height] of [
      [40, 6],
      [78, 6],
      [118, 3],
      [12, 1],
      [5, 2],
    ] as const) {
      const lines = plotSeries(values, width, height);
      assert.equal(lines.length, height);
      for (const line of lines) assert.equal(visibleWidth(line), width, JSON.stringify(line));
    }
  });

  void it('returns nothing for a zero-sized plot', () => {
    assert.deepEqual(plotSeries([1, 2, 3], 0, 6), []);
    assert.deepEqual(plotSeries([1, 2, 3], 40, 0), []);
  });

  void it('labels the max at the top, 0 at the bottom and the latest value on the right', () => {
    const lines = plotSeries([10, 20, 4210, 4300, 4210], 40, 6);
    assert.match(lines[0] ?? '', /^4,300 ┤/);
    assert.match(lines[5] ?? '', /^ {4}0 ┤/);
    // 4,210 of 4,300 reaches the top row, so the latest label sits there.
    assert.match(lines[0] ?? '', / 4,210 *$/);
  });

  void it('draws a spike in the column that covers its time (max aggregation keeps it)', () => {
    const values = new Array<number>(1000).fill(10);
    values[750] = 5000; // three quarters of the way through
    const lines = plotSeries(values, 50, 6);
    const top = plotArea(lines[0] ?? '');
    const topLit = [...top].flatMap((char, i) =>
      char !== ' ' && /[\u2801-\u28ff]/.test(char) ? [i] : [],
    );
    assert.equal(
      topLit.length,
      1,
      `only the spike reaches the top row: ${JSON.stringify(lines[0])}`,
    );
    const plotColumns = [...top].length - ' 10'.length;
    const expected = Math.floor((750 / 1000) * plotColumns);
    assert.ok(
      Math.abs((topLit[0] ?? -1) - expected) <= 1,
      `spike at ${topLit[0]}, expected ~${expected}`,
    );
  });

  void it('stretches a short series over the whole width', () => {
    const lines = plotSeries([5, 5, 5], 30, 2);
    const lit = litColumns(lines);
    const areaWidth = [...plotArea(lines[1] ?? '')].length;
    assert.ok(lit.size >= areaWidth - 3, `lit ${lit.size} of ${areaWidth}`);
  });

  void it('renders an empty series as "no data yet"', () => {
    const lines = plotSeries([], 40, 4);
    assert.equal(lines.length, 4);
    assert.ok(lines[3]?.includes('no data yet'));
    assert.equal(litColumns(lines).size, 0);
  });

  void it('renders an all-zero series as a flat baseline with no max label', () => {
    const lines = plotSeries([0, 0, 0, 0], 40, 4);
    assert.ok(!/\d/.test(lines[0] ?? ''), 'no max label');
    assert.match(lines[3] ?? '', /^0 ┤⣀+ 0 *$/);
  });

  void it('treats negative and non-finite points as zero', () => {
    const lines = plotSeries([Number.NaN, -5, Number.POSITIVE_INFINITY, 8], 30, 2);
    assert.match(lines[0] ?? '', /^8 ┤/);
  });
});

void describe('aggregateMax', () => {
  void it('takes the max of each bucket when there are more points than columns', () => {
    assert.deepEqual(aggregateMax([1, 9, 2, 3, 7, 4], 3), [9, 3, 7]);
  });

  void it('repeats points when there are fewer points than columns', () => {
    assert.deepEqual(aggregateMax([1, 2], 4), [1, 1, 2, 2]);
    assert.deepEqual(aggregateMax([], 4), []);
  });
});
