// WorkflowJob on one thread, in process: step timeouts, dependents skipped after a failure,
// checks that throw, publishing, drain with a grace period, and windows that add up.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sharedIterations, constantVus } from '../../src/api/executors.js';
import { workflow } from '../../src/api/workflow.js';
import { WorkflowJob } from '../../src/engine/job.js';
import { buildStepGraph } from '../../src/engine/plan.js';
import type { StatsWindow } from '../../src/stats/types.js';
import type { AnyWorkflow } from '../../src/api/workflow.js';

let server: Server;
let baseUrl: string;

before(async () => {
  server = createServer((req, res) => {
    if (req.url === '/hang') return; // never answers
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

function jobFor(w: AnyWorkflow, windows: StatsWindow[]): WorkflowJob {
  const def = w.definition;
  return new WorkflowJob(
    def,
    buildStepGraph(def),
    {
      share: { config: def.executor, phase: 0 },
      thread: 0,
      threads: 1,
      data: { n: 7 },
      context: {},
      baseUrl,
      windowMs: 50,
    },
    (window) => windows.push(window),
  );
}

function sum(windows: StatsWindow[], step: string, field: 'count' | 'ok' | 'failed'): number {
  return windows.reduce((t, w) => t + (w.steps[step]?.[field] ?? 0), 0);
}

function errors(windows: StatsWindow[], step: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const w of windows)
    for (const [k, n] of Object.entries(w.steps[step]?.errors ?? {})) out[k] = (out[k] ?? 0) + n;
  return out;
}

describe('WorkflowJob', () => {
  test('a step past its timeout fails as timeout, and its dependents do not run', async () => {
    const windows: StatsWindow[] = [];
    const w = workflow('t', { executor: sharedIterations({ iterations: 2 }) })
      .step('hang', { timeout: '100ms' }, () => new Promise<never>(() => undefined))
      .step('after-hang', { after: ['hang'] }, () => 'never');
    const job = jobFor(w, windows);
    await job.run();
    job.finalize();
    assert.equal(sum(windows, 'hang', 'failed'), 2);
    assert.deepEqual(errors(windows, 'hang'), { timeout: 2 });
    assert.equal(sum(windows, 'after-hang', 'count'), 0);
    const iterations = windows.reduce((t, x) => t + x.iterations.failed, 0);
    assert.equal(iterations, 2);
  });

  test('a throwing check fails the step with its name; setup data reaches steps; publish keeps the latest', async () => {
    const windows: StatsWindow[] = [];
    const w = workflow('c', { executor: sharedIterations({ iterations: 3 }) })
      .step('get', ({ http, data }) => http.get(`/?n=${String(data)}`))
      .check('get', 'explodes', () => {
        throw new Error('bad check');
      })
      .step('value', ({ vu }) => vu.iteration)
      .publish('last', (results) => results.value);
    const job = jobFor(w, windows);
    const outcome = await job.run();
    job.finalize();
    assert.deepEqual(errors(windows, 'get'), { 'check:explodes': 3 });
    assert.match(
      windows.map((x) => x.steps['get']?.errorSamples['check:explodes']).find(Boolean) ?? '',
      /threw bad check/,
    );
    assert.equal(sum(windows, 'value', 'ok'), 3);
    assert.deepEqual(
      outcome.published,
      {},
      'nothing is published from iterations with a failed step',
    );
  });

  test('publish runs after successful iterations', async () => {
    const windows: StatsWindow[] = [];
    const w = workflow('p', { executor: sharedIterations({ iterations: 4 }) })
      .step('value', ({ vu }) => vu.iteration * 10)
      .publish('last', (results) => results.value);
    const job = jobFor(w, windows);
    const outcome = await job.run();
    job.finalize();
    assert.equal(outcome.published['last']?.value, 30);
  });

  test('stop + drain waits for in-flight iterations up to the grace, and reports what still runs', async () => {
    const windows: StatsWindow[] = [];
    const w = workflow('d', { executor: constantVus({ vus: 3, duration: '30s' }) }).step(
      'hang',
      ({ http }) => http.get('/hang'),
    );
    const job = jobFor(w, windows);
    const running = job.run();
    await new Promise((r) => setTimeout(r, 100));
    const stillRunning = await job.drain(150);
    assert.equal(stillRunning, 3);
    job.finalize();
    await running;
    assert.equal(sum(windows, 'hang', 'count'), 0, 'abandoned iterations record nothing');
  });

  test('sleep is cut short when the job stops', async () => {
    const windows: StatsWindow[] = [];
    const w = workflow('s', { executor: constantVus({ vus: 1, duration: '30s' }) }).step(
      'nap',
      (ctx) => ctx.sleep('20s'),
    );
    const job = jobFor(w, windows);
    const running = job.run();
    await new Promise((r) => setTimeout(r, 50));
    const left = await job.drain(5000);
    assert.equal(left, 0, 'the sleeping iteration finished as soon as the job stopped');
    job.finalize();
    await running;
    assert.equal(sum(windows, 'nap', 'ok'), 1);
  });

  test('window sequence numbers are consecutive and totals add up', async () => {
    const windows: StatsWindow[] = [];
    const w = workflow('n', { executor: sharedIterations({ vus: 4, iterations: 200 }) }).step(
      'get',
      ({ http }) => http.get('/'),
    );
    const job = jobFor(w, windows);
    await job.run();
    job.finalize();
    assert.deepEqual(
      windows.map((x) => x.seq),
      windows.map((_, i) => i + 1),
    );
    assert.equal(sum(windows, 'get', 'ok'), 200);
    assert.equal(
      windows.reduce((t, x) => t + x.iterations.started, 0),
      200,
    );
  });

  test('single-step fast path: a timed-out step fails as timeout and its late result is ignored', async () => {
    const windows: StatsWindow[] = [];
    const w = workflow('ft', { executor: sharedIterations({ iterations: 2 }) }).step(
      'slow',
      { timeout: '100ms' },
      () => new Promise((resolve) => setTimeout(resolve, 400, 'late')),
    );
    const job = jobFor(w, windows);
    await job.run();
    await new Promise((r) => setTimeout(r, 500));
    job.finalize();
    assert.deepEqual(errors(windows, 'slow'), { timeout: 2 });
    assert.equal(sum(windows, 'slow', 'ok'), 0, 'the late resolutions were not counted');
    assert.equal(sum(windows, 'slow', 'count'), 2);
  });

  test('single-step fast path: sync values, sync throws, rejections with non-Errors and thenables', async () => {
    const windows: StatsWindow[] = [];
    const w = workflow('fs', { executor: sharedIterations({ iterations: 8 }) })
      .step('mixed', ({ vu }) => {
        const i = vu.iteration % 4;
        if (i === 0) return 'sync';
        if (i === 1) throw new TypeError('boom');
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- a non-Error on purpose
        if (i === 2) return Promise.reject('plain string');
        return { then: (resolve: (v: string) => void) => resolve('thenable') };
      })
      .check('mixed', 'is a string', (v) => typeof v === 'string');
    const job = jobFor(w, windows);
    await job.run();
    job.finalize();
    assert.equal(sum(windows, 'mixed', 'ok'), 4);
    assert.deepEqual(errors(windows, 'mixed'), { exception: 4 });
    const samples = windows.map((x) => x.steps['mixed']?.errorSamples['exception']).find(Boolean);
    // A sample names where the step is defined (a thrown Error's own line when its stack has it).
    assert.match(String(samples), /^(boom|plain string) \(at test\/engine\/job\.test\.ts:\d+/);
    assert.equal(
      windows.reduce((t, x) => t + x.iterations.failed, 0),
      4,
    );
  });

  test('single-step fast path: status failures, checks on responses and publish', async () => {
    const windows: StatsWindow[] = [];
    const w = workflow('fp', { executor: sharedIterations({ vus: 2, iterations: 6 }) })
      .step('get', { expectStatus: [201] }, ({ http }) => http.get('/'))
      .check('get', 'body is ok', (res) => res.text() === 'ok')
      .publish('status', (results) => results.get.status);
    const job = jobFor(w, windows);
    const outcome = await job.run();
    job.finalize();
    assert.deepEqual(errors(windows, 'get'), { status_200: 6 });
    const checks = windows.reduce((t, x) => t + (x.checks['get']?.['body is ok']?.passes ?? 0), 0);
    assert.equal(checks, 6);
    assert.deepEqual(outcome.published, {}, 'failed iterations publish nothing');

    const ok = workflow('fq', { executor: sharedIterations({ iterations: 3 }) })
      .step('get', ({ http }) => http.get('/'))
      .publish('status', (results) => results.get.status);
    const okJob = jobFor(ok, []);
    const okOutcome = await okJob.run();
    okJob.finalize();
    assert.equal(okOutcome.published['status']?.value, 200);
  });

  test('single-step fast path: finalize abandons in-flight steps without recording them', async () => {
    const windows: StatsWindow[] = [];
    const w = workflow('ff', { executor: constantVus({ vus: 2, duration: '30s' }) }).step(
      'hang',
      () => new Promise<never>(() => undefined),
    );
    const job = jobFor(w, windows);
    const running = job.run();
    await new Promise((r) => setTimeout(r, 60));
    const outcome = job.finalize();
    assert.equal(outcome.interrupted, 0, 'abandoned iterations ended at finalize');
    await running;
    assert.equal(sum(windows, 'hang', 'count'), 0);
    assert.equal(job.stopping, true);
  });
});
