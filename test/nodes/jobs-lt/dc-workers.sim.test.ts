// LT-41.12 / LT-41.23 / LT-41.28.3 sim tests on one DC (real managers in a Raft group, real
// workers with synthetic executors, the fake gate of the DC harness): how the managers learn
// about workers (a late manager, stale incarnations), who may join the DC (cluster and
// environment checked at the handshake), and a failed dispatch retried with the context stored
// with the gate's dispatch.

import assert from 'node:assert/strict';
import { seedsFrom, simTest } from '../../support/sim.js';
import {
  CORE_MESSAGES,
  MessageRegistry,
  type LocalIdentity,
  type RpcReply,
} from '../../../src/protocol/index.js';
import type { Runtime } from '../../../src/runtime/types.js';
import { PeerLinks } from '../../../src/nodes/jobs/peer-links.js';
import {
  WORK_CAPABILITIES,
  WORK_MESSAGES,
  WORK_PROTOCOL,
} from '../../../src/nodes/jobs/work-wire.js';
import { DC, DcCluster } from '../dc/support/dc-cluster.js';

/** A node that claims to be worker `as` (a stale process of it) and speaks work-wire. */
class ClaimingWorker {
  private links: PeerLinks | null = null;
  constructor(
    private readonly c: DcCluster,
    nodeId: string,
    private readonly as: string,
  ) {
    c.sim.addNode({ id: nodeId, dc: DC }, (rt: Runtime) => {
      const identity: LocalIdentity = {
        nodeId: as,
        role: 'worker',
        clusterId: 'salvo',
        environment: 'default',
        datacenter: DC,
        capabilities: ['jobs'],
      };
      this.links = new PeerLinks(rt, {
        registry: new MessageRegistry(CORE_MESSAGES).register(...WORK_MESSAGES),
        identity,
        handlers: new Map(),
      });
    });
  }

  async call(manager: string, m: { t: string } & Record<string, unknown>): Promise<RpcReply> {
    let out: RpcReply | undefined;
    let err: unknown;
    const links = this.links;
    if (links === null) throw new Error('not booted');
    links
      .get(this.c.peers.get(manager)!, manager)
      .then((conn) => conn.request(m, { timeoutMs: 5_000 }))
      .then(
        (r) => (out = r),
        (e: unknown) => (err = e),
      );
    await this.c.sim.runUntil(() => out !== undefined || err !== undefined, { maxMs: 10_000 });
    if (err !== undefined) throw err instanceof Error ? err : new Error(JSON.stringify(err));
    if (out === undefined) throw new Error(`no answer to ${m.t}`);
    return out;
  }

  register(manager: string, incarnation: number): Promise<RpcReply> {
    return this.call(manager, {
      t: 'worker.register',
      worker: this.as,
      dc: DC,
      incarnation,
      cores: 8,
      memoryBytes: 0,
      version: WORK_PROTOCOL,
      capabilities: [...WORK_CAPABILITIES],
      build: 'stale',
    });
  }

  heartbeat(manager: string, incarnation: number): Promise<RpcReply> {
    return this.call(manager, {
      t: 'worker.heartbeat',
      worker: this.as,
      incarnation,
      health: 'healthy',
      freeCores: 8,
      activeWork: 0,
    });
  }
}

simTest(
  'LT-41.12.3 after a worker restarts, an update from its old incarnation is refused by every manager and changes nothing',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const c = new DcCluster(sim, { workers: [{ id: 'w1', cores: 2 }] });
    const stale = new ClaimingWorker(c, 'old-w1', 'w1');
    await c.ready(['w1']);
    sim.crash('w1');
    sim.restart('w1');
    assert.ok(
      await sim.runUntil(
        () =>
          [...c.managers.values()].every(
            (m) => m.ctx.registry.get('w1', m.ctx.now())?.incarnation === 2,
          ),
        { maxMs: 10_000 },
      ),
      'every manager knows incarnation 2',
    );
    for (const id of c.managerIds) {
      const reg = await stale.register(id, 1);
      assert.equal(reg.ok, false, JSON.stringify(reg));
      if (!reg.ok) {
        assert.equal(reg.error.code, 'E_STALE_INCARNATION');
        assert.match(reg.error.message, /incarnation 1 is older than the registered 2/);
      }
      const hb = await stale.heartbeat(id, 1);
      assert.ok(hb.ok, JSON.stringify(hb));
      assert.equal(hb.message.known, false, 'a heartbeat of the old incarnation is not taken');
      const m = c.managers.get(id)!;
      const rec = m.ctx.registry.get('w1', m.ctx.now())!;
      assert.equal(rec.incarnation, 2);
      assert.equal(rec.cores, 2, 'the stale registration (8 cores) changed nothing');
    }
  },
);

