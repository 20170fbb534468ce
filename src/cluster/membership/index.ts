// Owns the public surface of the SWIM membership core (re-exports only). Never adds behaviour.

export * from './config.js';
export * from './types.js';
export {
  SwimMembership,
  HELPER_CIRCUIT_OPEN_FAILURES,
  type SwimOptions,
  type MembershipCounters,
} from './swim.js';
export { Suspicion, suspicionTimeoutMs } from './suspicion.js';
export { LocalHealth } from './local-health.js';
export { BroadcastQueue, updateWireBytes, utf8Bytes } from './dissemination.js';
