// Sim tests of what a DC records about a part's life: the worker's lifecycle log lines, the
// manager's transitions, the statistics per step that reach the gate, and the cleanup once a
// workflow's end was reported.

import assert from 'node:assert/strict';
import { seedsFrom, simTest } from '../../support/sim.js';
import { DcCluster } from './support/dc-cluster.js';

function fieldsOf(line: string): Record<string, unknown> {
  const i = line.indexOf('{');
  return i < 0 ? {} : (JSON.parse(line.slice(i)) as Record<string, unknown>);
}

simTest(
  'MW-18.1.1 MW-18.1.2 MW-18.1.3 MW-18.2.1 MW-18.2.2 MW-18.2.3 a worker logs a part received, started and completed, with time, ids, VUs, cores and elapsed time',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const c = new DcCluster(sim, { workers: [{ id: 'w1', cores: 2 }] });
    const leader = await c.ready(['w1']);
    assert.ok((await c.call(leader, c.dispatchMsg('job-9', 'wf', 5))).ok);
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 20_000 }));
    const find = (msg: string): string => {
      const line = sim.logs.find((l) => l.includes(` w1 `) && l.includes(msg));
      assert.ok(line, `a "${msg}" line`);
      return line;
    };
    const received = find('worker: part received');
    const started = find('worker: part started');
    const completed = find('worker: part completed');
    for (const line of [received, started, completed]) {
      assert.match(line, /^\d+\.\d{3} w1 /, 'timestamped');
      const f = fieldsOf(line);
      assert.equal(f['job'], 'job-9');
      assert.equal(f['workflow'], 'wf');
      assert.equal(f['worker'], 'w1');
      assert.equal(typeof f['dispatchId'], 'string');
      assert.equal(f['cores'], 2);
    }
    const f = fieldsOf(completed);
    assert.equal(f['vus'], 5);
    assert.ok((f['elapsedMs'] as number) >= 3_000);
  },
);

simTest(
  'MW-18.1.4 MW-18.2.4 a worker logs a failed part with its error',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: [{ id: 'w1', cores: 1, synthetic: { failWorkflows: new Set(['wf']) } }],
    });
    const leader = await c.ready(['w1']);
    assert.ok((await c.call(leader, c.dispatchMsg('job-1', 'wf', 1))).ok);
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 20_000 }));
    const line = sim.logs.find((l) => l.includes('worker: part failed'));
    assert.ok(line);
    assert.match(line, / w1 warn /);
    assert.match(String(fieldsOf(line)['error']), /failed on purpose/);
  },
);

simTest(
  "MW-7.3.1 the manager logs each part's move to its end state with the state it left",
  { seeds: seedsFrom(2) },
  async (sim) => {
    const c = new DcCluster(sim, { workers: [{ id: 'w1', cores: 1 }] });
    const leader = await c.ready(['w1']);
    assert.ok((await c.call(leader, c.dispatchMsg('job-1', 'wf', 1))).ok);
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 20_000 }));
    const line = sim.logs.find((l) => l.includes(`${leader} debug manager: part ended`));
    assert.ok(line);
    assert.deepEqual([fieldsOf(line)['from'], fieldsOf(line)['to']], ['running', 'completed']);
  },
);

simTest(
  'MW-9.1.2 per-step counts of every worker reach the gate: requests, successes and statuses add up',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const c = new DcCluster(sim);
    const leader = await c.ready();
    assert.ok((await c.call(leader, c.dispatchMsg('job-1', 'wf', 4))).ok);
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 20_000 }));
    const step = c.merger.view('job-1')!.workflows['wf']!.steps['get']!;
    assert.equal(step.count, c.producedRequests());
    assert.equal(step.ok, step.count);
    assert.equal(step.failed, 0);
    assert.equal(step.statuses['200'], step.count);
    assert.equal(step.latency.count, step.count, 'the histograms merged exactly');
    const dcs = c.merger.view('job-1')!.dcs['a']!;
    const parts = new Map(
      ['w1', 'w2'].map((w) => [
        w,
        c.executors.get(w)!.specs.find((x) => x.job === 'job-1')?.dispatchId,
      ]),
    );
    assert.deepEqual(
      Object.keys(dcs.workers).sort(),
      [
        `w1#1/0/${parts.get('w1')}`,
        `w1#1/1/${parts.get('w1')}`,
        `w2#1/2/${parts.get('w2')}`,
        `w2#1/3/${parts.get('w2')}`,
      ],
      'one source per worker incarnation, thread of the DC and part',
    );
  },
);

simTest(
  "MW-7.4.3 once a workflow's end was acknowledged by the gate, the manager and the workers keep nothing of its parts",
  { seeds: seedsFrom(3) },
  async (sim) => {
    const c = new DcCluster(sim);
    const leader = await c.ready();
    const m = c.managers.get(leader)!;
    assert.ok((await c.call(leader, c.dispatchMsg('job-1', 'wf', 4))).ok);
    assert.ok(m.ctx.parts.size > 0);
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 20_000 }));
    assert.ok(await sim.runUntil(() => m.ctx.parts.size === 0, { maxMs: 2_000 }));
    const d = m.ctx.leadership.dispatcher()!;
    assert.equal(d.partsOf('job-1').length, 0);
    assert.equal(d.reservations.reservationCount, 0);
    assert.equal(m.ctx.relay.pending('job-1'), 0);
    for (const w of c.workers.values()) {
      assert.equal(w.activeParts, 0);
      assert.equal(w.slots.activeCount, 0);
    }
    await sim.run(500);
    for (const mm of c.managers.values())
      assert.equal(
        mm.ctx.state.job('job-1')!.workflows['wf']!.outcome,
        'completed',
        'the end is in the DC state',
      );
  },
);
