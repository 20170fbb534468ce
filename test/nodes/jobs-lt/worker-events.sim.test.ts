// LT-41.16 / LT-41.27 sim tests of a worker's event log (src/nodes/worker/event-log.ts) on one
// DC of the harness: lifecycle events of each part, a failed part logged with its error while
// the worker carries on, a full log that drops its oldest events while the work is unaffected,
// what the log shows of a worker that crashed, and the order of the shutdown events.

import assert from 'node:assert/strict';
import { seedsFrom, simTest } from '../../support/sim.js';
import type { WorkerEvent } from '../../../src/nodes/worker/event-log.js';
import { DcCluster } from '../dc/support/dc-cluster.js';

function find(events: readonly WorkerEvent[], message: string, workflow: string): WorkerEvent[] {
  return events.filter((e) => e.message === message && e.fields.workflow === workflow);
}

simTest(
  'LT-41.16.1 each part a worker runs logs received, started and its end (completed or failed) with job, workflow and dispatch id',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: [
        { id: 'w1', cores: 2, synthetic: { failWorkflows: new Set(['wf-bad']) } },
        { id: 'w2', cores: 2, synthetic: { failWorkflows: new Set(['wf-bad']) } },
      ],
    });
    const leader = await c.ready();
    assert.ok((await c.call(leader, c.dispatchMsg('job-1', 'wf-ok', 2))).ok);
    assert.ok((await c.call(leader, c.dispatchMsg('job-1', 'wf-bad', 2))).ok);
    assert.ok(await sim.runUntil(() => c.gate.done.length === 2, { maxMs: 20_000 }));
    const events = [...c.workers.values()].flatMap((w) => w.events.recent());
    for (const [wf, end, level] of [
      ['wf-ok', 'worker: part completed', 'info'],
      ['wf-bad', 'worker: part failed', 'warn'],
    ] as const) {
      const received = find(events, 'worker: part received', wf);
      const started = find(events, 'worker: part started', wf);
      const ended = find(events, end, wf);
      assert.ok(received.length >= 1, `${wf}: received`);
      assert.equal(started.length, received.length, `${wf}: one start per part`);
      assert.equal(ended.length, started.length, `${wf}: one end per part`);
      for (const s of started) {
        const e = ended.find((x) => x.fields.dispatchId === s.fields.dispatchId)!;
        const r = received.find((x) => x.fields.dispatchId === s.fields.dispatchId)!;
        assert.ok(e && r, 'the end and the receipt name the same dispatch');
        assert.equal(s.fields.job, 'job-1');
        assert.equal(e.fields.job, 'job-1');
        assert.equal(e.level, level);
        assert.ok(r.seq < s.seq && s.seq < e.seq, 'received, then started, then ended');
      }
      // The same lines reach the node's log.
      assert.ok(sim.logs.some((l) => l.includes(end) && l.includes(wf)));
    }
    for (const e of events.filter((x) => x.message === 'worker: part failed'))
      assert.match(String(e.fields.error), /failed on purpose/);
  },
);

simTest(
  'LT-41.27.2 a failing part is logged with its error and the worker carries on: still registered, and it runs the next part',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: [{ id: 'w1', cores: 2, synthetic: { failWorkflows: new Set(['wf-bad']) } }],
    });
    const leader = await c.ready(['w1']);
    const w = c.workers.get('w1')!;
    assert.ok((await c.call(leader, c.dispatchMsg('job-1', 'wf-bad', 2))).ok);
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 20_000 }));
    assert.equal(c.gate.done[0]!.outcome, 'failed');
    const failed = w.events.recent().filter((e) => e.message === 'worker: part failed');
    assert.equal(failed.length, 1);
    assert.equal(failed[0]!.level, 'warn');
    assert.match(String(failed[0]!.fields.error), /workflow 'wf-bad' failed on purpose/);
    assert.ok(sim.node('w1').up);
    assert.equal(c.workers.get('w1'), w, 'the worker did not restart');
    await sim.run(2_000);
    const m = c.leader();
    assert.equal(m.ctx.registry.healthCounts(m.ctx.now()).healthy, 1);
    assert.ok((await c.call(leader, c.dispatchMsg('job-2', 'wf-ok', 2))).ok);
    assert.ok(await sim.runUntil(() => c.gate.done.length === 2, { maxMs: 20_000 }));
    assert.equal(c.gate.done[1]!.outcome, 'completed');
    assert.equal(find(w.events.recent(), 'worker: part completed', 'wf-ok').length, 1);
  },
);

