// A whole cluster under random faults, in the simulator: three real gates over two datacenters,
// each datacenter with three real managers and two real workers (synthetic executors), runs jobs
// submitted (with idempotency keys, retried at random gates) before and during 20 s of crashes
// and restarts of gates, managers and workers, cuts of single nodes and between the datacenters,
// pauses, clock skew, and lossy, duplicating, reordering links. Invariants, checked after every
// fault and at the end of every seed:
// - at most one owner gate per job and fence, on every gate's copy of the ledger, at all times;
// - a key always answers with the same job (no job twice);
// - every acknowledged job ends, once, the same on every gate (its status never moves after);
// - no window counted twice: the requests in the ended jobs' results never exceed what the
//   workers produced;
// - once ended, the jobs' state is released by the gates that ran them and the DC leaders.
// Jobs whose owner gate dies move to another gate (or back to the restarted owner) with a higher
// fence and are replayed there; those past their deadline are ended by the ledger leader.
// `npm test` runs a few seeds; `npm run test:sim` runs thousands (SALVO_SIM_SEEDS sets the count).

import assert from 'node:assert/strict';
import type { Simulation } from '../../../src/runtime/sim/index.js';
import type { RunResults } from '../../../src/stats/types.js';
import { between, endFaults, pick, restartSome } from '../../support/chaos.js';
import { seededRandom } from '../../support/random.js';
import { seedsFrom, simTest } from '../../support/sim.js';
import { submission } from '../gate/support/gate-cluster.js';
import { DCS, GATES, WholeCluster } from './support/whole-cluster.js';

const FAULT_WINDOW_MS = 20_000;
const JOB_TIMEOUT_MS = 30_000;
const ENDED = new Set(['completed', 'failed', 'cancelled']);

/** The invariants that must hold after every event. */
class Watcher {
  /** `${job}@${fence}` → the owner gate any copy of the ledger ever named for it. */
  private readonly owners = new Map<string, string>();
  /** job → the end first seen on any gate. */
  readonly ends = new Map<string, string>();
  readonly violations: string[] = [];

  constructor(private readonly c: WholeCluster) {}

  check(jobs: Iterable<string>): void {
    for (const [gateId, gate] of this.c.upGates()) {
      for (const job of jobs) {
        const v = gate.ledger.job(job);
        if (v === undefined) continue;
        const k = `${job}@${v.fence}`;
        const known = this.owners.get(k);
        if (known === undefined) this.owners.set(k, v.ownerGate);
        else if (known !== v.ownerGate)
          this.violations.push(`${gateId}: ${k} owned by ${v.ownerGate}, earlier ${known}`);
        if (ENDED.has(v.status)) {
          const end = this.ends.get(job);
          if (end === undefined) this.ends.set(job, v.status);
          else if (end !== v.status)
            this.violations.push(`${gateId}: ${job} ended ${v.status}, elsewhere ${end}`);
        }
      }
      // A gate acts for a job only with the ledger's current fence.
      for (const [job, owned] of gate.ownedJobs) {
        const k = `${job}@${owned.fence}`;
        const known = this.owners.get(k);
        if (known !== undefined && known !== gateId)
          this.violations.push(`${gateId} acts as owner of ${k}, which ${known} owns`);
      }
    }
  }
}

