// Sim tests of what flows up to the owner gate while a job runs: statistics windows from several
// DCs merged into one live view and streamed to watchers at least once a second; duplicates,
// reordering and stragglers counted once or not at all; a DC that never reports ends by timeout.

import assert from 'node:assert/strict';
import { simTest, seedsFrom } from '../../support/sim.js';
import type { AnyMessage } from '../../../src/protocol/index.js';
import type { RunResults } from '../../../src/stats/types.js';
import type { LiveSnapshot } from '../../../src/ui/snapshot.js';
import {
  GateCluster,
  SimClient,
  statsWindow,
  submission,
  type FakeManagerSpec,
} from './support/gate-cluster.js';

function snapshotsOf(client: SimClient, job: string): AnyMessage[] {
  return client.notes.filter((n) => n.t === 'job.snapshot' && n.job === job);
}

function resultOf(client: SimClient, job: string): AnyMessage | undefined {
  return client.notes.find((n) => n.t === 'job.result' && n.job === job);
}

const HOLD: FakeManagerSpec[] = [
  { id: 'a-m1', dc: 'a', leader: true, mode: 'hold' },
  { id: 'b-m1', dc: 'b', leader: true, mode: 'hold' },
];

simTest(
  'GM-7.1.3 GM-7.3.1 GM-7.1.5: windows from two DCs merge into one live view that reaches the watcher at least once a second',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim, { managers: HOLD });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const job = await client.submitAndWatch(submission({ dcs: ['a', 'b'], durationMs: 60_000 }));
    const from = sim.nowMs;
    await sim.run(5_000);
    const snaps = snapshotsOf(client, job);
    // At least one a second over the five seconds, numbered in order.
    assert.ok(snaps.length >= 5, `${snaps.length} snapshots in 5 s`);
    const seqs = snaps.map((s) => s.seq as number);
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => a - b),
    );
    assert.equal(new Set(seqs).size, seqs.length);
    // The latest shows both DCs' windows merged: 2 DCs × 2 windows × 10 requests.
    const live = snaps.at(-1)?.stats as LiveSnapshot;
    assert.equal(live.workflows[0]?.count, 40);
    assert.deepEqual(snaps.at(-1)?.dcs, { a: 'accepted', b: 'accepted' });
    assert.ok(sim.nowMs - from >= 5_000);
  },
);

simTest(
  'GM-7.2.2 GM-9.4.1: windows and workflow ends sent twice by a retrying manager are counted once and end the job once',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [
        { id: 'a-m1', dc: 'a', leader: true, repeat: true },
        { id: 'b-m1', dc: 'b', leader: true, repeat: true },
      ],
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const job = await client.submitAndWatch(submission({ dcs: ['a', 'b'] }));
    assert.ok(await sim.runUntil(() => resultOf(client, job) !== undefined, { maxMs: 20_000 }));
    await sim.run(1_000);
    assert.equal(client.notes.filter((n) => n.t === 'job.result').length, 1);
    const doc = resultOf(client, job)?.results as RunResults;
    assert.equal(doc.workflows[0]?.totals.count, 40);
    const breakdown = resultOf(client, job)?.breakdown as Record<string, { requests: number }>;
    assert.equal(breakdown.a?.requests, 20);
    assert.equal(breakdown.b?.requests, 20);
    // Both copies were answered, so the manager could stop resending.
    const acks = cluster.manager('a-m1').acks.map((a) => a.t);
    assert.equal(acks.filter((t) => t === 'dc.windows-ack').length, 2);
    assert.equal(acks.filter((t) => t === 'dc.workflow-done-ack').length, 2);
  },
);

simTest(
  'GM-7.2.1: windows that arrive highest sequence first are all counted',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [{ id: 'a-m1', dc: 'a', leader: true, reverse: true, windows: 5 }],
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const job = await client.submitAndWatch(submission({ dcs: ['a'] }));
    assert.ok(await sim.runUntil(() => resultOf(client, job) !== undefined, { maxMs: 20_000 }));
    const doc = resultOf(client, job)?.results as RunResults;
    assert.equal(doc.workflows[0]?.totals.count, 50);
    assert.equal(resultOf(client, job)?.status, 'completed');
  },
);

