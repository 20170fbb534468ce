// The simulated runtime's public surface for tests and benchmarks: Simulation, its node and
// network handles, link models and errors. Node code never imports this; it sees a Runtime.

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
