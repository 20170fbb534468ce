// Tests for src/ui/progress.ts: the plain progress line for CI logs sums the run and has no ANSI.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderProgressLine } from '../../src/ui/progress.js';
import { liveSnapshot, liveStep, liveWorkflow } from './fixtures.js';

void describe('renderProgressLine', () => {
  void it('sums a single running workflow', () => {
    const line = renderProgressLine(
      liveSnapshot({
        workflows: [
          liveWorkflow('checkout', {
            failed: 0,
            ok: 50_511,
            steps: [liveStep('a', { p99Ms: 3.1 }), liveStep('b', { p99Ms: 1.2 })],
          }),
        ],
      }),
    );
    assert.equal(
      line,
      '[00:12 / 00:30] running  vus 10  4,210 req/s  total 50,511  errors 0 (0.00%)  p99 3.10ms',
    );
  });

  void it('adds up several workflows and reports dropped iterations and the worst p99', () => {
    const line = renderProgressLine(
      liveSnapshot({
        plannedMs: null,
        elapsedMs: 3_723_000,
        phase: 'stopping: waiting for\nin-flight requests',
        workflows: [
          liveWorkflow('a', { activeVus: 5, rpsNow: 100, count: 1000, failed: 10, dropped: 7 }),
          liveWorkflow('b', {
            status: 'stopping',
            activeVus: 3,
            rpsNow: 50,
            count: 500,
            failed: 0,
            steps: [liveStep('slow', { p99Ms: 1240 })],
          }),
          liveWorkflow('c', {
            status: 'completed',
            activeVus: 99,
            rpsNow: 999,
            count: 2000,
            failed: 5,
          }),
          liveWorkflow('d', { status: 'waiting', count: 0, failed: 0, steps: [] }),
        ],
      }),
    );
    assert.equal(
      line,
      '[1:02:03] stopping: waiting for in-flight requests  workflows 2 running, 1 done, 1 waiting  ' +
        'vus 8  150 req/s  total 3,500  errors 15 (0.43%)  dropped 7  p99 1.24s',
    );
  });

  void it("p99 is not a finished workflow's single slow request, nor a step with a handful of samples", () => {
    const line = renderProgressLine(
      liveSnapshot({
        workflows: [
          liveWorkflow('login', {
            status: 'completed',
            steps: [liveStep('sign-in', { count: 1, p99Ms: 900 })],
          }),
          liveWorkflow('shop', {
            steps: [
              liveStep('home', { count: 5000, p99Ms: 3 }),
              liveStep('rare', { count: 4, p99Ms: 400 }),
            ],
          }),
        ],
      }),
    );
    assert.match(line, /p99 3\.00ms$/);
    const done = renderProgressLine(
      liveSnapshot({
        workflows: [
          liveWorkflow('login', {
            status: 'completed',
            steps: [liveStep('sign-in', { count: 1, p99Ms: 900 })],
          }),
        ],
      }),
    );
    assert.match(done, /p99 900\.00ms$|p99 900ms$/);
  });

  void it('handles a run with nothing measured yet', () => {
    const line = renderProgressLine(
      liveSnapshot({ elapsedMs: 0, phase: 'starting', workflows: [] }),
    );
    assert.equal(
      line,
      '[00:00 / 00:30] starting  vus 0  0 req/s  total 0  errors 0 (0.00%)  p99 —',
    );
  });

  void it('never contains ANSI escapes or newlines', () => {
    const line = renderProgressLine(
      liveSnapshot({
        file: '\u001b[31mred.ts',
        phase: 'running\u001b[2J\n',
        workflows: [liveWorkflow('x\u001b[1m')],
      }),
    );
    assert.ok(!line.includes('\u001b'));
    assert.ok(!line.includes('\n'));
  });
});
