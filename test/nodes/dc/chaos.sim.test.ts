// A datacenter under random faults, in the simulator: three managers and four workers run
// jobs dispatched by a fake gate while workers and managers crash, restart and get cut off,
// and links lose, duplicate and delay messages. Invariants checked at the end of every seed:
// every accepted workflow ends exactly once (never two outcomes), no window is counted twice
// (the gate never merges more requests than the workers produced), and once every end is
// acknowledged the DC's leader holds nothing more of those jobs. `npm test` runs a few dozen
// seeds; `npm run test:sim` runs 10,000 (SALVO_SIM_SEEDS sets the count).

import assert from 'node:assert/strict';
import type { Simulation } from '../../../src/runtime/sim/index.js';
import { between, endFaults, pick, restartSome } from '../../support/chaos.js';
import { seededRandom } from '../../support/random.js';
import { seedsFrom, simTest } from '../../support/sim.js';
import { DcCluster } from './support/dc-cluster.js';

const WORKERS = ['w1', 'w2', 'w3', 'w4'];
const JOBS = 3;
/** Virtual time during which faults are injected. */
const FAULT_WINDOW_MS = 20_000;

/** Dispatches job `job` to whichever manager leads, retrying through leader changes. */
async function dispatch(
  c: DcCluster,
  job: string,
  vus: number,
  durationMs: number,
): Promise<boolean> {
  const message = c.dispatchMsg(job, 'wf', vus, {
    share: { config: { type: 'constant-vus', vus, durationMs, gracefulStopMs: 0 }, phase: 0 },
  });
  for (let attempt = 0; attempt < 20; attempt++) {
    const leader = c.leaderId();
    if (leader !== null) {
      const r = await c.call(leader, message, 5_000).catch(() => null);
      if (r?.ok === true) return true;
    }
    await c.sim.run(500);
  }
  return false;
}

async function chaos(sim: Simulation, seed: number): Promise<void> {
  const r = seededRandom(seed);
  const c = new DcCluster(sim, {
    workers: WORKERS.map((id) => ({ id, cores: 2, synthetic: { durationMs: undefined } })),
  });
  await c.ready(WORKERS);
  if (r() < 0.5) {
    sim.network.setDefaultLink({
      latencyMs: { min: 1, max: between(r, 3, 40) },
      duplicate: r() * 0.05,
      reorder: r() * 0.1,
    });
  }
  const accepted: string[] = [];
  for (let j = 1; j <= JOBS; j++) {
    const job = `job-${j}`;
    if (await dispatch(c, job, between(r, 1, 4), between(r, 4_000, 12_000))) accepted.push(job);
  }
  assert.ok(accepted.length > 0, 'at least one job was accepted');

  // Faults: every 1–3 s one of crash/restart, a cut, a pause.
  const down = new Set<string>();
  const managers = c.managerIds;
  const start = sim.nowMs;
  while (sim.nowMs - start < FAULT_WINDOW_MS) {
    const kind = r();
    if (kind < 0.3) {
      const w = pick(r, WORKERS);
      if (!down.has(w)) {
        sim.crash(w);
        down.add(w);
      }
    } else if (kind < 0.45) {
      // Never more than one manager down: a quorum of three stays.
      const m = pick(r, managers);
      if (![...down].some((d) => managers.includes(d))) {
        sim.crash(m);
        down.add(m);
      }
    } else if (kind < 0.7) {
      sim.network.isolate(pick(r, [...WORKERS, ...managers]));
    } else if (kind < 0.8) {
      sim.pause(pick(r, WORKERS), between(r, 200, 3_000));
    } else {
      sim.network.heal();
    }
    await sim.run(between(r, 1_000, 3_000));
    restartSome(sim, r, down); // what is down comes back now and then
  }
  endFaults(sim, down);

  // CHAOS_DEBUG=<regexp> prints the matching log lines and each node's state when a seed fails.
  const debug = (): void => {
    const pattern = process.env['CHAOS_DEBUG'];
    if (pattern === undefined) return;
    for (const l of sim.logs) if (new RegExp(pattern).test(l)) console.log(l);
    for (const m of c.managers.values()) {
      const parts = [...(m.ctx.leadership.dispatcher()?.allParts() ?? [])];
      console.log(m.ctx.id, {
        up: sim.node(m.ctx.id).up,
        leader: m.isLeader(),
        parts: parts.map((p) => `${p.dispatchId}:${p.worker}:${p.state}`),
        known: [...m.ctx.parts.keys()],
        originals: [...m.ctx.originals.keys()],
        pending: accepted.map((j) => m.ctx.relay.pending(j)),
        relay: m.relay.counters,
        takeover: m.takeover.counters,
      });
    }
    for (const [id, w] of c.workers) console.log(id, sim.node(id).up, w.counters);
    console.log('gate', { ...c.gate, done: c.gate.done.length });
  };
  const ended = (): boolean =>
    accepted.every((job) => c.gate.done.some((d) => d['job'] === job && d['workflow'] === 'wf'));
  const allEnded = await sim.runUntil(ended, { maxMs: 120_000 });
  if (!allEnded || c.gate.conflictingDone > 0) debug();
  assert.ok(
    allEnded,
    `every accepted workflow ends: ${accepted.filter((j) => !c.gate.done.some((d) => d['job'] === j)).join(', ')} did not`,
  );
  assert.equal(c.gate.conflictingDone, 0, 'no workflow ended two ways');
  let merged = 0;
  for (const job of accepted) merged += c.mergedRequests(job);
  assert.ok(
    merged <= c.producedRequests(),
    `no window counted twice (merged ${merged}, produced ${c.producedRequests()})`,
  );
  for (const d of c.gate.done) {
    if (!['completed', 'failed'].includes(String(d['outcome']))) debug();
    assert.ok(
      ['completed', 'failed'].includes(String(d['outcome'])),
      `no workflow of a job nobody cancelled ends ${String(d['outcome'])}: ${JSON.stringify(d['parts'])}`,
    );
  }

  // Once the ends are acknowledged, the leader lets go of the jobs' parts; what it keeps for a
  // new owner gate (retained windows, ends) goes when the gate releases each job, as a real
  // owner does when the job ends.
  const settled = (): boolean => {
    const id = c.leaderId();
    if (id === null) return false;
    const m = c.managers.get(id)!;
    const d = m.ctx.leadership.dispatcher();
    return (
      accepted.every((job) => (d?.partsOf(job).length ?? 0) === 0) &&
      accepted.every((job) => m.ctx.relay.pending(job) === 0) &&
      m.ctx.originals.size === 0 &&
      m.ctx.parts.size === 0
    );
  };
  let isReleased = await sim.runUntil(settled, { maxMs: 30_000 });
  if (isReleased) {
    const id = c.leaderId()!;
    for (const job of accepted) {
      const r = await c.call(id, { t: 'dc.release', job, fence: 1 });
      if (!r.ok) isReleased = false;
    }
    const m = c.managers.get(id)!;
    isReleased &&= m.ctx.relay.jobCount === 0 && m.handover.endsKept === 0;
  }
  if (!isReleased) debug();
  assert.ok(isReleased, 'the leader released the jobs');
}

simTest(
  'a DC under random crashes, restarts, cuts, pauses and link faults keeps its invariants',
  { seeds: seedsFrom(24) },
  chaos,
);
