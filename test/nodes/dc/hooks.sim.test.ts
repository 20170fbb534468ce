// Sim tests of dc.hook: a workflow's setup or teardown runs once on one worker of the DC.

import assert from 'node:assert/strict';
import { seedsFrom, simTest } from '../../support/sim.js';
import { BUNDLE, DcCluster, errorCode } from './support/dc-cluster.js';

const hookMsg = (hook: 'setup' | 'teardown', over: Record<string, unknown> = {}) => ({
  t: 'dc.hook',
  job: 'job-1',
  fence: 1,
  workflow: 'wf',
  hook,
  timeoutMs: 1_000,
  bundle: BUNDLE,
  data: { n: 1 },
  context: {},
  ...over,
});

simTest(
  'a hook runs once on one healthy worker and its value comes back naming the worker',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: [
        { id: 'w1', cores: 1, synthetic: { hookValue: (s) => ({ got: s.data, hook: s.hook }) } },
        { id: 'w2', cores: 4, synthetic: { hookValue: (s) => ({ got: s.data, hook: s.hook }) } },
      ],
    });
    const leader = await c.ready();
    const r = await c.call(leader, hookMsg('setup'));
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.message.ok, true);
    assert.deepEqual(r.message.value, { got: { n: 1 }, hook: 'setup' });
    assert.equal(r.message.worker, 'w2', 'the worker with the most free cores');
    assert.equal(
      [...c.executors.values()].reduce((n, e) => n + e.counters.hooks, 0),
      1,
      'ran once',
    );
  },
);

const throwing = (): unknown => {
  throw new Error('db down');
};

simTest(
  'a hook that outlives its timeout comes back as a failure saying so',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: [{ id: 'w1', cores: 1, synthetic: { hookMs: 5_000 } }],
    });
    const leader = await c.ready(['w1']);
    const slow = await c.call(leader, hookMsg('teardown'));
    assert.ok(slow.ok);
    assert.equal(slow.message.ok, false);
    assert.match(String(slow.message.error), /did not finish within 1000 ms/);
    assert.equal(slow.message.worker, 'w1');
  },
);

simTest(
  'a hook that throws comes back as a failure with its message',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: [{ id: 'w1', cores: 1, synthetic: { hookValue: throwing } }],
    });
    const leader = await c.ready(['w1']);
    const r = await c.call(leader, hookMsg('setup'));
    assert.ok(r.ok);
    assert.equal(r.message.ok, false);
    assert.match(String(r.message.error), /db down/);
  },
);

simTest(
  "a hook with an older fence than the job's is refused E_STALE_FENCE",
  { seeds: seedsFrom(2) },
  async (sim) => {
    const c = new DcCluster(sim, { workers: [{ id: 'w1', cores: 2 }] });
    const leader = await c.ready(['w1']);
    assert.ok((await c.call(leader, c.dispatchMsg('job-1', 'wf', 1, { fence: 4 }))).ok);
    assert.equal(
      errorCode(await c.call(leader, hookMsg('teardown', { fence: 3 }))),
      'E_STALE_FENCE',
    );
  },
);

simTest(
  'a hook in a DC without workers answers E_NO_WORKERS',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const c = new DcCluster(sim, { workers: [] });
    const leader = await c.ready([]);
    assert.equal(errorCode(await c.call(leader, hookMsg('setup'))), 'E_NO_WORKERS');
  },
);

simTest(
  'MW-17.2.1 a hook goes only to a worker that listed the hook capability',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: [
        { id: 'w1', cores: 8, worker: { capabilities: ['work.cancel'] } },
        { id: 'w2', cores: 1 },
      ],
    });
    const leader = await c.ready();
    const r = await c.call(leader, hookMsg('setup'));
    assert.ok(r.ok);
    assert.equal(r.message.worker, 'w2', 'w1 has more free cores but does not run hooks');
    assert.equal(c.executors.get('w1')!.counters.hooks, 0);
  },
);

simTest(
  'with no worker able to run hooks, a hook is refused E_NO_WORKERS',
  { seeds: seedsFrom(1) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: [{ id: 'w1', cores: 1, worker: { capabilities: [] } }],
    });
    const leader = await c.ready(['w1']);
    assert.equal(errorCode(await c.call(leader, hookMsg('setup'))), 'E_NO_WORKERS');
  },
);