simTest(
  'LT-41.16.3 LT-41.27.3 a full event log drops its oldest events (counted) and the work is untouched: every window reaches the gate',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const CAP = 16;
    const c = new DcCluster(sim, {
      workers: [
        {
          id: 'small',
          cores: 2,
          synthetic: { durationMs: 20_000 },
          worker: { eventLogCapacity: CAP },
        },
        { id: 'large', cores: 2, synthetic: { durationMs: 20_000 } },
      ],
    });
    const leader = await c.ready(['small', 'large']);
    assert.ok((await c.call(leader, c.dispatchMsg('job-1', 'wf', 4))).ok);
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 60_000 }));
    assert.equal(c.gate.done[0]!.outcome, 'completed');
    const small = c.workers.get('small')!;
    const large = c.workers.get('large')!;
    // Both ran the same share of the work (2 threads × 20 windows each).
    assert.equal(c.executors.get('small')!.counters.windows, 40);
    assert.equal(c.executors.get('large')!.counters.windows, 40);
    assert.equal(small.counters.windowsAcked, large.counters.windowsAcked);
    assert.equal(c.mergedRequests('job-1'), c.producedRequests(), 'nothing lost on the way');
    // The small log holds its last CAP events; the rest were dropped and counted.
    assert.equal(small.events.size, CAP);
    assert.ok(small.events.counters.recorded > 40, 'a window event per window, at least');
    assert.equal(small.events.counters.dropped, small.events.counters.recorded - CAP);
    const kept = small.events.recent();
    assert.deepEqual(
      kept.map((e) => e.seq),
      Array.from({ length: CAP }, (_, i) => small.events.counters.recorded - CAP + 1 + i),
      'the newest events, in order',
    );
    assert.equal(kept.at(-1)!.message, 'worker: part completed');
    assert.equal(large.events.counters.dropped, 0);
    assert.equal(large.events.size, large.events.counters.recorded);
  },
);

simTest(
  'LT-41.16.5 after a worker crashes, its last events name the part it was running: job, workflow and the step it was on',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: [{ id: 'w1', cores: 2, synthetic: { durationMs: 60_000 } }],
    });
    const leader = await c.ready(['w1']);
    const w = c.workers.get('w1')!;
    assert.ok((await c.call(leader, c.dispatchMsg('job-7', 'checkout', 2))).ok);
    await sim.run(3_500);
    sim.crash('w1');
    const f = w.forensics(5);
    assert.deepEqual(
      f.running.map((r) => [r.job, r.workflow]),
      [['job-7', 'checkout']],
    );
    const last = f.recent.at(-1)!;
    assert.equal(last.message, 'worker: window');
    assert.equal(last.fields.job, 'job-7');
    assert.equal(last.fields.workflow, 'checkout');
    assert.deepEqual(last.fields.steps, ['get']);
    assert.equal(f.recent.length, 5);
    // The node's own log ends with the part started and never ended.
    const lines = sim.logs.filter((l) => / w1 /.test(l));
    const started = lines.findLastIndex((l) => l.includes('worker: part started'));
    assert.ok(started >= 0 && lines[started]!.includes('job-7'));
    assert.ok(
      !lines.slice(started).some((l) => /worker: part (completed|failed|cancelled)/.test(l)),
    );
  },
);

simTest(
  'LT-41.27.5 a stopping worker logs "worker stopping" (naming its running part) before the part ends and before "worker stopped"',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: [{ id: 'w1', cores: 2, synthetic: { durationMs: 60_000 } }],
    });
    const leader = await c.ready(['w1']);
    const w = c.workers.get('w1')!;
    assert.ok((await c.call(leader, c.dispatchMsg('job-1', 'wf', 2))).ok);
    await sim.run(2_000);
    let stopped = false;
    void w.stop().then(() => (stopped = true));
    assert.ok(await sim.runUntil(() => stopped, { maxMs: 5_000 }));
    await sim.run(1_000);
    const ev = w.events.recent();
    const stopping = ev.findIndex((e) => e.message === 'worker stopping');
    const partEnd = ev.findIndex((e) => e.message === 'worker: part cancelled');
    const done = ev.findIndex((e) => e.message === 'worker stopped');
    assert.ok(stopping >= 0 && partEnd >= 0 && done >= 0, JSON.stringify(ev.map((e) => e.message)));
    assert.ok(stopping < partEnd, 'stopping is logged before the part ends');
    assert.ok(stopping < done, 'stopping is logged before stopped');
    assert.equal((ev[stopping]!.fields.activeParts as string[]).length, 1);
    const lines = sim.logs.filter((l) => / w1 /.test(l));
    assert.ok(
      lines.findIndex((l) => l.includes('worker stopping')) <
        lines.findIndex((l) => l.includes('worker stopped')),
    );
  },
);

simTest(
  'LT-41.16.2 under load, per-window action events stay in the in-memory ring and never reach the node log, while every window is delivered',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: [{ id: 'w1', cores: 8, synthetic: { durationMs: 30_000, requestsPerVu: 50 } }],
    });
    const leader = await c.ready(['w1']);
    const w = c.workers.get('w1')!;
    const linesBefore = sim.logs.filter((l) => / w1 /.test(l)).length;
    assert.ok((await c.call(leader, c.dispatchMsg('job-1', 'wf', 64))).ok);
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 60_000 }));
    assert.equal(c.gate.done[0]!.outcome, 'completed');
    const windows = c.executors.get('w1')!.counters.windows;
    assert.equal(windows, 8 * 30);
    const actions = w.events.recent().filter((e) => e.message === 'worker: window');
    assert.equal(actions.length, windows, 'one action event per window, all kept');
    assert.ok(actions.every((e) => e.level === 'trace'));
    // The node log grew by the part's few lifecycle lines, not by its 240 windows.
    const grown = sim.logs.filter((l) => / w1 /.test(l)).length - linesBefore;
    assert.ok(grown > 0 && grown < 10, `node log lines for the part: ${grown}`);
    assert.ok(!sim.logs.some((l) => l.includes('worker: window')));
    assert.equal(c.mergedRequests('job-1'), c.producedRequests(), 'every window reached the gate');
  },
);