simTest(
  'LT-41.12.5 a manager that joins late gets the full worker list (every worker, its cores and incarnation)',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: [
        { id: 'w1', cores: 1 },
        { id: 'w2', cores: 2 },
        { id: 'w3', cores: 3 },
      ],
    });
    // m3 goes down as soon as it is up, so the workers register with m1 and m2 alone.
    assert.ok(await sim.runUntil(() => c.managers.has('m3'), { maxMs: 1_000 }));
    sim.crash('m3');
    await c.ready(['w1', 'w2', 'w3']);
    await sim.run(3_000);
    assert.equal(sim.node('m3').up, false);
    sim.restart('m3');
    assert.ok(await sim.runUntil(() => c.managers.has('m3'), { maxMs: 1_000 }));
    assert.ok(c.managers.get('m3')!.ctx.registry.size < 3, 'm3 starts without the list');
    assert.ok(
      await sim.runUntil(() => (c.managers.get('m3')?.ctx.registry.size ?? 0) === 3, {
        maxMs: 10_000,
      }),
      'the late manager learns every worker',
    );
    const late = c.managers.get('m3')!;
    const leader = c.leader();
    for (const [id, cores] of [
      ['w1', 1],
      ['w2', 2],
      ['w3', 3],
    ] as const) {
      const got = late.ctx.registry.get(id, late.ctx.now())!;
      const ref = leader.ctx.registry.get(id, leader.ctx.now())!;
      assert.equal(got.cores, cores);
      assert.equal(got.incarnation, ref.incarnation);
      assert.ok(late.ctx.workerConns.has(id), `m3 can reach ${id}`);
    }
    const cap = await c.call('m3', { t: 'dc.capacity' });
    assert.ok(cap.ok, JSON.stringify(cap));
    assert.equal(cap.message.workers, 3);
    assert.equal(cap.message.totalCores, 6);
  },
);

for (const [field, value, code] of [
  ['clusterId', 'other-cluster', 'cluster_mismatch'],
  ['environment', 'staging', 'environment_mismatch'],
] as const) {
  simTest(
    `LT-41.23.1 a worker of another ${field === 'clusterId' ? 'cluster' : 'environment'} is refused at registration with ${code}, is never registered, and stops retrying`,
    { seeds: seedsFrom(2) },
    async (sim) => {
      const c = new DcCluster(sim, {
        workers: [
          { id: 'w1', cores: 1 },
          { id: 'stray', cores: 4, worker: { identity: { [field]: value } } },
        ],
      });
      await c.ready(['w1']);
      const stray = c.workers.get('stray')!;
      assert.ok(
        await sim.runUntil(
          () => [...stray.sessions.sessions.values()].every((s) => s.state === 'refused'),
          { maxMs: 5_000 },
        ),
        'every manager refused the stray worker',
      );
      for (const s of stray.sessions.sessions.values())
        assert.match(s.refusal ?? '', new RegExp(code));
      await sim.run(5_000);
      for (const m of c.managers.values())
        assert.equal(m.ctx.registry.get('stray', m.ctx.now()), undefined);
      // Refused once by each manager, logged once each, and not retried.
      const refusals = sim.logs.filter(
        (l) => l.includes('stray') && l.includes('a manager refused this worker'),
      );
      assert.equal(refusals.length, c.managerIds.length);
      for (const s of stray.sessions.sessions.values()) {
        assert.equal(s.state, 'refused');
        assert.equal(s.registrations, 0);
      }
      const cap = await c.call(c.leaderId()!, { t: 'dc.capacity' });
      assert.ok(cap.ok);
      assert.equal(cap.message.workers, 1);
    },
  );
}

simTest(
  'LT-41.28.3 a share retried after a worker dies is re-dispatched with the context stored from the gate, without asking the gate again',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: [
        { id: 'w1', cores: 2 },
        { id: 'w2', cores: 2 },
      ],
      manager: { registry: { suspectAfterMs: 60_000, reapAfterMs: 120_000 } },
    });
    const leaderId = await c.ready();
    const context = { login: { token: 'abc-123', user: 7 } };
    // w2 dies between its last heartbeat and the dispatch: the leader still offers it.
    sim.crash('w2');
    const r = await c.call(leaderId, c.dispatchMsg('job-1', 'wf2', 4, { context }));
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(r.message.workers, ['w1']);
    const leader = c.leader();
    assert.ok(leader.dispatch.counters.retries >= 1, 'the share was retried');
    assert.equal(leader.dispatch.counters.accepted, 1, 'the gate asked once');
    const specs = c.executors.get('w1')!.specs.filter((s) => s.workflow === 'wf2');
    assert.ok(specs.length >= 1);
    for (const s of specs) assert.deepEqual(s.context, context);
  },
);