/** Hook runs over every worker of the cluster. */
const hookRuns = (c: DcCluster): number =>
  [...c.executors.values()].reduce((n, e) => n + e.counters.hooks, 0);

/** A reply without its RPC fields (`id`, `re`). */
const body = (m: Record<string, unknown>): Record<string, unknown> => {
  const { id: _id, re: _re, ...rest } = m;
  return rest;
};

/** A worker whose hooks answer with how many it ran so far (a rerun shows). */
const countingWorker = (
  id: string,
): { id: string; cores: number; synthetic: { hookValue: () => unknown } } => {
  let runs = 0;
  return { id, cores: 2, synthetic: { hookValue: () => ({ run: ++runs }) } };
};

simTest(
  "a repeated hook of a job (a new owner replaying it) gets the first answer without running again; another hook or job runs; dc.release lets the job's go",
  { seeds: seedsFrom(2) },
  async (sim) => {
    const c = new DcCluster(sim, { workers: [countingWorker('w1')] });
    const leader = await c.ready(['w1']);
    const first = await c.call(leader, hookMsg('setup'));
    assert.ok(first.ok, JSON.stringify(first));
    assert.deepEqual(first.message.value, { run: 1 });
    const again = await c.call(leader, hookMsg('setup', { fence: 2 }));
    assert.ok(again.ok);
    assert.deepEqual(body(again.message), body(first.message), 'the first answer, whole');
    assert.equal(hookRuns(c), 1);
    assert.equal(c.managers.get(leader)!.hooks.counters.repeats, 1);
    const teardown = await c.call(leader, hookMsg('teardown', { fence: 2 }));
    assert.ok(teardown.ok);
    assert.deepEqual(teardown.message.value, { run: 2 });
    const other = await c.call(leader, hookMsg('setup', { job: 'job-2' }));
    assert.ok(other.ok);
    assert.deepEqual(other.message.value, { run: 3 });
    assert.equal(hookRuns(c), 3);
    const released = await c.call(leader, { t: 'dc.release', job: 'job-1', fence: 2 });
    assert.ok(released.ok, JSON.stringify(released));
    const rerun = await c.call(leader, hookMsg('setup', { fence: 2 }));
    assert.ok(rerun.ok);
    assert.deepEqual(rerun.message.value, { run: 4 }, 'released: it runs again');
    const kept = await c.call(leader, hookMsg('setup', { job: 'job-2' }));
    assert.deepEqual(kept.ok && kept.message.value, { run: 3 }, "job-2's answer stays");
    assert.equal(hookRuns(c), 4);
  },
);

simTest(
  'an answer no worker gave is not kept: once a worker can run it, the repeated hook runs',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const c = new DcCluster(sim, { workers: [] });
    const leader = await c.ready([]);
    assert.equal(errorCode(await c.call(leader, hookMsg('setup'))), 'E_NO_WORKERS');
    const w = countingWorker('w1');
    c.addWorker(w.id, w.cores, w.synthetic);
    const now = await c.ready(['w1']);
    const r = await c.call(now, hookMsg('setup'));
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.message.worker, 'w1');
    assert.deepEqual(r.message.value, { run: 1 });
  },
);

simTest(
  'a dc.release with a stale fence is refused and leaves the hook answers kept',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const c = new DcCluster(sim, { workers: [countingWorker('w1')] });
    const leader = await c.ready(['w1']);
    assert.ok((await c.call(leader, c.dispatchMsg('job-1', 'wf', 1, { fence: 4 }))).ok);
    const first = await c.call(leader, hookMsg('setup', { fence: 4 }));
    assert.ok(first.ok);
    const runs = hookRuns(c);
    assert.equal(
      errorCode(await c.call(leader, { t: 'dc.release', job: 'job-1', fence: 3 })),
      'E_STALE_FENCE',
    );
    const again = await c.call(leader, hookMsg('setup', { fence: 4 }));
    assert.ok(again.ok);
    assert.deepEqual(body(again.message), body(first.message), 'still the first answer');
    assert.equal(hookRuns(c), runs, 'not run again');
  },
);
