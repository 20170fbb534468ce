// Tests for src/ui/summary.ts: the end-of-run summary for passing and failing runs, checks,
// errors, skipped and failed workflows, and the plain-words diagnosis of an unreachable target.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RunResults, WorkflowResult } from '../../src/stats/types.js';
import { stripAnsi, visibleWidth } from '../../src/ui/format.js';
import {
  diagnoseWorkflow,
  errorKinds,
  formatThresholdActual,
  renderSummary,
} from '../../src/ui/summary.js';
import { runResults, stepResult, workflowResult } from './fixtures.js';

const WIDTHS = [60, 80, 120] as const;

function render(results: RunResults, width = 120): string {
  return stripAnsi(renderSummary(results, { width, color: false }));
}

function assertFits(text: string, width: number): void {
  for (const line of text.split('\n'))
    assert.ok(visibleWidth(line) <= width, `${visibleWidth(line)} > ${width}: ${line}`);
}

const unreachable = (name: string): WorkflowResult =>
  workflowResult(name, {
    iterations: { started: 1234, completed: 0, failed: 1234, dropped: 0 },
    totals: { count: 1234, ok: 0, failed: 1234, rps: 41.1 },
    steps: [
      stepResult('GET /health', {
        count: 1234,
        ok: 0,
        failed: 1234,
        errors: { connect_refused: 1234 },
        errorSamples: { connect_refused: 'connect ECONNREFUSED 127.0.0.1:8080' },
        statuses: {},
      }),
    ],
    checks: [],
    metrics: [],
    thresholds: [{ target: '*', expression: 'errors < 1%', actual: 100, unit: '%', passed: false }],
  });

