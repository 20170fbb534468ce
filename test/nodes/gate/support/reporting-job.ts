// Test support for a cluster job's reporting on its owner gate: a simulated gate cluster with
// two fake datacenters (a: 3 windows of 10 requests, b: 2), and the wait for a job's result
// while its reporters work in real time (files, sockets, databases).
import type { JobReportingOptions } from '../../../../src/reporters/job-reporting.js';
import { Simulation } from '../../../../src/runtime/sim/index.js';
import { GateCluster, SimClient, type FakeManagerSpec } from './gate-cluster.js';

const TWO_DCS: FakeManagerSpec[] = [
  { id: 'a-m1', dc: 'a', leader: true, windows: 3 },
  { id: 'b-m1', dc: 'b', leader: true, windows: 2 },
];

export interface Setup {
  sim: Simulation;
  cluster: GateCluster;
  client: SimClient;
}

export async function cluster(
  reporting: JobReportingOptions | undefined,
  seed = 7,
): Promise<Setup> {
  const sim = new Simulation({ seed });
  const c = new GateCluster(sim, {
    managers: TWO_DCS,
    ...(reporting !== undefined ? { gate: { reporting } } : {}),
  });
  const client = new SimClient(sim, c);
  await c.waitForLeader();
  return { sim, cluster: c, client };
}

/**
 * Runs the simulation, letting real time pass between slices (the reporters write files and
 * talk to sockets in real time), until the job's result reached the client.
 */
export async function resultOf(s: Setup, job: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 4000; i++) {
    const r = s.client.notes.find((n) => n.t === 'job.result' && n.job === job);
    if (r !== undefined) return r;
    await s.sim.runUntil(() => s.client.notes.some((n) => n.t === 'job.result' && n.job === job), {
      maxMs: 50,
    });
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  throw new Error(`no result for ${job}`);
}
