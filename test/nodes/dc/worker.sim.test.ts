// Sim tests of the worker node against a small fake manager speaking work-wire: what it checks
// in a dispatch, how it numbers and resends its windows, how it reports a part's end, and how
// it honours a cancel.

import assert from 'node:assert/strict';
import {
  CORE_MESSAGES,
  MessageRegistry,
  ProtocolServer,
  type AnyMessage,
  type RpcConnection,
  type RpcReply,
} from '../../../src/protocol/index.js';
import type { Simulation } from '../../../src/runtime/sim/index.js';
import { WORK_MESSAGES } from '../../../src/nodes/jobs/work-wire.js';
import { SyntheticExecutor } from '../../../src/nodes/worker/synthetic-executor.js';
import { WorkerNode } from '../../../src/nodes/worker/worker-node.js';
import { seedsFrom, simTest } from '../../support/sim.js';
import { BUNDLE } from './support/dc-cluster.js';

interface FakeManager {
  conn: RpcConnection | null;
  registered: AnyMessage[];
  windows: { dispatchId: string; thread: number; seq: number }[];
  done: AnyMessage[];
  /** Refuse work.windows while true. */
  refuseWindows: boolean;
  /** Ends refused before the manager takes one (the acknowledgement was "lost"). */
  refuseDone: number;
  doneAttempts: number;
  /** The backpressure level the fake manager signals (none when undefined). */
  level?: 'none' | 'throttle' | 'batch' | 'reject';
  /** Each work.windows request: when it came and how many windows it carried. */
  requests: { atMs: number; count: number }[];
}

function setup(sim: Simulation, cores = 2, durationMs = 3_000) {
  const fm: FakeManager = {
    conn: null,
    registered: [],
    windows: [],
    done: [],
    refuseWindows: false,
    refuseDone: 0,
    doneAttempts: 0,
    requests: [],
  };
  let worker: WorkerNode | null = null;
  let executor: SyntheticExecutor | null = null;
  sim.addNode({ id: 'fm', dc: 'a' }, async (rt) => {
    const registry = new MessageRegistry(CORE_MESSAGES).register(...WORK_MESSAGES);
    const server = new ProtocolServer({
      stream: rt.stream,
      timers: rt.timers,
      registry,
      identity: {
        nodeId: 'fm',
        role: 'manager',
        clusterId: 'salvo',
        environment: 'default',
        datacenter: 'a',
        capabilities: [],
      },
      log: rt.log,
    });
    server.handle('worker.register', (m, ctx) => {
      fm.registered.push(m);
      fm.conn = ctx.peer;
      return {
        t: 'worker.registered',
        worker: m.worker,
        incarnation: m.incarnation,
        manager: 'fm',
        leader: true,
        version: { major: 1, minor: 0 },
        capabilities: [],
        heartbeatMs: 200,
      };
    });
    server.handle('worker.heartbeat', () => ({ t: 'worker.heartbeat-ack', known: true }));
    server.handle('work.windows', (m) => {
      fm.requests.push({ atMs: rt.clock.monotonicMs(), count: (m.windows as unknown[]).length });
      if (fm.refuseWindows) return { t: 'error', code: 'E_BUSY', message: 'not now' };
      for (const w of m.windows as { thread: number; seq: number }[])
        fm.windows.push({ dispatchId: m.dispatchId as string, thread: w.thread, seq: w.seq });
      return {
        t: 'work.windows-ack',
        dispatchId: m.dispatchId,
        accepted: (m.windows as unknown[]).length,
        duplicates: 0,
        ...(fm.level !== undefined ? { backpressure: fm.level } : {}),
      };
    });
    server.handle('work.done', (m) => {
      fm.doneAttempts++;
      if (fm.refuseDone > 0) {
        fm.refuseDone--;
        return { t: 'error', code: 'E_BUSY', message: 'lost' };
      }
      fm.done.push(m);
      return { t: 'work.done-ack', dispatchId: m.dispatchId };
    });
    await server.start();
  });
  sim.addNode({ id: 'w1', dc: 'a' }, async (rt) => {
    executor = new SyntheticExecutor(rt, { durationMs });
    worker = await WorkerNode.start(rt, {
      dc: 'a',
      id: 'w1',
      managers: new Map([['fm', sim.node('fm').address]]),
      cores,
      executor,
      heartbeatMs: 200,
      resendMs: 200,
    });
  });
  const send = async (message: { t: string } & Record<string, unknown>): Promise<RpcReply> => {
    let out: RpcReply | undefined;
    void fm.conn!.request(message, { timeoutMs: 5_000 }).then((r) => (out = r));
    await sim.runUntil(() => out !== undefined, { maxMs: 10_000 });
    return out!;
  };
  return { fm, send, worker: () => worker!, executor: () => executor! };
}