void describe('renderSummary', () => {
  void it('summarises a passing run', () => {
    const text = render(runResults());
    assert.match(text, /✓ run completed in 31s {3}examples\/shop\.ts {3}8 workers {3}run-1/);
    assert.match(text, /✓ shopper {3}constant-vus {3}completed {3}30s/);
    assert.match(text, /iterations {2}10,000 started {3}9,995 completed {3}5 failed {3}0 dropped/);
    assert.match(text, /steps {7}60,000 total {3}59,980 ok {3}20 failed \(0\.03%\) {3}2,000\/s/);
    assert.match(text, /step +count +ok +failed +rps +p50 +p90 +p95 +p99 +max/);
    assert.match(
      text,
      /login +30,000 +29,990 +10 +1,000\/s +2\.10ms +4\.20ms +6\.30ms +10\.5ms +21\.0ms/,
    );
    // errors: kind, count, share of failures, one sample (from the first step that had it)
    assert.match(
      text,
      /status_503 +20 +100\.0% +login: HTTP 503 Service Unavailable from GET \/api\/cart/,
    );
    assert.match(text, /✗ login › status is 200 +9,995 +5 +99\.95%/);
    assert.match(text, /✓ add to cart › cart has item +10,000 +0 +100\.00%/);
    assert.match(text, /orders +counter +1,234 +41\/s/);
    assert.match(text, /queue_depth +gauge +3 +min 0 {2}max 17/);
    assert.match(text, /cache_hit +rate +87\.30% +873 of 1,000/);
    assert.match(text, /render_ms +trend +avg 5\.04 +p50 4\.20/);
    assert.match(text, /✓ login +p\(95\) < 200ms +→ 6\.30ms/);
    assert.match(text, /✓ \* +errors < 1% +→ 0\.03%/);
    assert.match(text, /✓ all 2 thresholds passed\n$/);
    assert.doesNotMatch(text, /unreachable|failing\?/);
  });

  void it('shows failing thresholds and ends saying so', () => {
    const results = runResults({
      run: { ...runResults().run, exitCode: 3 },
      thresholds: { total: 3, passed: 2, failed: 1 },
      workflows: [
        workflowResult('shopper', {
          thresholds: [
            ...workflowResult('x').thresholds,
            {
              target: 'add to cart',
              expression: 'p(99) < 5ms',
              actual: 10.5,
              unit: 'ms',
              passed: false,
            },
          ],
        }),
      ],
    });
    const text = render(results);
    assert.match(text, /✗ shopper/);
    assert.match(text, /✗ add to cart +p\(99\) < 5ms +→ 10\.5ms/);
    assert.match(text, /✗ 1 of 3 thresholds failed\n$/);
  });

  void it('says when no thresholds were defined, and formats every threshold unit', () => {
    const text = render(
      runResults({
        thresholds: { total: 0, passed: 0, failed: 0 },
        workflows: [workflowResult('w', { thresholds: [] })],
      }),
    );
    assert.match(text, /no thresholds defined\n$/);
    const t = { target: '*', expression: 'x', passed: true };
    assert.equal(formatThresholdActual({ ...t, actual: null, unit: 'ms' }), 'no data');
    assert.equal(formatThresholdActual({ ...t, actual: 1240, unit: 'ms' }), '1.24s');
    assert.equal(formatThresholdActual({ ...t, actual: 2.5, unit: '%' }), '2.50%');
    assert.equal(formatThresholdActual({ ...t, actual: 1234, unit: '/s' }), '1,234/s');
    assert.equal(formatThresholdActual({ ...t, actual: 7, unit: '' }), '7');
  });

  void it('shows a skipped workflow with its reason and nothing else', () => {
    const skipped = workflowResult('admin', {
      status: 'skipped',
      error: 'setup() failed: login returned 401',
      durationMs: 0,
      iterations: { started: 0, completed: 0, failed: 0, dropped: 0 },
      totals: { count: 0, ok: 0, failed: 0, rps: 0 },
      steps: [],
      checks: [],
      metrics: [],
      thresholds: [],
    });
    const text = render(runResults({ workflows: [workflowResult('shopper'), skipped] }));
    assert.match(
      text,
      /– admin {3}constant-vus {3}skipped\n {2}setup\(\) failed: login returned 401\n/,
    );
    const adminPart = text.slice(text.indexOf('– admin'));
    assert.doesNotMatch(adminPart.split('\n\n')[0] ?? '', /iterations/);
  });

  void it('shows a failed workflow with its error and the stats it has', () => {
    const failed = workflowResult('api', {
      status: 'failed',
      error: 'teardown() timed out after 30s',
    });
    const text = render(
      runResults({
        run: { ...runResults().run, status: 'failed', exitCode: 4 },
        workflows: [failed],
      }),
    );
    assert.match(text, /✗ run failed in 31s/);
    assert.match(
      text,
      /✗ api {3}constant-vus {3}failed {3}30s\n {2}teardown\(\) timed out after 30s/,
    );
    assert.match(text, /iterations/);
  });

  void it('says plainly when every request failed to reach the target', () => {
    const results = runResults({
      run: { ...runResults().run, notes: ['no request succeeded'] },
      thresholds: { total: 1, passed: 0, failed: 1 },
      workflows: [unreachable('api')],
    });
    const text = render(results);
    assert.match(text, /! no request succeeded/);
    assert.match(text, /✗ api/);
    assert.match(text, /! all 1,234 requests failed: connect_refused \(target unreachable\?\)/);
    assert.match(
      text,
      /connect_refused +1,234 +100\.0% +GET \/health: connect ECONNREFUSED 127\.0\.0\.1:8080/,
    );
    // repeated next to the verdict, where a CI log reader looks
    assert.match(
      text,
      /! api: all 1,234 requests failed: connect_refused \(target unreachable\?\)\n✗ 1 of 1 threshold failed\n$/,
    );
  });

  void it('fits 60, 80 and 120 columns, wrapping long warnings instead of cutting them', () => {
    const results = runResults({
      run: {
        ...runResults().run,
        notes: ['a note that is long enough to need wrapping on a narrow terminal, surely'],
      },
      workflows: [workflowResult('shopper'), unreachable('api')],
    });
    for (const width of WIDTHS) {
      for (const color of [false, true]) {
        const text = renderSummary(results, { width, color });
        assertFits(text, width);
        const flat = stripAnsi(text).replace(/\s+/g, ' ');
        assert.ok(
          flat.includes('all 1,234 requests failed: connect_refused (target unreachable?)'),
          `at ${width}`,
        );
        assert.ok(flat.includes('surely'), `the note is wrapped, not cut, at ${width}`);
      }
    }
  });

  void it('uses colour only when asked', () => {
    assert.ok(!renderSummary(runResults(), { width: 80, color: false }).includes('\u001b['));
    assert.ok(renderSummary(runResults(), { width: 80, color: true }).includes('\u001b['));
  });
});

