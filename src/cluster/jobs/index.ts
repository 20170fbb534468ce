// Owns the public surface of the job cores (re-exports only): the gate ledger, the window
// merger, the split planner, the core reservations, the gate's admission cores (rate limit,
// submission checks, DC choice, retention of ended jobs, job deadlines) and the DC-side
// cores. Never adds behaviour.

export * from './errors.js';
export * from './ledger-types.js';
export { JobLedger, globalStatus } from './ledger.js';
export {
  validateLedgerCommand,
  validateLedgerSnapshot,
  encodeLedgerCommand,
  encodeLedgerSnapshot,
  parseLedgerBytes,
  type JobSnapshot,
  type LedgerSnapshot,
} from './ledger-codec.js';
export * from './window-merger.js';
export * from './split-plan.js';
export * from './core-reservations.js';
export * from './rate-limiter.js';
export * from './submission-check.js';
export * from './dc-selection.js';
export * from './ended-retention.js';
export * from './worker-registry.js';
export * from './dc-dispatch.js';
export * from './dc-state.js';
export * from './window-relay.js';
export * from './cancel-fanout.js';
export * from './work-slots.js';
export * from './job-timeouts.js';
