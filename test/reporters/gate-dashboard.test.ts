// Tests for src/reporters/dashboard/gate-dashboard.ts over real HTTP: the index lists the jobs
// whose reporters the gate made, a job's page and data are under /jobs/<id>/, an unknown job is
// 404, and past MAX_GATE_DASHBOARD_JOBS the oldest finished job's page goes first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_GATE_DASHBOARD_JOBS,
  startGateDashboard,
} from '../../src/reporters/dashboard/gate-dashboard.js';
import type { RunResults } from '../../src/stats/types.js';

void test('the gate dashboard serves a page per job it owns on loopback, bounded, the oldest finished page dropped first', async () => {
  const dash = await startGateDashboard({ gate: 'g1', port: 0 });
  try {
    assert.match(dash.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const get = (path: string): Promise<Response> =>
      fetch(new URL(path, dash.url), { redirect: 'manual' });
    assert.match(await (await get('/')).text(), /No jobs yet/);

    const reporters = Array.from({ length: MAX_GATE_DASHBOARD_JOBS }, (_, i) =>
      dash.reporterFor(`job-${i}`, 'load.ts'),
    );
    // job-5 finished: it is the first to go when one more job comes.
    const results = { run: { durationMs: 1000, status: 'completed' }, workflows: [] };
    await reporters[5]?.final?.({
      results: results as unknown as RunResults,
      series: [],
      labels: {},
    });
    const data = (await (await get('/jobs/job-5/data')).json()) as { results: unknown };
    assert.deepEqual(data.results, results);

    dash.reporterFor('job-new', 'load.ts');
    assert.equal((await get('/jobs/job-5/')).status, 404);
    assert.equal((await get('/jobs/job-0/')).status, 200);
    assert.equal((await get('/jobs/job-new/')).status, 200);
    const redirect = await get('/jobs/job-new');
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.get('location'), '/jobs/job-new/');
    const index = await (await get('/')).text();
    assert.equal(index.match(/<tr data-job=/g)?.length, MAX_GATE_DASHBOARD_JOBS);
    assert.match(index, /href="jobs\/job-new\/"/);
    assert.equal((await get('/jobs/nobody/')).status, 404);
    assert.equal((await fetch(dash.url, { method: 'POST' })).status, 405);
  } finally {
    await dash.close();
  }
});
