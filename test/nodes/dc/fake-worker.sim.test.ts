// Sim tests of what a manager does with a worker that misbehaves, played by a small fake
// worker speaking work-wire: registrations it may not make, and a part end that contradicts
// the one it already reported.

import assert from 'node:assert/strict';
import {
  CORE_MESSAGES,
  MessageRegistry,
  type AnyMessage,
  type HandlerTable,
  type RpcConnection,
  type RpcReply,
} from '../../../src/protocol/index.js';
import type { Simulation } from '../../../src/runtime/sim/index.js';
import { PeerLinks } from '../../../src/nodes/jobs/peer-links.js';
import { WORK_MESSAGES } from '../../../src/nodes/jobs/work-wire.js';
import { seedsFrom, simTest } from '../../support/sim.js';
import { DC, DcCluster } from './support/dc-cluster.js';

const register = (over: Record<string, unknown> = {}) => ({
  t: 'worker.register',
  worker: 'fw',
  dc: DC,
  incarnation: 1,
  cores: 1,
  memoryBytes: 0,
  version: { major: 1, minor: 0 },
  capabilities: ['work.cancel'],
  build: 'fake',
  ...over,
});

/** A fake worker node 'fw' connected to manager `to`; it accepts every dispatch it gets. */
async function fakeWorker(sim: Simulation, c: DcCluster, to: string) {
  const dispatches: AnyMessage[] = [];
  let conn: RpcConnection | null = null;
  sim.addNode({ id: 'fw', dc: DC }, async (rt) => {
    const handlers: HandlerTable = new Map();
    handlers.set('work.dispatch', (m) => {
      dispatches.push(m);
      return {
        t: 'work.accepted',
        dispatchId: m.dispatchId,
        threads: (m.shares as unknown[]).length,
        duplicate: false,
      };
    });
    const links = new PeerLinks(rt, {
      registry: new MessageRegistry(CORE_MESSAGES).register(...WORK_MESSAGES),
      handlers,
      identity: {
        nodeId: 'fw',
        role: 'worker',
        clusterId: 'salvo',
        environment: 'default',
        datacenter: DC,
        capabilities: [],
      },
    });
    conn = await links.get(c.peers.get(to)!, to);
  });
  assert.ok(await sim.runUntil(() => conn !== null, { maxMs: 5_000 }));
  const send = async (m: { t: string } & Record<string, unknown>): Promise<RpcReply> => {
    let out: RpcReply | undefined;
    void conn!.request(m, { timeoutMs: 5_000 }).then((r) => (out = r));
    await sim.runUntil(() => out !== undefined, { maxMs: 10_000 });
    return out!;
  };
  return { send, dispatches };
}

simTest(
  'MW-1.1.5 a registration for another worker, or from another DC, is refused, logged and counted',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const c = new DcCluster(sim, { workers: [] });
    const leader = await c.ready([]);
    const fw = await fakeWorker(sim, c, leader);
    const m = c.managers.get(leader)!;
    const other = await fw.send(register({ worker: 'w-someone-else' }));
    assert.equal(!other.ok && other.error.code, 'E_FORBIDDEN');
    const wrongDc = await fw.send(register({ dc: 'b' }));
    assert.equal(!wrongDc.ok && wrongDc.error.code, 'E_WRONG_DC');
    assert.equal(m.directory.counters.identityRefused, 1);
    assert.equal(m.directory.counters.wrongDc, 1);
    assert.equal(m.ctx.registry.size, 0, 'nothing was registered');
    assert.ok(
      sim.logs.some(
        (l) =>
          l.includes('registration for another worker refused') && l.includes('w-someone-else'),
      ),
    );
    assert.ok(sim.logs.some((l) => l.includes('registration from another DC refused')));
    const ok = await fw.send(register());
    assert.ok(ok.ok, 'the same connection may register itself');
  },
);

simTest(
  'MW-7.3.2 a part end that contradicts the one already recorded is refused and logged as a warning',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const c = new DcCluster(sim, { workers: [] });
    const leader = await c.ready([]);
    const fw = await fakeWorker(sim, c, leader);
    assert.ok((await fw.send(register())).ok);
    const r = await c.call(leader, c.dispatchMsg('job-1', 'wf', 1));
    assert.ok(r.ok, JSON.stringify(r));
    const d = fw.dispatches[0]!;
    const done = (outcome: string) => ({
      t: 'work.done',
      dispatchId: d.dispatchId,
      job: 'job-1',
      workflow: 'wf',
      incarnation: 1,
      outcome,
      published: {},
      network: { requests: 0, bytesSent: 0, bytesReceived: 0 },
      interrupted: 0,
      notes: [],
      lastSeq: [0],
    });
    assert.ok((await fw.send(done('completed'))).ok);
    assert.ok((await fw.send(done('completed'))).ok, 'a resent end is acknowledged quietly');
    assert.ok((await fw.send(done('failed'))).ok);
    const m = c.managers.get(leader)!;
    assert.equal(m.relay.counters.conflictingEnds, 1);
    const line = sim.logs.find((l) => l.includes('manager: part transition refused'));
    assert.ok(line);
    assert.match(line, / warn /);
    assert.match(line, /"from":"completed","to":"failed"/);
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 5_000 }));
    assert.equal(c.gate.done[0]!.outcome, 'completed', 'the first end stands');
  },
);
