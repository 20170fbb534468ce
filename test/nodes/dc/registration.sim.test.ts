// Sim tests of worker registration with a DC's managers: registration and its facts, version
// and capability negotiation, restarts (new incarnations), silence and reaping.

import assert from 'node:assert/strict';
import { seedsFrom, simTest } from '../../support/sim.js';
import { DcCluster, errorCode } from './support/dc-cluster.js';

simTest(
  'MW-1.1.1 MW-1.1.2 MW-1.2.1 workers register with every manager of their DC, with their core counts',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: [
        { id: 'w1', cores: 2 },
        { id: 'w2', cores: 3 },
      ],
    });
    const leader = await c.ready();
    assert.ok(
      await sim.runUntil(() => [...c.managers.values()].every((m) => m.ctx.registry.size === 2), {
        maxMs: 5_000,
      }),
    );
    for (const m of c.managers.values()) {
      const now = m.ctx.now();
      assert.equal(m.ctx.registry.get('w1', now)!.cores, 2);
      assert.equal(m.ctx.registry.get('w2', now)!.cores, 3);
    }
    const l = c.managers.get(leader)!;
    const d = l.ctx.leadership.dispatcher()!;
    assert.equal(d.reservations.totalCores('w2'), 3, "the leader can reserve the worker's cores");
    assert.deepEqual(
      l.ctx.registry
        .offers(l.ctx.now(), (id) => d.reservations.freeCores(id))
        .map((o) => o.id)
        .sort(),
      ['w1', 'w2'],
    );
  },
);

simTest(
  'MW-17.1.1 MW-17.1.2 manager and worker advertise capabilities; the session keeps what both listed',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: [
        {
          id: 'w1',
          cores: 1,
          worker: {
            capabilities: ['work.cancel', 'future.thing'],
            version: { major: 1, minor: 7 },
          },
        },
      ],
    });
    await c.ready(['w1']);
    const w = c.workers.get('w1')!;
    assert.ok(
      await sim.runUntil(
        () => [...w.sessions.sessions.values()].every((s) => s.state === 'registered'),
        { maxMs: 5_000 },
      ),
    );
    for (const s of w.sessions.sessions.values()) {
      assert.deepEqual(s.capabilities, ['work.cancel']);
      assert.deepEqual(s.version, { major: 1, minor: 0 });
    }
    const m = c.leader();
    assert.deepEqual(m.ctx.registry.get('w1', m.ctx.now())!.capabilities, [
      'work.cancel',
      'future.thing',
    ]);
  },
);

simTest(
  'a worker of an unsupported major version is refused with a clear error and never offered',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: [
        { id: 'w1', cores: 1 },
        { id: 'old', cores: 4, worker: { version: { major: 2, minor: 0 } } },
      ],
    });
    await c.ready(['w1']);
    const old = c.workers.get('old')!;
    assert.ok(
      await sim.runUntil(
        () => [...old.sessions.sessions.values()].every((s) => s.state === 'refused'),
        { maxMs: 5_000 },
      ),
    );
    for (const s of old.sessions.sessions.values())
      assert.match(s.refusal ?? '', /2\.0 is not supported/);
    await sim.run(2_000);
    for (const m of c.managers.values()) {
      assert.equal(m.ctx.registry.get('old', m.ctx.now()), undefined);
      assert.ok(m.directory.counters.versionRefused >= 1);
    }
    assert.ok(sim.logs.some((l) => l.includes('worker refused (work protocol version)')));
  },
);

simTest(
  'MW-1.1.4 a restarted worker registers a new incarnation; its old parts fail (no other worker to take them) and their cores come back',
  { seeds: seedsFrom(4) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: [{ id: 'w1', cores: 2, synthetic: { durationMs: 60_000 } }],
      manager: { recovery: { waitMs: 1_000 } },
    });
    const leader = await c.ready(['w1']);
    const r = await c.call(leader, c.dispatchMsg('job-1', 'wf', 2));
    assert.ok(r.ok, JSON.stringify(r));
    const m = c.managers.get(leader)!;
    const inc1 = m.ctx.registry.get('w1', m.ctx.now())!.incarnation;
    sim.crash('w1');
    sim.restart('w1');
    assert.ok(
      await sim.runUntil(() => (m.ctx.registry.get('w1', m.ctx.now())?.incarnation ?? 0) > inc1, {
        maxMs: 5_000,
      }),
    );
    assert.equal(c.workers.get('w1')!.incarnation, inc1 + 1);
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 10_000 }));
    assert.equal(c.gate.done[0]!.outcome, 'failed');
    assert.equal(m.ctx.leadership.dispatcher()!.reservations.freeCores('w1'), 2);
  },
);

simTest(
  'MW-1.3.3 MW-16.3.2 LT-37.2.3 LT-44.7 a worker that goes silent is marked unhealthy, then reaped with all its state',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: [
        { id: 'w1', cores: 1 },
        { id: 'w2', cores: 1 },
      ],
    });
    const leader = await c.ready();
    const m = c.managers.get(leader)!;
    sim.crash('w2');
    assert.ok(
      await sim.runUntil(() => m.ctx.registry.healthCounts(m.ctx.now()).unhealthy === 1, {
        maxMs: 5_000,
      }),
    );
    const cap = await c.call(leader, { t: 'dc.capacity' });
    assert.ok(cap.ok);
    assert.equal(cap.message.workers, 2);
    assert.equal(cap.message.healthyWorkers, 1);
    assert.ok(
      await sim.runUntil(() => m.ctx.registry.get('w2', m.ctx.now()) === undefined, {
        maxMs: 10_000,
      }),
    );
    assert.equal(m.ctx.workerConns.has('w2'), false);
    assert.equal(m.ctx.leadership.dispatcher()!.reservations.totalCores('w2'), 0);
    assert.equal(m.ctx.registry.counters.reaped, 1);
  },
);

simTest(
  'MW-16.3.1 dc.capacity reports the leader, workers and cores from any manager',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: [
        { id: 'w1', cores: 2 },
        { id: 'w2', cores: 3 },
      ],
    });
    const leader = await c.ready();
    const follower = c.managerIds.find((id) => id !== leader)!;
    assert.ok(
      await sim.runUntil(() => c.managers.get(follower)!.ctx.registry.size === 2, { maxMs: 5_000 }),
    );
    for (const id of [leader, follower]) {
      const r = await c.call(id, { t: 'dc.capacity' });
      assert.ok(r.ok, JSON.stringify(r));
      assert.equal(r.message.workers, 2);
      assert.equal(r.message.totalCores, 5);
      assert.equal(r.message.freeCores, 5);
      assert.deepEqual(r.message.leader, { nodeId: leader, address: c.peers.get(leader) });
    }
    assert.equal(errorCode(await c.call(leader, { t: 'dc.capacity' })), null);
  },
);
