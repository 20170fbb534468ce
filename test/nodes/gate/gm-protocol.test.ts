// Sim tests of the protocol agreement between a gate and a DC's managers: each side's hello
// advertises its version and capabilities, the link keeps what both share and the lower minor
// version, older and newer minors of the same major still run jobs, and another major is refused
// at the handshake with an error naming both versions.

import assert from 'node:assert/strict';
import { simTest, seedsFrom } from '../../support/sim.js';
import {
  PROTOCOL_VERSION,
  type ProtocolVersion,
  type RpcConnection,
  type RpcReply,
} from '../../../src/protocol/index.js';
import { GateCluster, SimClient, addr, submission } from './support/gate-cluster.js';

/** Runs one job on DC a with a manager speaking `protocol`; returns the gate's link to it. */
async function jobWith(
  sim: Parameters<Parameters<typeof simTest>[2]>[0],
  protocol: ProtocolVersion,
  capabilities: readonly string[] = ['jobs'],
): Promise<{ cluster: GateCluster; link: RpcConnection }> {
  const cluster = new GateCluster(sim, {
    managers: [{ id: 'a-m1', dc: 'a', leader: true, protocol, capabilities }],
  });
  const client = new SimClient(sim, cluster);
  await cluster.waitForLeader();
  const accepted = await client.ask('g1', submission({ dcs: ['a'] }));
  assert.ok(accepted.ok, JSON.stringify(accepted));
  const job = accepted.message.job as string;
  assert.ok(
    await sim.runUntil(() => cluster.gate('g1').ledger.job(job)?.status === 'completed', {
      maxMs: 20_000,
    }),
    'the job completes',
  );
  const link = await cluster.gate('g1').state.links.connection(addr('a', 'a-m1'));
  if (link instanceof Error) throw link;
  return { cluster, link };
}

simTest(
  "GM-17.1.1 GM-17.1.2 GM-17.1.3 GM-17.2.1 GM-2.1.2: a manager of the same version advertises its capabilities; gate and manager keep the ones they share on the gate's link to that manager",
  { seeds: seedsFrom(2) },
  async (sim) => {
    const { cluster, link } = await jobWith(sim, PROTOCOL_VERSION, ['jobs', 'batched_stats']);
    const gateView = link.session!;
    assert.deepEqual(gateView.capabilities, ['jobs']);
    assert.equal(gateView.remoteNodeId, 'a-m1');
    assert.equal(gateView.remoteRole, 'manager');
    assert.deepEqual(gateView.protocol, PROTOCOL_VERSION);
    assert.deepEqual(gateView.remoteProtocol, PROTOCOL_VERSION);
    // The manager agreed the same on its side of every request the gate sent.
    const m = cluster.manager('a-m1');
    assert.ok(m.sessions.length >= 2);
    for (const s of m.sessions) {
      assert.deepEqual(s.capabilities, ['jobs']);
      assert.deepEqual(s.protocol, PROTOCOL_VERSION);
      assert.equal(s.remoteRole, 'gate');
    }
    // The agreement is kept per manager: the next request reuses the same link.
    const again = await cluster.gate('g1').state.links.connection(addr('a', 'a-m1'));
    assert.equal(again, link);
  },
);

simTest(
  'GM-17.2.2: a manager on an older minor version runs the job; the link works at its lower minor',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const older = { major: PROTOCOL_VERSION.major, minor: 0 };
    const { cluster, link } = await jobWith(sim, older);
    assert.deepEqual(link.session?.protocol, older);
    assert.deepEqual(link.session?.remoteProtocol, older);
    for (const s of cluster.manager('a-m1').sessions) assert.deepEqual(s.protocol, older);
  },
);

simTest(
  "GM-17.2.3: a manager on a newer minor version runs the job; the link works at the gate's minor",
  { seeds: seedsFrom(2) },
  async (sim) => {
    const newer = { major: PROTOCOL_VERSION.major, minor: PROTOCOL_VERSION.minor + 5 };
    const { cluster, link } = await jobWith(sim, newer);
    assert.deepEqual(link.session?.protocol, PROTOCOL_VERSION);
    assert.deepEqual(link.session?.remoteProtocol, newer);
    for (const s of cluster.manager('a-m1').sessions) {
      assert.deepEqual(s.protocol, PROTOCOL_VERSION);
      assert.deepEqual(s.remoteProtocol, PROTOCOL_VERSION);
    }
  },
);

simTest(
  'a manager on another major version is refused at the handshake with an error naming both versions; its DC is not used',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [
        {
          id: 'a-m1',
          dc: 'a',
          leader: true,
          protocol: { major: PROTOCOL_VERSION.major + 1, minor: 0 },
        },
        { id: 'b-m1', dc: 'b', leader: true, workers: 1 },
      ],
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    let reply: RpcReply | undefined;
    void cluster
      .gate('g1')
      .state.links.request(addr('a', 'a-m1'), { t: 'dc.capacity' }, 2_000)
      .then((r) => (reply = r));
    assert.ok(await sim.runUntil(() => reply !== undefined, { maxMs: 5_000 }));
    assert.equal(reply?.ok, false);
    const message = reply.ok ? '' : reply.error.message;
    assert.match(message, /protocol major version mismatch/);
    assert.match(message, new RegExp(`${PROTOCOL_VERSION.major + 1}\\.0`));
    assert.equal(cluster.manager('a-m1').capacityAsks, 0);
    const accepted = await client.ask('g1', submission());
    assert.ok(accepted.ok, JSON.stringify(accepted));
    assert.deepEqual(accepted.message.targetDcs, ['b']);
    const named = await client.ask('g1', submission({ key: 'named', dcs: ['a'] }));
    assert.ok(!named.ok);
    assert.equal(named.error.code, 'E_NO_WORKERS');
  },
);
