// LT-41.23.2 / LT-41.28.5 sim tests against three real gates (fake managers of the gate harness):
// the role matrix at the gate's door (a worker may not talk to a gate), and a workflow end that
// names a workflow the job does not have (its published values are ignored, with a warning).

import assert from 'node:assert/strict';
import { seedsFrom, simTest } from '../../support/sim.js';
import {
  CORE_MESSAGES,
  MessageRegistry,
  type LocalIdentity,
  type RpcReply,
} from '../../../src/protocol/index.js';
import type { Simulation } from '../../../src/runtime/sim/index.js';
import type { Runtime } from '../../../src/runtime/types.js';
import { CLIENT_MESSAGES } from '../../../src/nodes/jobs/client-wire.js';
import { DC_MESSAGES, type DcDispatch } from '../../../src/nodes/jobs/dc-wire.js';
import { PeerLinks } from '../../../src/nodes/jobs/peer-links.js';
import { GateCluster, SimClient, submission } from '../gate/support/gate-cluster.js';

/** A sim node with one identity that sends requests to gates and reports reply or failure. */
class Speaker {
  private links: PeerLinks | null = null;
  constructor(
    private readonly sim: Simulation,
    private readonly cluster: GateCluster,
    id: string,
    dc: string,
    identity: LocalIdentity,
  ) {
    sim.addNode({ id, dc }, (rt: Runtime) => {
      this.links = new PeerLinks(rt, {
        registry: new MessageRegistry(CORE_MESSAGES).register(...CLIENT_MESSAGES, ...DC_MESSAGES),
        identity,
        handlers: new Map(),
      });
    });
  }

  async send(
    gate: string,
    m: { t: string } & Record<string, unknown>,
  ): Promise<{ reply?: RpcReply; error?: { code?: string; message: string } }> {
    const links = this.links;
    if (links === null) throw new Error('not booted');
    let out: { reply?: RpcReply; error?: { code?: string; message: string } } | undefined;
    links
      .get(this.cluster.gateAddresses.get(gate)!, gate)
      .then((c) => c.request(m, { timeoutMs: 5_000 }))
      .then(
        (reply) => (out = { reply }),
        (e: unknown) =>
          (out = {
            error: {
              message: e instanceof Error ? e.message : JSON.stringify(e),
              ...(typeof (e as { code?: unknown }).code === 'string'
                ? { code: (e as { code: string }).code }
                : {}),
            },
          }),
      );
    await this.sim.runUntil(() => out !== undefined, { maxMs: 10_000 });
    if (out === undefined) throw new Error(`no outcome for ${m.t}`);
    return out;
  }
}

const identity = (nodeId: string, role: LocalIdentity['role'], dc: string): LocalIdentity => ({
  nodeId,
  role,
  clusterId: 'salvo',
  environment: 'default',
  datacenter: dc,
  capabilities: ['jobs'],
});

simTest(
  'LT-41.23.2 a worker cannot reach a gate directly: the connection is refused by the role matrix, while a client reaches the same gate',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const cluster = new GateCluster(sim);
    const worker = new Speaker(sim, cluster, 'rogue-worker', 'a', identity('w9', 'worker', 'a'));
    const client = new Speaker(sim, cluster, 'some-client', 'a', identity('c1', 'client', 'a'));
    await cluster.waitForLeader();
    for (const gate of ['g1', 'g2']) {
      for (const m of [
        submission({ dcs: ['a'] }),
        { t: 'job.list' },
        { t: 'bundle.get', hash: 'a'.repeat(64) },
      ]) {
        const r = await worker.send(gate, m);
        assert.equal(r.reply, undefined, `${gate} answered a worker's ${m.t}`);
        assert.equal(r.error?.code, 'role_forbidden', JSON.stringify(r));
        assert.match(r.error?.message ?? '', /worker may not connect to a gate/);
      }
    }
    assert.equal(cluster.allDispatches().length, 0, 'nothing the worker sent reached a DC');
    for (const g of cluster.gates.values()) assert.equal(g.ledger.size, 0);
    const ok = await client.send('g1', { t: 'job.list' });
    assert.ok(ok.reply?.ok, JSON.stringify(ok));
  },
);

