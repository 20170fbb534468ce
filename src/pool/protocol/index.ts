// The pool coordination protocol's public surface for the pool shell (main thread and worker).
// Re-exports only; owns no behaviour and must never import a MessagePort, timer or clock.

export { PoolCoordinator } from './coordinator.js';
export type {
  CoordinatorEvent,
  InboundResult,
  JobsFailedCause,
  PoolCoordinatorOptions,
} from './coordinator.js';
export { WorkerEndpoint } from './endpoint.js';
export type {
  EndpointInboundResult,
  EndpointPhase,
  WorkerCommand,
  WorkerEndpointOptions,
  WorkerJobPhase,
} from './endpoint.js';
export {
  MAIN_OP_TYPES,
  MAX_PAYLOAD_BYTES,
  PROTOCOL_VERSION,
  WORKER_OP_TYPES,
  decodeEnvelope,
  isMainOp,
  isWorkerOp,
  sealEnvelope,
  validateEnvelope,
  validateOp,
} from './envelope.js';
export type {
  DecodeResult,
  DiagnosticLevel,
  EnvelopeMeta,
  JobOutcome,
  MainOp,
  PoolEnvelope,
  PoolOp,
  PoolOpType,
  SpawnJobRequest,
  WorkerOp,
} from './envelope.js';
export { ChannelError } from './errors.js';
export type { Accepted, ChannelErrorDetail, ChannelErrorKind } from './errors.js';
export { JOB_STATES, allowedInStatusSnapshot, canTransition, isTerminal } from './job-state.js';
export type { JobState } from './job-state.js';
export {
  MAX_OUTBOX_MESSAGES,
  MAX_TEXT_BYTES,
  MAX_TRACKED_JOBS,
  MAX_WORKER_ID_BYTES,
} from './limits.js';
export { canonicalOpText, computeReplayHash } from './replay-hash.js';
