// The simulated runtime's public surface for tests and benchmarks: Simulation, its node and
// network handles, link models and errors. Node code never imports this; it sees a Runtime.
//
// Usage (see test/support/sim.ts for simTest, one test per seed with a replay command):
//
//   const sim = new Simulation({ seed, trace: true, defaultLink: { latencyMs: { min: 1, max: 5 } } });
//   sim.addNode({ id: 'g1', dc: 'east' }, async (rt) => { await startGate(rt); });
//   sim.afterEvent(() => assertOneLeaderPerTerm());      // throws ⇒ run fails naming the seed
//   await sim.run(10_000);                                // 10 s of virtual time
//   sim.network.partition(['g1'], ['g2', 'g3']); sim.crash('g2', { tornTail: true });
//   await sim.runUntil(() => leaderElected(), { maxMs: 5_000 });
//
// Determinism: events run one at a time in (time, sequence) order, and after each one every
// microtask it queued is drained (an `await` chain of node code finishes at the same virtual
// time, before the next event). Sim promises (fsync, connect) settle only inside run():
// test code that awaits one must start it, then run the simulation, then await it.

export {
  Simulation,
  DEFAULT_DC,
  DEFAULT_EPOCH_MS,
  DEFAULT_LOG_LIMIT,
  DEFAULT_MAX_EVENTS,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_SIM_PORT,
  DEFAULT_STREAM_STALL_TIMEOUT_MS,
  DEFAULT_TRACE_LIMIT,
  type SimNetwork,
  type SimNode,
  type SimStats,
  type SimulationOptions,
} from './simulation.js';
export {
  DEFAULT_LINK,
  LOOPBACK_LATENCY_MS,
  type LatencyDistribution,
  type LinkModel,
} from './network.js';
export { SimNetworkError, SimulationError, type SimNetworkErrorCode } from './errors.js';
export { SimRng } from './rng.js';
export { MAX_DATAGRAM_BYTES } from './datagram.js';
export { MAX_BUFFERED_FRAMES } from './stream.js';
