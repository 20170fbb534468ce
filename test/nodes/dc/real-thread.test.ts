// The DC path on the real runtime: a manager and a worker on loopback with mutual TLS
// (certificates from `salvo certs`' code), the worker running its share on real threads
// (ThreadExecutor over the ThreadPool), and a small gate that dispatches and merges the
// windows it gets back.

import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { WindowMerger } from '../../../src/cluster/jobs/window-merger.js';
import { bundleWorkflow } from '../../../src/engine/loader.js';
import {
  CORE_MESSAGES,
  MessageRegistry,
  ProtocolServer,
  type AnyMessage,
} from '../../../src/protocol/index.js';
import { DC_MESSAGES } from '../../../src/nodes/jobs/dc-wire.js';
import { PeerLinks } from '../../../src/nodes/jobs/peer-links.js';
import { ManagerNode } from '../../../src/nodes/manager/manager-node.js';
import { WorkerNode } from '../../../src/nodes/worker/worker-node.js';
import { ThreadPool } from '../../../src/pool/pool.js';
import { ThreadExecutor } from '../../../src/pool/thread-executor.js';
import type { RealRuntime } from '../../../src/runtime/real/index.js';
import { makeCerts } from '../../support/certs.js';
import { CACHE_DIR, fixture } from '../../support/cli.js';
import { runtime, tempDir, waitFor } from '../../runtime/real/support.js';

process.env['SALVO_CACHE_DIR'] = CACHE_DIR;

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

test(
  'a worker runs its dispatched share on real threads; every window reaches the gate over mutual TLS',
  { timeout: 120_000 },
  async () => {
    const certs = makeCerts([]);
    cleanups.push(() => certs.cleanup());
    certs.add('m1', 'manager', 'a');
    certs.add('w1', 'worker', 'a');
    certs.add('g1', 'gate', 'a');
    const dirs = await Promise.all(['m1', 'w1', 'g1'].map((id) => tempDir(`dc-${id}`)));
    for (const d of dirs) cleanups.push(d.cleanup);
    const rts: RealRuntime[] = ['m1', 'w1', 'g1'].map((id, i) =>
      runtime(id, dirs[i]!.dir, { tls: certs.node(id), logLevel: 'info' }),
    );
    cleanups.push(async () => {
      for (const rt of rts) await rt.close();
    });
    const [mrt, wrt, grt] = rts as [RealRuntime, RealRuntime, RealRuntime];
    assert.equal(mrt.stream.secure, true);

    // The gate: merges windows, records workflow ends.
    const merger = new WindowMerger();
    const done: AnyMessage[] = [];
    const registry = new MessageRegistry(CORE_MESSAGES).register(...DC_MESSAGES);
    const identity = {
      nodeId: 'g1',
      role: 'gate' as const,
      clusterId: 'salvo',
      environment: 'default',
      datacenter: 'a',
      capabilities: [],
    };
    const gate = new ProtocolServer({
      stream: grt.stream,
      timers: grt.timers,
      registry,
      identity,
      log: grt.log,
      connection: { requireAuthentication: true },
    });
    gate.handle('dc.windows', (m) => {
      let merged = 0;
      for (const w of m.windows as { source: string; window: unknown }[]) {
        const r = merger.apply(
          { job: m.job as string, dc: m.dc as string, worker: w.source, window: w.window },
          0,
        );
        assert.ok(r.ok, JSON.stringify(r));
        if (r.merged) merged++;
      }
      return { t: 'dc.windows-ack', job: m.job, merged, duplicates: 0, rejected: 0 };
    });
    gate.handle('dc.workflow-done', (m) => {
      done.push(m);
      return { t: 'dc.workflow-done-ack', job: m.job, workflow: m.workflow };
    });
    const gateAddress = (await gate.start()).address;
    cleanups.push(() => gate.close());

    // The manager (a one-member Raft group) and the worker with two threads.
    const placeholder = new Map([['m1', { host: '127.0.0.1', port: 0 }]]);
    const manager = await ManagerNode.start(mrt, {
      dc: 'a',
      id: 'm1',
      peers: placeholder,
      heartbeatMs: 200,
    });
    cleanups.push(() => manager.stop());
    const managerAddress = await manager.address();
    const bundle = await bundleWorkflow(fixture('pool-jobs.ts'));
    const pool = await ThreadPool.start({ size: 2 });
    const executor = new ThreadExecutor({
      pool,
      bundles: (ref) => Promise.resolve(ref.hash === bundle.hash ? bundle : null),
    });
    const worker = await WorkerNode.start(wrt, {
      dc: 'a',
      id: 'w1',
      managers: new Map([['m1', managerAddress]]),
      cores: 2,
      executor,
      heartbeatMs: 200,
    });
    cleanups.push(() => worker.stop());
    await waitFor(
      () => manager.isLeader() && manager.ctx.workerConns.has('w1'),
      20_000,
      'leader with a registered worker',
    );

    const links = new PeerLinks(grt, { registry, identity, handlers: new Map() });
    cleanups.push(() => links.close());
    const conn = await links.get(managerAddress, 'm1');
    assert.equal(conn.session?.authenticated, true);
    const reply = await conn.request(
      {
        t: 'dc.dispatch',
        job: 'job-real',
        fence: 1,
        ownerGate: 'g1',
        ownerAddress: gateAddress,
        workflow: 'count',
        attempt: 1,
        bundle: { hash: bundle.hash, sizeBytes: bundle.source.length, file: 'pool-jobs.ts' },
        share: {
          config: {
            type: 'shared-iterations',
            vus: 2,
            iterations: 10,
            maxDurationMs: 30_000,
            gracefulStopMs: 1_000,
          },
          phase: 0,
        },
        data: null,
        context: {},
        windowMs: 100,
        cancelGraceMs: 500,
      },
      { timeoutMs: 30_000 },
    );
    assert.ok(reply.ok, JSON.stringify(reply));
    assert.deepEqual(reply.message.workers, ['w1']);
    assert.equal(reply.message.cores, 2);
    await waitFor(() => done.length === 1, 60_000, 'the workflow end at the gate');
    assert.equal(done[0]!.outcome, 'completed');
    const view = merger.view('job-real')!;
    assert.equal(
      view.workflows['count']!.steps['one']!.ok,
      10,
      'ten iterations over two threads, each counted once',
    );
    assert.deepEqual(
      Object.keys(view.dcs['a']!.workers)
        .map((k) => k.replace(/\/[^/]+$/, ''))
        .sort(),
      ['w1#1/0', 'w1#1/1'],
      'one source per worker incarnation and thread (and part)',
    );
  },
);