async function chaos(sim: Simulation, seed: number): Promise<void> {
  const r = seededRandom(seed);
  const c = new WholeCluster(sim, { partMs: between(r, 2_000, 6_000) });
  await c.ready();
  if (r() < 0.5) {
    sim.network.setDefaultLink({
      latencyMs: { min: 1, max: between(r, 3, 30) },
      duplicate: r() * 0.05,
      reorder: r() * 0.1,
    });
  }
  const w = new Watcher(c);
  const keyJobs = new Map<string, string>();
  const accepted = (): string[] => [...new Set(keyJobs.values())];
  let submitted = 0;
  /** Submits one job under a fresh key, retried at random gates (same key) until answered. */
  const submit = async (): Promise<void> => {
    const key = `k${++submitted}`;
    for (let attempt = 0; attempt < 4; attempt++) {
      const gate = pick(r, Object.keys(GATES));
      if (!sim.node(gate).up) continue;
      const body = {
        ...submission({ key, dcs: [...DCS], durationMs: 3_000 }),
        timeoutMs: JOB_TIMEOUT_MS,
      };
      const reply = await c.client.ask(gate, body, 8_000).catch(() => null);
      if (reply?.ok !== true) continue;
      const job = String(reply.message['job']);
      const before = keyJobs.get(key);
      if (before !== undefined && before !== job)
        w.violations.push(`key ${key} answered ${job}, earlier ${before}`);
      keyJobs.set(key, job);
      w.check(accepted());
    }
  };
  await submit();
  await submit();

  const down = new Set<string>();
  const gates = Object.keys(GATES);
  const start = sim.nowMs;
  while (sim.nowMs - start < FAULT_WINDOW_MS) {
    const kind = r();
    if (kind < 0.15) {
      // One gate down at most: the ledger keeps its quorum of three.
      const g = pick(r, gates);
      if (![...down].some((d) => gates.includes(d))) {
        sim.crash(g);
        down.add(g);
      }
    } else if (kind < 0.3) {
      // One manager per DC down at most: each DC keeps its quorum.
      const dc = pick(r, DCS);
      const ids = c.managerIds[dc] ?? [];
      if (![...down].some((d) => ids.includes(d))) {
        const m = pick(r, ids);
        sim.crash(m);
        down.add(m);
      }
    } else if (kind < 0.45) {
      const wk = pick(r, c.workerIds);
      if (!down.has(wk)) {
        sim.crash(wk);
        down.add(wk);
      }
    } else if (kind < 0.55) {
      sim.network.isolate(
        pick(r, [...gates, ...c.workerIds, ...Object.values(c.managerIds).flat()]),
      );
    } else if (kind < 0.62) {
      sim.network.partitionDcs('a', 'b');
    } else if (kind < 0.7) {
      sim.pause(pick(r, [...gates, ...c.workerIds]), between(r, 200, 2_000));
    } else if (kind < 0.75) {
      sim.skewClock(pick(r, gates), between(r, -500, 500));
    } else if (kind < 0.85) {
      await submit();
    } else {
      sim.network.heal();
    }
    await sim.run(between(r, 1_000, 3_000));
    w.check(accepted());
    restartSome(sim, r, down); // what is down comes back now and then
  }
  endFaults(sim, down);
  assert.ok(accepted().length > 0, 'at least one job was accepted');

  // Every acknowledged job ends, the same on every gate.
  const allEnded = (): boolean => {
    w.check(accepted());
    const up = c.upGates();
    return (
      up.length === gates.length &&
      accepted().every((job) =>
        up.every(([, g]) => ENDED.has(g.ledger.job(job)?.status ?? 'unknown')),
      )
    );
  };
  const ended = await sim.runUntil(allEnded, { maxMs: JOB_TIMEOUT_MS + 90_000 });
  const states = accepted().map((job) => [
    job,
    ...c
      .upGates()
      .map(([id, g]) => `${id}:${g.ledger.job(job)?.status}@${g.ledger.job(job)?.fence}`),
  ]);
  assert.ok(ended, `every acknowledged job ends on every gate: ${JSON.stringify(states)}`);
  assert.deepEqual(w.violations, [], 'no invariant broke');

  // No window counted twice: what the ended jobs' results hold ≤ what the workers produced.
  let merged = 0;
  for (const job of accepted()) {
    const owner = c.upGates().find(([, g]) => g.ledger.job(job)?.ownerGate !== undefined)?.[1];
    const ownerId = owner?.ledger.job(job)?.ownerGate ?? 'g1';
    const reply = await c.client.ask(ownerId, { t: 'job.watch', job }, 10_000).catch(() => null);
    const results = reply?.ok === true ? (reply.message['results'] as RunResults | null) : null;
    for (const wf of results?.workflows ?? []) merged += wf.totals.count;
  }
  assert.ok(
    merged <= c.producedRequests(),
    `no window counted twice (merged ${merged}, produced ${c.producedRequests()})`,
  );

  // WHOLE_DEBUG=1 prints each seed's outcome (job states on every gate, merged and produced).
  if (process.env['WHOLE_DEBUG'] !== undefined)
    console.log(JSON.stringify({ seed, states, merged, produced: c.producedRequests() }));
  // Released: no gate still acts for an ended job, and the DC leaders hold none of them.
  const released = (): boolean =>
    c.upGates().every(([, g]) => accepted().every((job) => !g.ownedJobs.has(job))) &&
    DCS.every((dc) =>
      (c.managerIds[dc] ?? []).every((id) => {
        const m = c.managers.get(id);
        if (m === undefined || !m.isLeader()) return true;
        const d = m.ctx.leadership.dispatcher();
        return accepted().every((job) => (d?.partsOf(job).length ?? 0) === 0);
      }),
    );
  assert.ok(await sim.runUntil(released, { maxMs: 30_000 }), 'per-job state is released');
  assert.deepEqual(w.violations, [], 'no invariant broke while releasing');
}

simTest(
  'a whole 2-DC cluster (3 gates, 3+3 managers, 2+2 workers) under random faults keeps its invariants',
  { seeds: seedsFrom(8), timeoutMs: 300_000 },
  chaos,
);