void describe('diagnoseWorkflow', () => {
  const base = (errors: Record<string, number>, count = 1000): WorkflowResult => {
    const failed = Object.values(errors).reduce((a, b) => a + b, 0);
    return workflowResult('w', {
      totals: { count, ok: count - failed, failed, rps: 10 },
      steps: [stepResult('s', { count, ok: count - failed, failed, errors, errorSamples: {} })],
    });
  };

  void it('is quiet when the target mostly works', () => {
    assert.equal(diagnoseWorkflow(base({ status_503: 10, connect_refused: 5 })), null);
  });

  void it('names the dominant kind when all requests failed', () => {
    assert.equal(
      diagnoseWorkflow(base({ timeout: 600, status_503: 400 })),
      'all 1,000 requests failed: timeout (and 1 other kind) (target unreachable or too slow?)',
    );
    assert.equal(
      diagnoseWorkflow(base({ 'check:body': 1000 })),
      'all 1,000 requests failed: check:body',
    );
  });

  void it('flags network failures dominating even when some requests succeed', () => {
    assert.equal(
      diagnoseWorkflow(base({ dns: 300, connect_refused: 300 })),
      '60.0% of requests never got a response: connect_refused 300, dns 300 (target unreachable or overloaded?)',
    );
    assert.equal(
      diagnoseWorkflow(base({ timeout: 700 })),
      '70.0% of requests never got a response: timeout 700 (target unreachable or too slow?)',
    );
  });

  void it('flags server errors dominating', () => {
    assert.equal(
      diagnoseWorkflow(base({ status_500: 500, status_502: 100 })),
      '60.0% of requests got server errors: status_500 500, status_502 100 (target failing?)',
    );
  });

  void it('shows interrupted iterations and the network line, and says when no iteration finished', () => {
    const wf = workflowResult('hang', {
      iterations: { started: 2, completed: 0, failed: 0, dropped: 0, interrupted: 2 },
      network: { requests: 2, bytesSent: 180, bytesReceived: 3 * 1024 * 1024 },
    });
    const text = renderSummary(runResults({ workflows: [wf] }), { width: 120, color: false });
    assert.match(text, /iterations +2 started +0 completed +0 dropped +2 interrupted/);
    assert.match(text, /network +2 requests +180 B sent +3\.0 MiB received/);
    assert.equal(
      diagnoseWorkflow(wf),
      'no iteration finished: all 2 were still running at the end (duration + gracefulStop) and were interrupted',
    );
  });

  void it('notices when iterations ran but made no requests, and ignores skipped workflows', () => {
    const none = workflowResult('w', { totals: { count: 0, ok: 0, failed: 0, rps: 0 }, steps: [] });
    assert.equal(diagnoseWorkflow(none), 'no steps ran');
    assert.equal(diagnoseWorkflow({ ...none, status: 'skipped' }), null);
  });

  void it('aggregates error kinds across steps, most frequent first', () => {
    const wf = workflowResult('w', {
      steps: [
        stepResult('a', {
          errors: { timeout: 2, status_503: 1 },
          errorSamples: { timeout: 'took 30s' },
        }),
        stepResult('b', { errors: { timeout: 5 }, errorSamples: { timeout: 'took 31s' } }),
      ],
    });
    assert.deepEqual(errorKinds(wf), [
      { kind: 'timeout', count: 7, sample: 'a: took 30s', steps: ['a', 'b'] },
      { kind: 'status_503', count: 1, sample: null, steps: ['a'] },
    ]);
  });
});
