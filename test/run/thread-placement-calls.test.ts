// What ThreadPlacement sends to the pool and makes of its reports, over a recording pool: each
// thread's spawn payload (its share with composed phase, its lane among all units, data,
// context, the bundle found by hash), windows renamed to their source, and worker reports
// turned into placement parts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ExecutorConfig } from '../../src/api/executors.js';
import { decodeSpawn, type SpawnPayload } from '../../src/pool/payloads.js';
import type { PoolJobHandle, PoolJobReport, WorkerPool } from '../../src/pool/pool.js';
import type { WorkflowCall } from '../../src/run/placement.js';
import { ThreadPlacement, oneBundle } from '../../src/run/thread-placement.js';
import type { StatsWindow } from '../../src/stats/types.js';
import { windowOf } from './fake-placement.js';

const HASH = 'c'.repeat(64);
const BUNDLE = { path: '/cache/bundles/c.mjs', hash: HASH, source: '/work/load.ts' };

class RecordingPool implements WorkerPool {
  readonly size: number;
  payloads: (SpawnPayload | null)[] = [];
  onWindow: ((worker: number, window: StatsWindow) => void) | undefined;
  cancelled: string[] = [];
  finish: ((report: PoolJobReport) => void) | undefined;

  constructor(size: number) {
    this.size = size;
  }

  runJob(
    _workflow: string,
    payloads: readonly (Uint8Array | null)[],
    onWindow: (worker: number, window: StatsWindow) => void,
  ): PoolJobHandle {
    this.payloads = payloads.map((p) => (p ? decodeSpawn(p) : null));
    this.onWindow = onWindow;
    return {
      done: new Promise<PoolJobReport>((resolve) => (this.finish = resolve)),
      cancel: (reason) => this.cancelled.push(reason),
      terminateStalled: (quietMs) => (quietMs === 0 ? this.size : 0),
    };
  }

  async shutdown(): Promise<void> {}
}

const rate: ExecutorConfig = {
  type: 'constant-arrival-rate',
  rate: 30,
  timeUnitMs: 1000,
  durationMs: 5000,
  preAllocatedVus: 3,
  maxVus: 3,
  gracefulStopMs: 0,
};

function call(more: Partial<WorkflowCall> = {}): WorkflowCall {
  return {
    bundle: { hash: HASH, source: '/client/load.ts' },
    workflow: 'load',
    share: { config: rate, phase: 0.5 },
    lanes: { first: 3, total: 9 },
    data: { token: 't' },
    context: { before: { key: 1 } },
    baseUrl: 'http://target:8080',
    windowMs: 250,
    cancelGraceMs: 700,
    ...more,
  };
}

void test('each thread gets its share with the phase composed, its lane among all units, data, context and the cached bundle', () => {
  const pool = new RecordingPool(3);
  const windows: [string, number][] = [];
  const placement = new ThreadPlacement({
    pool,
    bundles: oneBundle(BUNDLE),
    sourceOf: (i) => `dc-a/w7#2/t${i}`,
  });
  const placed = placement.runWorkflow(call(), (source, w) => windows.push([source, w.seq]));
  assert.deepEqual(
    pool.payloads.map((p) => [p?.thread, p?.threads, p?.share.phase, p?.share.config.type]),
    [
      [3, 9, 0.5 / 3, 'constant-arrival-rate'],
      [4, 9, 1.5 / 3, 'constant-arrival-rate'],
      [5, 9, 2.5 / 3, 'constant-arrival-rate'],
    ],
  );
  const first = pool.payloads[0];
  assert.deepEqual(first?.bundle, { ...BUNDLE, source: '/client/load.ts' });
  assert.equal(first?.source, '/client/load.ts');
  assert.deepEqual(first?.data, { token: 't' });
  assert.deepEqual(first?.context, { before: { key: 1 } });
  assert.equal(first?.baseUrl, 'http://target:8080');
  assert.equal(first?.windowMs, 250);
  assert.equal(first?.cancelGraceMs, 700);
  pool.onWindow?.(2, windowOf('load', 's', 4, 1));
  pool.onWindow?.(0, windowOf('load', 's', 1, 1));
  assert.deepEqual(windows, [
    ['dc-a/w7#2/t2', 4],
    ['dc-a/w7#2/t0', 1],
  ]);
  placed.cancel('job cancelled');
  assert.deepEqual(pool.cancelled, ['job cancelled']);
  assert.equal(placed.terminateStalled(0, 'stuck'), 3);
});

void test('without lanes the threads are all there is; a thread with no share gets nothing', () => {
  const pool = new RecordingPool(3);
  const placement = new ThreadPlacement({ pool, bundles: oneBundle(BUNDLE) });
  const twoVus: ExecutorConfig = {
    type: 'constant-vus',
    vus: 2,
    durationMs: 1000,
    gracefulStopMs: 0,
  };
  placement.runWorkflow(
    call({ lanes: null, share: { config: twoVus, phase: 0 } }),
    () => undefined,
  );
  assert.deepEqual(
    pool.payloads.map((p) => (p ? [p.thread, p.threads, p.share.config] : null)),
    [null, [1, 3, { ...twoVus, vus: 1 }], [2, 3, { ...twoVus, vus: 1 }]],
  );
});

void test('worker reports become placement parts: failure, cancel, published values, network, notes and dropped output', async () => {
  const pool = new RecordingPool(2);
  const placed = new ThreadPlacement({ pool, bundles: oneBundle(BUNDLE) }).runWorkflow(
    call(),
    () => undefined,
  );
  pool.finish?.({
    workers: [
      {
        index: 0,
        completion: {
          published: { token: { value: 'x', atMs: 5 } },
          interrupted: 2,
          notes: ['a note'],
          droppedOutput: { writes: 3, bytes: 40 },
          network: { requests: 7, bytesSent: 70, bytesReceived: 700 },
        },
        failure: undefined,
        cancelled: false,
      },
      { index: 1, completion: undefined, failure: 'worker thread crashed: boom', cancelled: true },
    ],
  });
  assert.deepEqual((await placed.done).parts, [
    {
      unit: 'worker 0',
      cancelled: false,
      published: { token: { value: 'x', atMs: 5 } },
      interrupted: 2,
      notes: ['a note'],
      network: { requests: 7, bytesSent: 70, bytesReceived: 700 },
      droppedOutput: { writes: 3, bytes: 40 },
    },
    {
      unit: 'worker 1',
      cancelled: true,
      published: {},
      interrupted: 0,
      notes: [],
      failure: 'worker thread crashed: boom',
    },
  ]);
});

void test('setup data that cannot be serialised is refused before anything starts', () => {
  const pool = new RecordingPool(1);
  const cyclic: Record<string, unknown> = {};
  cyclic['self'] = cyclic;
  const placement = new ThreadPlacement({ pool, bundles: oneBundle(BUNDLE) });
  assert.throws(
    () => placement.runWorkflow(call({ data: cyclic }), () => undefined),
    /the setup data and context of workflow 'load' cannot be sent to worker threads/,
  );
  assert.equal(pool.onWindow, undefined, 'no job was started');
});
