// Owns the typed failures of the consensus layer: a broken invariant (a bug, fail fast) and a
// bad configuration. Never carries I/O errors of the shell (those stay with the shell).

import { SalvoError } from '../../errors.js';

/** An invariant of the Raft core does not hold: the node must stop rather than corrupt state. */
export class RaftInvariantError extends SalvoError {
  constructor(message: string) {
    super('E_INTERNAL', `raft invariant violated: ${message}`);
  }
}

/** A record passed its checksum but does not decode: written by a bug, or corrupted in memory. */
export class RaftRecordCorruptError extends SalvoError {
  constructor(what: string, cause: unknown) {
    super(
      'E_INTERNAL',
      `raft ${what} passes its checksum but does not decode: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
}

export class RaftConfigError extends SalvoError {
  constructor(message: string) {
    super('E_OPTION', `raft config: ${message}`);
  }
}

/** TigerBeetle-style assertion: cheap checks of what must always hold. */
export function invariant(condition: boolean, message: string | (() => string)): asserts condition {
  if (!condition) {
    throw new RaftInvariantError(typeof message === 'string' ? message : message());
  }
}
