// Owns the public surface of the job cores (re-exports only): the gate ledger, the window
// merger, the split planner and the core reservations. Never adds behaviour.

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
