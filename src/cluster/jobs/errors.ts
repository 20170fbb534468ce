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
