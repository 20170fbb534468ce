// Owns how the job cores say no: a rejection is a value with a stable `code` (returned, never
// thrown), and a broken invariant is a SalvoError thrown to stop a node before it corrupts state.

import { SalvoError } from '../../errors.js';

/** A refused command or input, as data: the shell maps `code` to an answer or a counter. */
export interface Rejection<Code extends string> {
  readonly ok: false;
  readonly code: Code;
  readonly message: string;
}

export function reject<Code extends string>(code: Code, message: string): Rejection<Code> {
  return { ok: false, code, message };
}

/** A job core was configured with a value outside its accepted range (names the field). */
export class JobsConfigError extends SalvoError {
  constructor(message: string) {
    super('E_OPTION', message);
  }
}

/**
 * Checks that each listed field of a core's configuration is an integer of at least `min`
 * (counts: 1, durations: 0); throws a JobsConfigError naming the first that is not.
 */
export function checkConfigIntegers<T extends object>(
  what: string,
  config: T,
  fields: ReadonlyArray<readonly [keyof T & string, number]>,
): T {
  for (const [field, min] of fields) {
    const v: unknown = config[field];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
      throw new JobsConfigError(`${what}: ${field} must be an integer ≥ ${min}, got ${String(v)}`);
    }
  }
  return config;
}

/** An invariant of a job core does not hold: a bug in Salvo, not bad input. */
export class JobsInvariantError extends SalvoError {
  constructor(message: string) {
    super('E_INTERNAL', `jobs invariant violated: ${message}`);
  }
}

/** TigerBeetle-style assertion of what must always hold inside a core. */
export function jobsInvariant(
  condition: boolean,
  message: string | (() => string),
): asserts condition {
  if (!condition) {
    throw new JobsInvariantError(typeof message === 'string' ? message : message());
  }
}