const dispatch = (over: Record<string, unknown> = {}) => ({
  t: 'work.dispatch',
  dispatchId: 'd1',
  job: 'job-1',
  workflow: 'wf',
  fence: 10,
  incarnation: 1,
  bundle: BUNDLE,
  shares: [
    { config: { type: 'constant-vus', vus: 2, durationMs: 3_000, gracefulStopMs: 0 }, phase: 0 },
    { config: { type: 'constant-vus', vus: 1, durationMs: 3_000, gracefulStopMs: 0 }, phase: 0 },
  ],
  firstThread: 0,
  threads: 2,
  data: null,
  context: {},
  windowMs: 1_000,
  cancelGraceMs: 300,
  ...over,
});

async function registered(sim: Simulation, fm: FakeManager): Promise<void> {
  assert.ok(await sim.runUntil(() => fm.conn !== null, { maxMs: 5_000 }));
}

simTest(
  'MW-8.1.1 LT-41.3.2 a dispatch is validated at the worker: bad shares, another incarnation, a stale fence and too many threads are refused',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const { fm, send, worker } = setup(sim);
    await registered(sim, fm);
    const code = (r: RpcReply): string | null => (r.ok ? null : r.error.code);
    assert.equal(
      code(await send(dispatch({ shares: [{ config: { type: 'nope' }, phase: 0 }] }))),
      'E_INVALID',
    );
    assert.equal(code(await send(dispatch({ shares: [] }))), 'E_INVALID');
    assert.equal(code(await send(dispatch({ incarnation: 7 }))), 'E_STALE_INCARNATION');
    assert.equal(code(await send({ t: 'work.dispatch', dispatchId: 'x' })), 'schema');
    assert.equal(code(await send(dispatch())), null);
    assert.equal(code(await send(dispatch({ dispatchId: 'd2', fence: 10 }))), 'E_STALE_FENCE');
    assert.equal(
      code(await send(dispatch({ dispatchId: 'd3', workflow: 'other', fence: 11 }))),
      'E_NO_CORES',
    );
    assert.equal(worker().slots.activeCount, 1, 'only the valid dispatch runs');
    const dup = await send(dispatch());
    assert.ok(
      dup.ok && dup.message.duplicate === true,
      'a resent dispatch is acknowledged as a duplicate',
    );
  },
);

simTest(
  'MW-8.3.3 MW-8.4.1 MW-8.5.1 MW-8.5.2 MW-8.5.3 a part streams windows numbered per thread, then reports its end once they are all acknowledged, and frees its cores',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const { fm, send, worker, executor } = setup(sim);
    await registered(sim, fm);
    assert.ok((await send(dispatch())).ok);
    assert.equal(worker().slots.freeCores, 0);
    assert.ok(await sim.runUntil(() => fm.done.length === 1, { maxMs: 10_000 }));
    for (const thread of [0, 1]) {
      const seqs = fm.windows.filter((w) => w.thread === thread).map((w) => w.seq);
      assert.deepEqual(
        seqs,
        seqs.map((_, i) => i + 1),
        `thread ${thread}: 1, 2, 3… without gaps`,
      );
    }
    assert.equal(fm.windows.length, executor().counters.windows);
    const done = fm.done[0]!;
    assert.equal(done.outcome, 'completed');
    assert.deepEqual(done.lastSeq, [3, 3]);
    assert.ok((done.network as { requests: number }).requests > 0);
    assert.ok(await sim.runUntil(() => worker().slots.part('d1') === undefined, { maxMs: 1_000 }));
    assert.equal(worker().slots.freeCores, 2);
    assert.equal(worker().activeParts, 0);
  },
);

simTest(
  'MW-9.2.1 windows the manager does not take are buffered and resent; the end waits for them',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const { fm, send, executor } = setup(sim);
    await registered(sim, fm);
    fm.refuseWindows = true;
    assert.ok((await send(dispatch())).ok);
    await sim.run(4_000);
    assert.equal(fm.windows.length, 0);
    assert.equal(fm.done.length, 0, 'no end before the windows');
    fm.refuseWindows = false;
    assert.ok(await sim.runUntil(() => fm.done.length === 1, { maxMs: 10_000 }));
    assert.equal(fm.windows.length, executor().counters.windows);
    assert.equal(
      new Set(fm.windows.map((w) => `${w.thread}/${w.seq}`)).size,
      fm.windows.length,
      'no window twice',
    );
  },
);

simTest(
  'MW-14.2.2 MW-8.4.3 a cancelled part is acknowledged at once, drains, and ends cancelled',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const { fm, send, worker, executor } = setup(sim, 2, 60_000);
    await registered(sim, fm);
    assert.ok((await send(dispatch())).ok);
    await sim.run(1_500);
    const ack = await send({ t: 'work.cancel', job: 'job-1', fence: 10, reason: 'stop' });
    assert.ok(ack.ok);
    assert.deepEqual(ack.message.cancelling, ['d1']);
    assert.equal(worker().slots.part('d1')?.state, 'cancelling');
    assert.ok(await sim.runUntil(() => fm.done.length === 1, { maxMs: 5_000 }));
    assert.equal(fm.done[0]!.outcome, 'cancelled');
    assert.equal(executor().counters.cancelled, 1);
    assert.ok(executor().counters.windows < 10, 'it stopped long before its 60 s');
  },
);

