// Owns every numeric bound of the pool coordination protocol, in one place, with its unit, and
// the check a configured count must pass. Never stores state.

import { SalvoError } from '../../errors.js';

/** Version of the envelope; a receiver rejects any other. */
export const PROTOCOL_VERSION = 1;

/** Largest byte payload one message may carry (spawn request, job result, stats window): 256 KiB. */
export const MAX_PAYLOAD_BYTES = 262_144;

/** Largest UTF-8 size of a free-text field (reasons, details, diagnostics, error codes). */
export const MAX_TEXT_BYTES = 16_384;

/** Largest UTF-8 size of a worker session id. */
export const MAX_WORKER_ID_BYTES = 256;

/** Jobs one coordinator (or endpoint) tracks at once, terminal ones included until removed. */
export const MAX_TRACKED_JOBS = 10_000;

/**
 * Jobs the shell has released before their worker ended them (a cancel that timed out): still
 * tracked so the worker's late messages about them are absorbed, until it ends them. Past this
 * bound the oldest are forgotten (a later message about one is then refused as unknown).
 */
export const MAX_RELEASED_JOBS = 1_024;

/**
 * Envelopes one side lets pile up before the shell drains them. The shell drains after every
 * step, so reaching this means the shell stopped draining: a bug, reported as `limit_exceeded`.
 */
export const MAX_OUTBOX_MESSAGES = 4 * MAX_TRACKED_JOBS;

/**
 * Returns `value` if it is a non-negative safe integer (a seed, a counter start, a bound).
 * Throws otherwise: a bad constructor argument is a bug in the caller, not bad input.
 */
export function requireCount(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new SalvoError('E_INTERNAL', `${name} must be a non-negative safe integer, got ${value}`);
  }
  return value;
}