simTest(
  'GM-7.2.3 GM-8.4.3 GM-7.2.4: windows under a stale fence or for an unknown job are refused, windows after the job ended are acknowledged as rejected, and nothing changes',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [{ id: 'a-m1', dc: 'a', leader: true, mode: 'hold' }],
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const job = await client.submitAndWatch(submission({ dcs: ['a'], durationMs: 60_000 }));
    const m = cluster.manager('a-m1');
    assert.ok(
      await sim.runUntil(() => m.acks.some((a) => a.t === 'dc.windows-ack'), { maxMs: 10_000 }),
    );
    const g1 = cluster.gateAddresses.get('g1')!;
    const fence = cluster.allDispatches()[0]!.fence;
    const window = {
      source: 'a-w9#1/0',
      workflow: 'wf1',
      seq: 1,
      window: statsWindow('wf1', 1, 99),
    };
    // While it runs, a window under another fence than the owner's is refused.
    let stale: unknown;
    void m
      .sendRaw(g1, { t: 'dc.windows', job, dc: 'a', fence: fence + 1, windows: [window] })
      .then((r) => (stale = r));
    assert.ok(await sim.runUntil(() => stale !== undefined, { maxMs: 5_000 }));
    const st = stale as { ok: boolean; error?: { code: string } };
    assert.equal(st.ok ? 'ok' : st.error?.code, 'E_STALE_FENCE');
    m.finish(job, 'wf1', 'completed');
    assert.ok(await sim.runUntil(() => resultOf(client, job) !== undefined, { maxMs: 20_000 }));
    let unknown: unknown;
    let late: unknown;
    void m
      .sendRaw(g1, {
        t: 'dc.windows',
        job: 'job-ffffffffffffffff',
        dc: 'a',
        fence,
        windows: [window],
      })
      .then((r) => (unknown = r));
    void m
      .sendRaw(g1, { t: 'dc.windows', job, dc: 'a', fence, windows: [window] })
      .then((r) => (late = r));
    assert.ok(
      await sim.runUntil(() => unknown !== undefined && late !== undefined, { maxMs: 5_000 }),
    );
    const u = unknown as { ok: boolean; error?: { code: string } };
    assert.equal(u.ok, false);
    assert.equal(u.error?.code, 'E_JOB_UNKNOWN');
    const l = late as { ok: boolean; message?: AnyMessage };
    assert.equal(l.ok, true);
    assert.deepEqual(
      { t: l.message?.t, merged: l.message?.merged, rejected: l.message?.rejected },
      { t: 'dc.windows-ack', merged: 0, rejected: 1 },
    );
    // The kept result did not change, and the gate still serves.
    const doc = resultOf(client, job)?.results as RunResults;
    assert.equal(doc.workflows[0]?.totals.count, 20);
    const again = await client.ask('g1', { t: 'job.watch', job });
    assert.ok(again.ok);
    assert.equal(again.message.t, 'job.result');
    assert.equal((again.message.results as RunResults).workflows[0]?.totals.count, 20);
  },
);

simTest(
  'GM-9.2.2: while one DC has not reported its workflow the job waits; its report ends the job',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [
        { id: 'a-m1', dc: 'a', leader: true, mode: 'hold' },
        { id: 'b-m1', dc: 'b', leader: true },
      ],
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const job = await client.submitAndWatch(submission({ dcs: ['a', 'b'], durationMs: 60_000 }));
    await sim.run(5_000);
    assert.equal(resultOf(client, job), undefined, 'no result while a has not reported');
    assert.equal(cluster.gate('g1').ledger.job(job)?.status, 'running');
    cluster.manager('a-m1').finish(job, 'wf1', 'completed');
    assert.ok(await sim.runUntil(() => resultOf(client, job) !== undefined, { maxMs: 10_000 }));
    assert.equal(resultOf(client, job)?.status, 'completed');
    assert.deepEqual(resultOf(client, job)?.dcs, { a: 'completed', b: 'completed' });
  },
);