simTest(
  "MW-6.3.1 a part's end whose acknowledgement is lost is sent again until the manager takes it",
  { seeds: seedsFrom(2) },
  async (sim) => {
    const { fm, send, worker } = setup(sim);
    await registered(sim, fm);
    fm.refuseDone = 2;
    assert.ok((await send(dispatch())).ok);
    assert.ok(await sim.runUntil(() => fm.done.length === 1, { maxMs: 15_000 }));
    assert.equal(fm.doneAttempts, 3);
    assert.equal(fm.done[0]!.outcome, 'completed');
    assert.ok(
      await sim.runUntil(() => worker().slots.part('d1') === undefined, { maxMs: 1_000 }),
      'forgotten once acknowledged',
    );
    await sim.run(2_000);
    assert.equal(fm.doneAttempts, 3, 'not sent again after the acknowledgement');
  },
);

/** Runs a 50 ms-window part under a fixed backpressure level; returns the non-empty sends' gaps. */
async function underLevel(sim: Simulation, level: 'none' | 'throttle' | 'batch' | 'reject') {
  const { fm, send, worker } = setup(sim, 2, 60_000);
  await registered(sim, fm);
  fm.level = level;
  assert.ok((await send(dispatch({ windowMs: 50 }))).ok);
  await sim.run(500);
  const from = fm.requests.length;
  await sim.run(3_000);
  const reqs = fm.requests.slice(from);
  const full = reqs.filter((r) => r.count > 0);
  const gaps = full.slice(1).map((r, i) => r.atMs - full[i]!.atMs);
  return { reqs, full, gaps, worker: worker() };
}

simTest(
  'MW-11.1.2 MW-11.2.1 MW-9.3.1 with no backpressure a worker sends its windows as they come',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const { full, gaps, worker } = await underLevel(sim, 'none');
    assert.ok(full.length >= 40, `about one send per 50 ms window, got ${full.length}`);
    assert.ok(Math.min(...gaps) < 100);
    assert.ok(worker.counters.backpressure.none > 0, 'the level was received');
  },
);

simTest(
  'MW-11.1.3 MW-11.2.2 MW-9.2.3 MW-9.3.2 under throttle a worker pauses between sends (nothing is dropped)',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const { full, gaps, worker } = await underLevel(sim, 'throttle');
    assert.ok(
      Math.min(...gaps) >= 190,
      `sends at least a resend period apart (less link jitter), got ${Math.min(...gaps)}`,
    );
    assert.ok(full.length <= 16 && full.length >= 10, `${full.length} sends in 3 s`);
    assert.ok(
      full.some((r) => r.count > 2),
      'windows accumulate between sends',
    );
    assert.ok(worker.counters.backpressure.throttle > 0);
    assert.equal(worker.counters.windowsDropped, 0);
  },
);

simTest(
  'MW-11.2.3 MW-9.3.3 under batch a worker accumulates windows and sends every few periods',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const { full, gaps, worker } = await underLevel(sim, 'batch');
    assert.ok(
      Math.min(...gaps) >= 780,
      `sends four resend periods apart (less link jitter), got ${Math.min(...gaps)}`,
    );
    assert.ok(full.length <= 4, `${full.length} sends in 3 s`);
    assert.ok(Math.max(...full.map((r) => r.count)) >= 20, 'big batches');
    assert.ok(worker.counters.backpressure.batch > 0);
  },
);

simTest(
  'under reject a worker holds its windows and only asks again; they all go once the level falls',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const { fm, send, worker } = setup(sim, 2, 4_000);
    await registered(sim, fm);
    assert.ok((await send(dispatch({ windowMs: 100 }))).ok);
    await sim.run(300);
    fm.level = 'reject';
    await sim.run(500);
    const held = fm.windows.length;
    await sim.run(2_000);
    assert.equal(fm.windows.length, held, 'no window sent while rejected');
    assert.ok(
      fm.requests.slice(-5).every((r) => r.count === 0),
      'only empty messages asking for the level',
    );
    fm.level = 'none';
    assert.ok(await sim.runUntil(() => fm.done.length === 1, { maxMs: 10_000 }));
    assert.equal(new Set(fm.windows.map((w) => `${w.thread}/${w.seq}`)).size, fm.windows.length);
    const last = fm.done[0]!.lastSeq as number[];
    assert.equal(fm.windows.length, last[0]! + last[1]!, 'every window arrived, none dropped');
    assert.ok(worker().counters.backpressure.reject > 0);
  },
);
