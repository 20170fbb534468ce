// Sim tests of a datacenter following its job to a new owner gate, with real managers and
// workers and a test gate: `dc.adopt` with a higher fence is answered with the workflows the DC
// ran and how many windows it queues again, and everything the DC had delivered goes out again
// (under the new fence) — once, however often the adopt is repeated; an older fence is refused;
// `dc.release` lets go of what was kept. A dispatch racing the transfer runs the workflow once,
// and its windows and end reach the new owner.

import assert from 'node:assert/strict';
import type { RpcReply } from '../../../src/protocol/index.js';
import { seedsFrom, simTest } from '../../support/sim.js';
import { DcCluster, GATE_ADDRESS, errorCode } from '../dc/support/dc-cluster.js';

const adopt = (job: string, fence: number, ownerGate = 'g2') => ({
  t: 'dc.adopt',
  job,
  fence,
  ownerGate,
  ownerAddress: GATE_ADDRESS,
});

simTest(
  'GM-13.2.3 a DC takes a handover: dc.adopted names its workflows and the windows it queues again, the new owner gets every window and the end again under its fence, a repeat resends nothing, an older fence is refused, and dc.release lets go',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const c = new DcCluster(sim);
    const leader = await c.ready();
    const job = 'job-handover';
    const d = await c.call(leader, c.dispatchMsg(job, 'wf', 4));
    assert.ok(d.ok, JSON.stringify(d));
    assert.ok(
      await sim.runUntil(() => c.gate.done.some((x) => x.job === job), { maxMs: 30_000 }),
      'the workflow ended at the first owner',
    );
    await sim.run(1_000);
    const delivered = c.gate.windows;
    const doneBefore = c.gate.doneMessages;
    assert.ok(delivered > 0);

    const a = await c.call(leader, adopt(job, 2));
    assert.ok(a.ok, JSON.stringify(a));
    assert.deepEqual(a.message['workflows'], { wf: 'completed' });
    assert.equal(a.message['requeued'], delivered, 'every delivered window is queued again');
    assert.equal(a.message['complete'], true);
    assert.ok(
      await sim.runUntil(
        () => c.gate.windows === 2 * delivered && c.gate.doneMessages > doneBefore,
        { maxMs: 10_000 },
      ),
      'the windows and the end went out again',
    );
    assert.equal(c.gate.duplicates, delivered, 'each again exactly once (the merger says so)');
    assert.equal(c.mergedRequests(job), c.producedRequests());
    const m = c.managers.get(leader)!;
    assert.equal(m.ctx.state.job(job)?.fence, 2);
    assert.equal(m.ctx.state.job(job)?.ownerGate, 'g2');

    // The same adopt again (its answer lost): nothing is sent twice.
    const again = await c.call(leader, adopt(job, 2));
    assert.ok(again.ok && again.message['requeued'] === 0, JSON.stringify(again));
    await sim.run(2_000);
    assert.equal(c.gate.windows, 2 * delivered);
    // The old owner (fence 1) is refused.
    const stale = await c.call(leader, adopt(job, 1, 'g1'));
    assert.equal(errorCode(stale), 'E_STALE_FENCE');

    const released = await c.call(leader, { t: 'dc.release', job, fence: 2 });
    assert.ok(released.ok, JSON.stringify(released));
    assert.equal(m.ctx.relay.retainedCount(job), 0);
    assert.equal(m.handover.endsKept, 0);
    // Released, the DC can no longer send everything again, and says so.
    const late = await c.call(leader, adopt(job, 3));
    assert.ok(late.ok && late.message['complete'] === false, JSON.stringify(late));
  },
);

simTest(
  "LT-28.2.2 LT-41.3.1 a dispatch from the old owner racing the transfer to a new owner: the new owner's dispatch under the current fence is taken (the old one is refused, or moved to the new owner), the workflow runs once, and its windows and end reach the new owner under its fence",
  { seeds: seedsFrom(5) },
  async (sim) => {
    const c = new DcCluster(sim);
    const leader = await c.ready();
    const job = 'job-race';
    let dispatched: RpcReply | undefined;
    let adopted: RpcReply | undefined;
    void c.ask(leader, c.dispatchMsg(job, 'wf', 4)).then((r) => (dispatched = r));
    void c.ask(leader, adopt(job, 2)).then((r) => (adopted = r));
    assert.ok(
      await sim.runUntil(() => dispatched !== undefined && adopted !== undefined, {
        maxMs: 20_000,
      }),
    );
    assert.ok(adopted!.ok, JSON.stringify(adopted));
    if (!dispatched!.ok) {
      // The transfer came first: the old owner's dispatch is refused, the new owner's runs it.
      assert.equal(errorCode(dispatched!), 'E_STALE_FENCE');
      const d = await c.call(leader, c.dispatchMsg(job, 'wf', 4, { fence: 2, ownerGate: 'g2' }));
      assert.ok(d.ok && d.message['duplicate'] === false, JSON.stringify(d));
    } else {
      // The dispatch came first: the new owner's replay finds it running.
      const d = await c.call(leader, c.dispatchMsg(job, 'wf', 4, { fence: 2, ownerGate: 'g2' }));
      assert.ok(d.ok && d.message['duplicate'] === true, JSON.stringify(d));
    }
    assert.ok(
      await sim.runUntil(() => c.gate.done.some((x) => x.job === job), { maxMs: 30_000 }),
      'the workflow ended',
    );
    const ends = c.gate.done.filter((x) => x.job === job);
    assert.equal(ends.at(-1)?.['fence'], 2, 'its end went to the new owner');
    assert.equal(c.managers.get(leader)!.dispatch.counters.accepted, 1, 'it ran once');
    assert.equal(c.mergedRequests(job), c.producedRequests(), 'every window reached a gate once');
  },
);
