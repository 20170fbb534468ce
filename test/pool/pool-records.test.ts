// The thread pool on real worker threads: every job leaves no record behind in the slot's
// coordinator — completed, cancelled, and cancelled with a finalize deadline that runs out
// before the worker answers (the case that used to leak one record per job until the slot's
// tracked-job bound refused every new job).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { bundleWorkflow, importWorkflows, type Bundle } from '../../src/engine/loader.js';
import { splitExecutor } from '../../src/engine/plan.js';
import { encodePayload, type SpawnPayload } from '../../src/pool/payloads.js';
import { ThreadPool } from '../../src/pool/pool.js';

/** Cancelled runs per pool (the reported leak showed after 200). */
const RUNS = 120;
/** Bound on the wait for late worker answers to drain. */
const SETTLE_MS = 10_000;

const dir = mkdtempSync(join(tmpdir(), 'salvo-pool-records-'));
let bundle: Bundle;
let payload: Uint8Array;

before(async () => {
  process.env['SALVO_CACHE_DIR'] = join(dir, 'cache');
  const file = join(dir, 'w.ts');
  writeFileSync(
    file,
    [
      "import { workflow, constantVus } from 'salvo';",
      "export default workflow('busy', { executor: constantVus({ vus: 2, duration: '60s' }) })",
      "  .step('tick', () => new Promise<void>((r) => setTimeout(r, 2)));",
      '',
    ].join('\n'),
  );
  bundle = await bundleWorkflow(file);
  const [wf] = await importWorkflows(bundle);
  assert.ok(wf);
  const [share] = splitExecutor(wf.definition.executor, 1);
  assert.ok(share);
  const spec: SpawnPayload = {
    bundle,
    workflow: 'busy',
    share,
    thread: 0,
    threads: 1,
    data: null,
    context: {},
    baseUrl: undefined,
    windowMs: 1_000,
    cancelGraceMs: 20,
  };
  payload = encodePayload(spec, 'spawn');
});

after(() => rmSync(dir, { recursive: true, force: true }));

async function settle(pool: ThreadPool): Promise<void> {
  const deadline = Date.now() + SETTLE_MS;
  while (pool.trackedJobs > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function cancelledRuns(pool: ThreadPool): Promise<{ timedOut: number; cancelled: number }> {
  let timedOut = 0;
  let cancelled = 0;
  for (let i = 0; i < RUNS; i++) {
    const handle = pool.runJob('busy', [payload], () => undefined);
    await new Promise((r) => setTimeout(r, i % 3)); // cancel while queued, starting or running
    handle.cancel('test');
    const [w] = (await handle.done).workers;
    if (w?.cancelled === true) cancelled++;
    else if (/did not finalize/.test(w?.failure ?? '')) timedOut++;
    else assert.fail(`unexpected end of run ${i}: ${JSON.stringify(w)}`);
  }
  return { timedOut, cancelled };
}

test('cancelled runs whose finalize deadline runs out leave no coordinator record behind', async () => {
  const pool = await ThreadPool.start({ size: 1, finalizeSlackMs: 0 });
  try {
    const { timedOut } = await cancelledRuns(pool);
    // A timed-out cancel terminates the worker; the next job then meets a restarting slot and
    // is cancelled before it is spawned, so about every other cancel times out.
    assert.ok(timedOut >= RUNS / 3, `many cancels timed out (${timedOut} of ${RUNS})`);
    await settle(pool);
    assert.equal(pool.trackedJobs, 0, 'every record is gone once the worker has answered');
    // The slot still takes jobs, and one that completes normally also leaves nothing.
    const handle = pool.runJob('busy', [payload], () => undefined);
    handle.cancel('again');
    await handle.done;
    await settle(pool);
    assert.equal(pool.trackedJobs, 0);
  } finally {
    await pool.shutdown();
  }
});

test('cancelled runs that finalize in time leave no coordinator record behind', async () => {
  const pool = await ThreadPool.start({ size: 1 });
  try {
    const { cancelled } = await cancelledRuns(pool);
    assert.equal(cancelled, RUNS);
    assert.equal(pool.trackedJobs, 0);
  } finally {
    await pool.shutdown();
  }
});