simTest(
  'LT-41.28.5 a workflow end for a workflow the job does not have is acknowledged but its values are ignored, with a warning',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const publish = (d: DcDispatch): Record<string, { value: unknown; atMs: number }> =>
      d.workflow === 'wf1' ? { token: { value: 'real', atMs: 1_000 } } : {};
    const cluster = new GateCluster(sim, {
      managers: [
        { id: 'a-m1', dc: 'a', leader: true, runMs: 3_000, publish },
        { id: 'b-m1', dc: 'b', leader: true, runMs: 3_000, publish },
      ],
    });
    const client = new SimClient(sim, cluster);
    const intruder = new Speaker(sim, cluster, 'a-mx', 'a', identity('a-mx', 'manager', 'a'));
    await cluster.waitForLeader();
    const wf = (name: string, dependsOn: string[], publishes: string[]): unknown => ({
      name,
      dependsOn,
      executor: { type: 'constant-vus', vus: 2, durationMs: 10_000, gracefulStopMs: 500 },
      steps: ['get'],
      publishes,
      thresholds: [],
      setup: null,
      teardown: null,
    });
    const plan = { version: 1, workflows: [wf('wf1', [], ['token']), wf('wf2', ['wf1'], [])] };
    const accepted = await client.ask('g1', submission({ dcs: ['a', 'b'], plan }));
    assert.ok(accepted.ok, JSON.stringify(accepted));
    const job = accepted.message.job as string;
    const watch = await client.ask('g1', { t: 'job.watch', job });
    assert.ok(watch.ok);
    assert.ok(await sim.runUntil(() => cluster.allDispatches().length === 2, { maxMs: 5_000 }));
    const ghost = await intruder.send('g1', {
      t: 'dc.workflow-done',
      job,
      dc: 'a',
      fence: accepted.message.fence,
      workflow: 'ghost',
      outcome: 'completed',
      parts: [
        {
          worker: 'a-w1',
          published: { token: { value: 'from-ghost', atMs: 99_000 } },
          network: { requests: 1, bytesSent: 0, bytesReceived: 0 },
          interrupted: 0,
          notes: [],
        },
      ],
    });
    assert.ok(ghost.reply?.ok, JSON.stringify(ghost));
    assert.equal(ghost.reply.message.t, 'dc.workflow-done-ack');
    assert.ok(
      sim.logs.some(
        (l) =>
          l.includes('warn') &&
          l.includes('end of an unknown workflow ignored') &&
          l.includes('ghost') &&
          l.includes('token'),
      ),
      'the gate warned',
    );
    // A repeated end of a workflow that did end (while the job runs) is a duplicate, not a warning.
    assert.ok(
      await sim.runUntil(
        () =>
          cluster
            .manager('a-m1')
            .acks.some((m) => m.t === 'dc.workflow-done-ack' && m.workflow === 'wf1'),
        { maxMs: 10_000 },
      ),
    );
    assert.ok(cluster.gate('g1').ledger.job(job)?.status !== 'completed');
    const warnings = sim.logs.filter((l) => l.includes('end of an unknown workflow')).length;
    const dup = await intruder.send('g1', {
      t: 'dc.workflow-done',
      job,
      dc: 'a',
      fence: accepted.message.fence,
      workflow: 'wf1',
      outcome: 'completed',
      parts: [],
    });
    assert.ok(dup.reply?.ok, JSON.stringify(dup));
    assert.equal(sim.logs.filter((l) => l.includes('end of an unknown workflow')).length, warnings);
    assert.ok(
      await sim.runUntil(() => client.notes.some((n) => n.t === 'job.result' && n.job === job), {
        maxMs: 30_000,
      }),
    );
    const result = client.notes.find((n) => n.t === 'job.result' && n.job === job)!;
    assert.equal(result.status, 'completed');
    const doc = result.results as { workflows: { name: string }[] };
    assert.deepEqual(
      doc.workflows.map((w) => w.name),
      ['wf1', 'wf2'],
    );
    const wf2 = cluster.allDispatches().filter((d) => d.workflow === 'wf2');
    assert.equal(wf2.length, 2);
    for (const d of wf2) assert.deepEqual(d.context, { wf1: { token: 'real' } });
  },
);