simTest(
  "GM-9.2.3: a DC that never reports its workflow is ended past the workflow's hard end; the job fails naming it",
  { seeds: seedsFrom(2) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [
        { id: 'a-m1', dc: 'a', leader: true, mode: 'hang' },
        { id: 'b-m1', dc: 'b', leader: true },
      ],
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const job = await client.submitAndWatch(submission({ dcs: ['a', 'b'], durationMs: 1_000 }));
    assert.ok(await sim.runUntil(() => resultOf(client, job) !== undefined, { maxMs: 30_000 }));
    const result = resultOf(client, job)!;
    assert.equal(result.status, 'failed');
    assert.deepEqual(result.dcs, { a: 'timed-out', b: 'completed' });
    assert.match(result.failure as string, /datacenter a /);
  },
);

simTest(
  'GM-10.4.1: the manager leader of a DC dies before its final report; the job does not hang, it ends failed with that DC timed out',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [
        { id: 'a-m1', dc: 'a', leader: true, mode: 'hold' },
        { id: 'b-m1', dc: 'b', leader: true },
      ],
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const job = await client.submitAndWatch(submission({ dcs: ['a', 'b'], durationMs: 1_000 }));
    assert.ok(
      await sim.runUntil(() => cluster.manager('a-m1').acks.some((a) => a.t === 'dc.windows-ack'), {
        maxMs: 10_000,
      }),
    );
    sim.crash('a-m1');
    assert.ok(await sim.runUntil(() => resultOf(client, job) !== undefined, { maxMs: 30_000 }));
    const result = resultOf(client, job)!;
    assert.equal(result.status, 'failed');
    assert.deepEqual(result.dcs, { a: 'timed-out', b: 'completed' });
    // What a reported before it died is kept.
    const breakdown = result.breakdown as Record<string, { requests: number }>;
    assert.equal(breakdown.a?.requests, 20);
  },
);

simTest(
  'a long watch: a watcher that pings (as salvo watch does) gets snapshots for minutes; one that never sends is dropped at the idle timeout',
  { seeds: seedsFrom(1) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [{ id: 'a-m1', dc: 'a', leader: true, mode: 'hold' }],
    });
    const quiet = new SimClient(sim, cluster, 'quiet');
    const pinging = new SimClient(sim, cluster, 'pinging');
    await cluster.waitForLeader();
    const accepted = await pinging.ask('g1', submission({ dcs: ['a'], durationMs: 600_000 }));
    assert.ok(accepted.ok);
    const job = accepted.message.job as string;
    assert.ok((await pinging.ask('g1', { t: 'job.watch', job })).ok);
    const other = await quiet.ask('g1', submission({ dcs: ['a'], durationMs: 600_000 }));
    assert.ok(other.ok);
    const quietJob = other.message.job as string;
    assert.ok((await quiet.ask('g1', { t: 'job.watch', job: quietJob })).ok);
    for (let t = 0; t < 200; t += 15) {
      pinging.ping('g1');
      await sim.run(15_000);
    }
    const last = (c: SimClient, j: string): number =>
      (snapshotsOf(c, j).at(-1)?.elapsedMs as number | undefined) ?? 0;
    assert.ok(
      last(pinging, job) > 190_000,
      `pinging watcher's last snapshot at ${last(pinging, job)} ms`,
    );
    assert.ok(
      last(quiet, quietJob) < 130_000,
      `quiet watcher's last snapshot at ${last(quiet, quietJob)} ms`,
    );
    assert.equal(cluster.gate('g1').ownedJobs.get(quietJob)?.watcherCount, 0);
    assert.equal(cluster.gate('g1').ownedJobs.get(job)?.watcherCount, 1);
  },
);
