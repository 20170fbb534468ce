// Unit tests of the ThreadExecutor over a fake WorkerPool: which slots a part's threads run on,
// how pool reports become one part report, and what happens to a part whose data cannot be
// sent to a thread or whose bundle is missing.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Bundle } from '../../../src/engine/loader.js';
import type { PoolJobHandle, PoolJobReport, WorkerPool } from '../../../src/pool/pool.js';
import { decodeSpawn } from '../../../src/pool/payloads.js';
import { ThreadExecutor } from '../../../src/pool/thread-executor.js';
import type { WorkSpec } from '../../../src/nodes/worker/executor.js';
import type { StatsWindow } from '../../../src/stats/types.js';

const bundle: Bundle = {
  path: '/tmp/b.mjs',
  hash: 'b'.repeat(64),
  source: '/tmp/flow.ts',
} as Bundle;

class FakePool implements WorkerPool {
  readonly size = 4;
  jobs: {
    payloads: readonly (Uint8Array | null)[];
    onWindow: (w: number, win: StatsWindow) => void;
    cancelled: string | null;
    finish: (r: PoolJobReport) => void;
  }[] = [];
  runJob(
    _workflow: string,
    payloads: readonly (Uint8Array | null)[],
    onWindow: (w: number, win: StatsWindow) => void,
  ): PoolJobHandle {
    let finish: (r: PoolJobReport) => void = () => undefined;
    const done = new Promise<PoolJobReport>((r) => (finish = r));
    const job = { payloads, onWindow, cancelled: null as string | null, finish };
    this.jobs.push(job);
    return { done, cancel: (reason) => (job.cancelled = reason), terminateStalled: () => 0 };
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

const spec = (over: Partial<WorkSpec> = {}): WorkSpec => ({
  job: 'j',
  workflow: 'wf',
  dispatchId: 'd1',
  bundle: { hash: bundle.hash, sizeBytes: 1, file: 'flow.ts' },
  shares: [
    { config: { type: 'constant-vus', vus: 1, durationMs: 1000, gracefulStopMs: 0 }, phase: 0 },
    { config: { type: 'constant-vus', vus: 2, durationMs: 1000, gracefulStopMs: 0 }, phase: 0 },
  ],
  firstThread: 4,
  threads: 6,
  data: { a: 1 },
  context: {},
  baseUrl: undefined,
  windowMs: 1000,
  cancelGraceMs: 100,
  cores: [3, 1],
  ...over,
});

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

test("a part's threads run on the pool slots of its cores, numbered within the workflow; windows map back to threads", async () => {
  const pool = new FakePool();
  const ex = new ThreadExecutor({ pool, bundles: () => Promise.resolve(bundle) });
  const windows: number[] = [];
  const running = ex.run(spec(), (thread) => windows.push(thread));
  await flush();
  const job = pool.jobs[0]!;
  assert.deepEqual(
    job.payloads.map((p) => p !== null),
    [false, true, false, true],
  );
  assert.equal(decodeSpawn(job.payloads[3]!).thread, 4);
  assert.equal(decodeSpawn(job.payloads[1]!).thread, 5);
  assert.equal(decodeSpawn(job.payloads[1]!).threads, 6);
  job.onWindow(1, {} as StatsWindow);
  job.onWindow(3, {} as StatsWindow);
  assert.deepEqual(windows, [1, 0]);
  running.cancel('stop');
  assert.equal(job.cancelled, 'stop');
  job.finish({
    workers: [
      {
        index: 3,
        completion: {
          published: { k: { value: 1, atMs: 5 } },
          interrupted: 1,
          notes: ['n'],
          network: { requests: 3, bytesSent: 1, bytesReceived: 2 },
        },
        failure: undefined,
        cancelled: true,
      },
      {
        index: 1,
        completion: {
          published: { k: { value: 2, atMs: 9 } },
          interrupted: 0,
          notes: [],
          network: { requests: 4, bytesSent: 1, bytesReceived: 2 },
        },
        failure: undefined,
        cancelled: true,
      },
    ],
  });
  const r = await running.done;
  assert.equal(r.outcome, 'cancelled');
  assert.deepEqual(r.published, { k: { value: 2, atMs: 9 } });
  assert.equal(r.network.requests, 7);
  assert.equal(r.interrupted, 1);
});

test('MW-20.2.2 a part whose data cannot be serialised for its threads fails with a clear message and runs nothing', async () => {
  const pool = new FakePool();
  const ex = new ThreadExecutor({ pool, bundles: () => Promise.resolve(bundle) });
  const r = await ex.run(spec({ data: { n: 10n } }), () => undefined).done;
  assert.equal(r.outcome, 'failed');
  assert.match(r.failure ?? '', /cannot be sent to worker threads/);
  assert.equal(pool.jobs.length, 0);
});

test('a part whose bundle is missing, or whose resolver refuses it, fails saying so', async () => {
  const pool = new FakePool();
  const missing = await new ThreadExecutor({ pool, bundles: () => Promise.resolve(null) }).run(
    spec(),
    () => undefined,
  ).done;
  assert.match(missing.failure ?? '', /is not available on this worker/);
  const refused = await new ThreadExecutor({
    pool,
    bundles: () => Promise.reject(new Error('the bundle received does not match its hash')),
  }).run(spec(), () => undefined).done;
  assert.equal(refused.outcome, 'failed');
  assert.match(refused.failure ?? '', /does not match its hash/);
  const tooMany = await new ThreadExecutor({ pool, bundles: () => Promise.resolve(bundle) }).run(
    spec({ cores: [0, 9] }),
    () => undefined,
  ).done;
  assert.match(tooMany.failure ?? '', /this pool has 4/);
  assert.equal(pool.jobs.length, 0);
});
