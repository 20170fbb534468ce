// The local thread pool with real worker threads: a worker stuck in a busy loop is terminated
// on request (its part fails saying so), and the next job on that slot runs on a fresh thread.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { bundleWorkflow, importWorkflows } from '../../src/engine/loader.js';
import { buildPlan, splitExecutor } from '../../src/engine/plan.js';
import { encodePayload, type SpawnPayload } from '../../src/pool/payloads.js';
import { ThreadPool } from '../../src/pool/pool.js';
import type { StatsWindow } from '../../src/stats/types.js';
import { CACHE_DIR, fixture } from '../support/cli.js';

process.env['SALVO_CACHE_DIR'] = CACHE_DIR;
let pool: ThreadPool | undefined;
after(async () => {
  await pool?.shutdown();
});

test('a worker in a busy loop is terminated by terminateStalled, and its slot runs the next job on a new thread', async () => {
  const bundle = await bundleWorkflow(fixture('pool-jobs.ts'));
  const plan = buildPlan(await importWorkflows(bundle));
  const payloads = (name: string): (Uint8Array | null)[] => {
    const wp = plan.workflows.find((w) => w.name === name);
    assert.ok(wp);
    return splitExecutor(wp.definition.executor, 1).map((share, thread) => {
      if (!share) return null;
      const spawn: SpawnPayload = {
        bundle: { path: bundle.path, hash: bundle.hash, source: bundle.source },
        workflow: name,
        share,
        thread,
        threads: 1,
        data: undefined,
        context: {},
        baseUrl: undefined,
        windowMs: 100,
        cancelGraceMs: 0,
      };
      return encodePayload(spawn, 'spawn');
    });
  };
  pool = await ThreadPool.start({ size: 1 });

  const spin = pool.runJob('spin', payloads('spin'), () => undefined);
  await delay(500); // the step is spinning by now: nothing more comes from that thread
  assert.equal(spin.terminateStalled(60_000, 'is quiet'), 0, 'not quiet for a minute yet');
  assert.equal(spin.terminateStalled(0, 'was stuck'), 1);
  const stuck = await spin.done;
  assert.match(stuck.workers[0]?.failure ?? '', /^worker 0 was stuck; it was terminated$/);

  const windows: StatsWindow[] = [];
  const count = pool.runJob('count', payloads('count'), (_worker, w) => windows.push(w));
  const report = await count.done;
  assert.equal(report.workers[0]?.failure, undefined);
  const ok = windows.reduce((n, w) => n + (w.steps['one']?.ok ?? 0), 0);
  assert.equal(ok, 5, 'the fresh thread ran all five iterations');
});
