// `salvo run` end to end, as a user types it: real child processes, the embedded target on a
// real socket, results read back from the files written and checked against the schema.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTargetServer } from '../../src/target/server.js';
import type { StepResult, WorkflowResult } from '../../src/stats/types.js';
import { fixture, readResults, runCli, runFixture, schemaErrors, tempDir } from '../support/cli.js';

let target: Awaited<ReturnType<typeof startTargetServer>>;
const dir = tempDir();

before(async () => {
  target = await startTargetServer({ port: 0, host: '127.0.0.1' });
});
after(async () => {
  await target.close();
});

function workflowOf(results: { workflows: WorkflowResult[] }, name: string): WorkflowResult {
  const w = results.workflows.find((x) => x.name === name);
  assert.ok(w, `workflow ${name} in results`);
  return w;
}

function stepOf(w: WorkflowResult, name: string): StepResult {
  const s = w.steps.find((x) => x.name === name);
  assert.ok(s, `step ${name} in ${w.name}`);
  return s;
}

describe('salvo run', () => {
  test('step DAG runs independent steps concurrently, passes results and publishes context to a dependent workflow', async () => {
    const { cli: r, out } = await runFixture('dag.ts', { target: target.url, workers: 2 });
    assert.equal(r.code, 0, r.stderr);
    const results = readResults(out);
    assert.deepEqual(schemaErrors(results), []);
    const producer = workflowOf(results, 'producer');
    const consumer = workflowOf(results, 'consumer');
    assert.equal(producer.status, 'completed');
    assert.equal(consumer.status, 'completed');
    for (const name of ['a', 'b', 'c'])
      assert.equal(stepOf(producer, name).count, 20, `step ${name}`);
    const checks = Object.fromEntries(producer.checks.map((c) => [c.name, c]));
    assert.equal(checks['a and b ran concurrently']?.passes, 20);
    assert.equal(checks['c saw both results']?.passes, 20);
    assert.equal(consumer.checks.find((c) => c.name === 'token arrived')?.passes, 5);
    assert.ok(
      consumer.startedAt && producer.endedAt && consumer.startedAt >= producer.endedAt,
      'consumer ran after producer',
    );
  });

  test('checks, custom metrics, thrown errors (with file:line), statuses and thresholds are recorded; a step failing in every execution fails the run (exit 4)', async () => {
    const out = join(dir, 'metrics.json');
    const csv = join(dir, 'metrics.csv');
    const r = await runCli([
      'run',
      fixture('metrics.ts'),
      '--target',
      target.url,
      '--workers',
      '2',
      '--out',
      out,
      '--csv',
      csv,
    ]);
    // 'ok' (a check that always fails) and 'unavailable' (always 503) fail in every
    // execution: that fails the run (exit 4, not a green "completed"), naming each step.
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stdout, /✗ run failed/);
    assert.doesNotMatch(r.stdout, /run completed/);
    assert.match(r.stdout, /step 'ok' failed in all 40 executions, mostly check:body is nope/);
    assert.match(r.stdout, /step 'unavailable' failed in all 40 executions, mostly status_503/);
    assert.match(r.stdout, /threshold/i);
    const results = readResults(out);
    assert.deepEqual(schemaErrors(results), []);
    const w = workflowOf(results, 'metrics');
    const ok = stepOf(w, 'ok');
    assert.equal(ok.count, 40);
    assert.equal(ok.failed, 40, 'the failing check fails the step');
    assert.equal(ok.errors['check:body is nope'], 40);
    assert.equal(ok.statuses['200'], 40);
    const checks = Object.fromEntries(w.checks.map((c) => [c.name, c]));
    assert.deepEqual([checks['status is 200']?.passes, checks['status is 200']?.fails], [40, 0]);
    assert.deepEqual([checks['body is nope']?.passes, checks['body is nope']?.fails], [0, 40]);
    const flaky = stepOf(w, 'flaky');
    assert.deepEqual([flaky.count, flaky.ok, flaky.failed], [40, 20, 20]);
    assert.equal(flaky.errors['exception'], 20);
    // Error samples say where in the workflow file: the throw's line, or the step's.
    assert.match(
      flaky.errorSamples['exception'] ?? '',
      /boom on iteration \d+ \(at test\/fixtures\/workflows\/metrics\.ts:23:\d+\)/,
    );
    assert.match(
      stepOf(w, 'unavailable').errorSamples['status_503'] ?? '',
      /→ 503 \(at test\/fixtures\/workflows\/metrics\.ts:26\)/,
    );
    assert.equal(stepOf(w, 'unavailable').errors['status_503'], 40);
    assert.deepEqual([stepOf(w, 'accepted-503').ok, stepOf(w, 'accepted-503').failed], [40, 0]);
    const metrics = Object.fromEntries(w.metrics.map((m) => [m.name, m]));
    assert.equal(metrics['orders']?.kind === 'counter' && metrics['orders'].value, 40);
    assert.equal(metrics['paid']?.kind === 'rate' && metrics['paid'].rate, 0.5);
    assert.equal(metrics['basket']?.kind === 'trend' && metrics['basket'].count, 40);
    assert.equal(metrics['queue']?.kind, 'gauge');
    const byExpression = Object.fromEntries(
      w.thresholds.map((t) => [`${t.target}: ${t.expression}`, t]),
    );
    assert.equal(byExpression['ok: count == 40']?.passed, true);
    assert.equal(byExpression['orders: count == 40']?.passed, true);
    assert.equal(byExpression['paid: rate > 40%']?.passed, true);
    assert.equal(byExpression['flaky: error_rate < 10%']?.passed, false);
    assert.equal(byExpression['flaky: error_rate < 10%']?.actual, 50);
    assert.equal(results.thresholds.failed, 1);
    assert.equal(results.run.exitCode, 4);
    assert.equal(results.run.status, 'failed');
    // 160 step executions, of which 'flaky' (40) sends no request: 120 requests on the wire.
    assert.equal(w.totals.count, 160);
    assert.equal(w.network?.requests, 120);
    assert.ok((w.network?.bytesSent ?? 0) > 120 * 30, 'request heads were counted');
    assert.ok((w.network?.bytesReceived ?? 0) > 120 * 60, 'responses were counted');
    assert.match(r.stdout, /network +120 requests +[\d.]+ KiB sent +[\d.]+ KiB received/);
    const csvText = readFileSync(csv, 'utf8');
    assert.match(csvText.split('\n')[0] ?? '', /^workflow,step,count/);
    assert.equal(csvText.trim().split('\n').length, 1 + w.steps.length);
  });

  test('constant-arrival-rate holds its rate within ±5% over a few seconds across 2 workers', async () => {
    const { cli: r, out } = await runFixture('open-rate.ts', { target: target.url, workers: 2 });
    assert.equal(r.code, 0, r.stderr);
    const w = workflowOf(readResults(out), 'open-rate');
    const expected = 200 * 3;
    assert.ok(
      Math.abs(w.iterations.started - expected) <= expected * 0.05,
      `started ${w.iterations.started} of ${expected}`,
    );
    assert.equal(w.iterations.dropped, 0);
    assert.ok(Math.abs(stepOf(w, 'get').count - expected) <= expected * 0.05);
  });

  test('iterations the open model cannot start because VUs are exhausted are counted as dropped', async () => {
    const { cli: r, out } = await runFixture('exhausted.ts', { target: target.url, workers: 1 });
    assert.equal(r.code, 0, r.stderr);
    const w = workflowOf(readResults(out), 'exhausted');
    assert.ok(w.iterations.dropped >= 50, `dropped ${w.iterations.dropped}`);
    assert.ok(w.iterations.started <= 15, `started ${w.iterations.started}`);
    assert.equal(
      w.iterations.started + w.iterations.dropped,
      100,
      'every scheduled arrival is either started or dropped',
    );
  });

  test('ramping-vus follows its stages and ramping-arrival-rate starts the integral of its rate', async () => {
    const { cli: r, out } = await runFixture('ramping.ts', { target: target.url, workers: 2 });
    assert.equal(r.code, 0, r.stderr);
    const results = readResults(out);
    const vus = workflowOf(results, 'ramp-vus');
    assert.ok(vus.vus.max >= 5 && vus.vus.max <= 6, `max VUs ${vus.vus.max}`);
    assert.ok(stepOf(vus, 'get').count > 0);
    const rate = workflowOf(results, 'ramp-rate');
    const expected = 50 + 100; // ∫ of 0→100/s over 1s, then 100/s for 1s
    assert.ok(
      Math.abs(rate.iterations.started - expected) <= expected * 0.05,
      `started ${rate.iterations.started}`,
    );
  });

  test('--workers 1 and --workers 2 report the same totals and consistent merged statistics', async () => {
    const totals: number[][] = [];
    for (const workers of ['1', '2']) {
      const out = join(dir, `shared-${workers}.json`);
      const r = await runCli([
        'run',
        fixture('shared.ts'),
        '--target',
        target.url,
        '--workers',
        workers,
        '-q',
        '--out',
        out,
      ]);
      assert.equal(r.code, 0, r.stderr);
      const w = workflowOf(readResults(out), 'shared');
      for (const step of w.steps) {
        assert.equal(step.count, step.ok + step.failed);
        assert.equal(step.histogram.count, step.count);
        assert.equal(
          Object.values(step.statuses).reduce((a, b) => a + b, 0),
          step.count,
        );
        assert.equal(
          step.timeline.counts.reduce((a, b) => a + b, 0),
          step.count,
        );
        assert.ok(
          step.latencyMs.min <= step.latencyMs.p50 &&
            step.latencyMs.p50 <= step.latencyMs.p99 &&
            step.latencyMs.p99 <= step.latencyMs.max,
        );
      }
      assert.equal(
        w.totals.count,
        w.steps.reduce((t, s) => t + s.count, 0),
      );
      assert.equal(w.iterations.completed + w.iterations.failed, w.iterations.started);
      totals.push([w.iterations.started, ...w.steps.map((s) => s.count)]);
    }
    assert.deepEqual(totals[0], [600, 600, 600]);
    assert.deepEqual(totals[1], totals[0]);
  });

  test('an error in one step does not end the iteration before its sibling: one VU runs one iteration at a time', async () => {
    const { cli: r, out } = await runFixture('sibling-throws.ts', { target: target.url });
    const w = workflowOf(readResults(out), 'siblings');
    assert.equal(w.status, 'completed', r.stderr);
    // 2 s of iterations that each wait 200 ms: about 10, never more than 2 s / 200 ms + 1.
    assert.ok(w.iterations.started <= 11, `${w.iterations.started} iterations started`);
    assert.equal(stepOf(w, 'slow').count, w.iterations.completed);
    const odd = stepOf(w, 'odd');
    assert.equal(odd.errors['exception'], odd.count);
    assert.match(odd.errorSamples['exception'] ?? '', /expectStatus threw: no opinion on statuses/);
  });

  test('the default results path is ./salvo-results/<workflow>-<time>.json and the summary says where', async () => {
    const cwd = tempDir();
    const r = await runCli(
      ['run', fixture('shared.ts'), '--target', target.url, '--workers', '1', '--no-color'],
      { cwd },
    );
    assert.equal(r.code, 0, r.stderr);
    const match = /results: (salvo-results\/shared-\d{8}-\d{6}\.json)/.exec(r.stdout);
    assert.ok(match?.[1], r.stdout);
    assert.ok(existsSync(join(cwd, match[1])));
    assert.deepEqual(schemaErrors(readResults(join(cwd, match[1]))), []);
  });
});
