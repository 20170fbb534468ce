// Tests for src/ui/live.ts: the live screen shows the expected rows, fits 60/80/120 columns
// (with many steps and long names too), and gives up parts in order when the height is limited.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stripAnsi, visibleWidth } from '../../src/ui/format.js';
import { flow } from '../../src/ui/format.js';
import { progressBar, renderLive } from '../../src/ui/live.js';
import { liveSnapshot, liveStep, liveWorkflow } from './fixtures.js';

const WIDTHS = [60, 80, 120] as const;

function assertFits(lines: readonly string[], width: number): void {
  lines.forEach((line, i) => {
    assert.ok(
      visibleWidth(line) <= width,
      `line ${i} is ${visibleWidth(line)} > ${width}: ${JSON.stringify(line)}`,
    );
    assert.ok(!line.includes('\n'), `line ${i} has a newline`);
  });
}

function plain(lines: readonly string[]): string {
  return lines.map(stripAnsi).join('\n');
}

void describe('renderLive', () => {
  void it('shows the header, the workflow, its totals, plot and step table', () => {
    const text = plain(renderLive(liveSnapshot(), { width: 100, color: false }));
    assert.match(text, /^salvo examples\/shop\.ts {3}8 workers {3}running$/m);
    assert.match(text, /\[█+[▏▎▍▌▋▊▉]?░+\] +40% {2}00:12 \/ 00:30/);
    assert.match(text, /▶ checkout {3}constant-vus {3}running {3}00:12 \/ 00:30/);
    assert.match(text, /vus 10 \(20 allocated\)/);
    assert.match(text, /now 4,210\/s/);
    assert.match(text, /total 50,511 {3}ok 50,500 {3}errors 11 \(0\.02%\)/);
    assert.doesNotMatch(text, /dropped/, 'no dropped field when nothing was dropped');
    assert.match(text, /4,300 ┤/, 'the plot with its max label');
    assert.match(text, /step +count +ok +errors +p50 +p99/);
    assert.match(text, /login +12,345 +12,340 +5 +0\.84ms +12\.3ms/);
    assert.match(text, /browse catalog +12,345 +12,345 +0 +0\.84ms +12\.3ms/);
    assert.match(text, /○ admin {3}per-vu-iterations {3}waiting {3}planned 00:30/);
  });

  void it('shows elapsed time alone when the planned duration is unknown', () => {
    const snapshot = liveSnapshot({ plannedMs: null, elapsedMs: 75_000 });
    const text = plain(renderLive(snapshot, { width: 80, color: false }));
    assert.match(text, /^elapsed 01:15$/m);
    assert.doesNotMatch(text, /[█░]/, 'no progress bar');
  });

  void it('shows dropped iterations only when there are some', () => {
    const snapshot = liveSnapshot({
      workflows: [liveWorkflow('open', { dropped: 42, executor: 'constant-arrival-rate' })],
    });
    assert.match(plain(renderLive(snapshot, { width: 120, color: false })), /dropped 42/);
  });

  void it('fits 60, 80 and 120 columns with several workflows', () => {
    const snapshot = liveSnapshot({
      phase: 'stopping: waiting for in-flight requests (2s grace)',
      workflows: [
        liveWorkflow('checkout'),
        liveWorkflow('warmup', { status: 'completed', dropped: 3 }),
        liveWorkflow('spiky', { status: 'stopping', rpsSeries: [1, 50_000, 2, 1_234_567] }),
        liveWorkflow('admin', { status: 'waiting', steps: [], rpsSeries: [] }),
      ],
    });
    for (const width of WIDTHS) {
      for (const color of [false, true]) {
        const lines = renderLive(snapshot, { width, color });
        assertFits(lines, width);
        const text = plain(lines);
        for (const name of ['checkout', 'warmup', 'spiky', 'admin'])
          assert.ok(text.includes(name), `${name} at ${width}`);
      }
    }
  });

  void it('fits the width with many steps, long names and huge numbers', () => {
    const steps = Array.from({ length: 40 }, (_, i) =>
      liveStep(`s${i} GET /api/v2/catalog/items/{id}?include=reviews,related`, {
        count: 123_456_789 * (i + 1),
        ok: 123_456_000 * (i + 1),
        failed: 789 * (i + 1),
        p50Ms: i === 0 ? null : 0.5 * i,
        p99Ms: i === 0 ? null : 1500 * i,
      }),
    );
    const snapshot = liveSnapshot({
      file: '/home/someone/projects/a-very-long-directory-name/and-a-long-workflow-file-name.ts',
      workflows: [
        liveWorkflow('a workflow with a name longer than the narrowest terminal we support', {
          steps,
        }),
      ],
    });
    for (const width of WIDTHS) {
      const lines = renderLive(snapshot, { width, color: true });
      assertFits(lines, width);
      const text = plain(lines);
      assert.ok(text.includes('s39 GET'), `all steps shown without a height at ${width}`);
      assert.ok(text.includes('—'), 'a step without samples shows a dash');
    }
  });

  void it('keeps names from breaking the layout', () => {
    const snapshot = liveSnapshot({
      workflows: [liveWorkflow('evil\nname\u001b[2J', { steps: [liveStep('two\nlines')] })],
    });
    const lines = renderLive(snapshot, { width: 80, color: false });
    const text = lines.join('\n');
    assert.ok(!text.includes('\u001b'), 'no escape sequences from names when colour is off');
    assert.ok(text.includes('evil name'));
    assert.ok(text.includes('two lines'));
  });

  void it('uses colour only when asked', () => {
    const snapshot = liveSnapshot();
    assert.ok(!renderLive(snapshot, { width: 80, color: false }).join('').includes('\u001b['));
    assert.ok(renderLive(snapshot, { width: 80, color: true }).join('').includes('\u001b['));
  });

  void it('drops the plot first, then waiting workflows, to fit the height', () => {
    const snapshot = liveSnapshot({
      workflows: [
        liveWorkflow('checkout'),
        liveWorkflow('admin', { status: 'waiting', steps: [], rpsSeries: [] }),
        liveWorkflow('reports', { status: 'waiting', steps: [], rpsSeries: [] }),
      ],
    });
    const full = renderLive(snapshot, { width: 80, color: false });
    assert.ok(plain(full).includes('┤'));

    const smallPlot = renderLive(snapshot, { width: 80, height: full.length - 3, color: false });
    assert.ok(smallPlot.length <= full.length - 3);
    assert.ok(plain(smallPlot).includes('┤'), 'the plot is halved first');
    assert.ok(plain(smallPlot).includes('○ admin'));

    const noPlot = renderLive(snapshot, { width: 80, height: full.length - 4, color: false });
    assert.ok(!plain(noPlot).includes('┤'), 'then the plot is dropped');
    assert.ok(
      plain(noPlot).includes('○ admin'),
      'waiting workflows kept while the plot is dropped',
    );
    assert.ok(plain(noPlot).includes('login'), 'step table kept');

    const withoutPlotLines =
      renderLive(snapshot, { width: 80, height: 100, color: false }).length - 6;
    const summaryOnly = renderLive(snapshot, {
      width: 80,
      height: withoutPlotLines - 1,
      color: false,
    });
    assert.match(plain(summaryOnly), /○ 2 waiting: admin, reports/);
    assert.ok(plain(summaryOnly).includes('checkout') && plain(summaryOnly).includes('login'));
  });

  void it('caps step rows and finally cuts the screen when the height is tiny', () => {
    const steps = Array.from({ length: 30 }, (_, i) => liveStep(`step-${i}`));
    const snapshot = liveSnapshot({ workflows: [liveWorkflow('checkout', { steps })] });
    const capped = renderLive(snapshot, { width: 80, height: 15, color: false });
    assert.ok(capped.length <= 15);
    assert.match(plain(capped), /… \d+ more steps/);
    assert.ok(plain(capped).includes('step-0'));

    const tiny = renderLive(snapshot, { width: 80, height: 3, color: false });
    assert.equal(tiny.length, 3);
    assert.match(stripAnsi(tiny[2] ?? ''), /more lines/);
  });

  void it('renders a snapshot with no workflows', () => {
    const lines = renderLive(liveSnapshot({ workflows: [], phase: 'starting workers' }), {
      width: 60,
      color: false,
    });
    assert.equal(lines.length, 2);
    assertFits(lines, 60);
  });
});

void describe('progressBar and flow', () => {
  void it('fills a bar with eighth-block resolution', () => {
    assert.equal(progressBar(0, 4), '░░░░');
    assert.equal(progressBar(1, 4), '████');
    assert.equal(progressBar(0.5, 4), '██░░');
    assert.equal(progressBar(1 / 16, 4), '▎░░░');
    assert.equal(progressBar(2, 4), '████');
    assert.equal(progressBar(Number.NaN, 3), '░░░');
  });

  void it('flows fields within the width', () => {
    for (const line of flow(['alpha', 'beta', 'gamma', 'delta'], 14, 2))
      assert.ok(visibleWidth(line) <= 14);
  });
});
