// Owns the contract between a Raft node shell and the replicated state machine it drives:
// committed commands applied in log order, snapshots out, snapshots in. Never does I/O.

export interface AppliedEntry {
  readonly index: number;
  readonly term: number;
  readonly data: Uint8Array;
}

export interface StateMachine<R = unknown> {
  /** Applies one committed command (deterministically); the result goes to its proposer. */
  apply(entry: AppliedEntry): R;
  /** The whole state as bytes (taken at the last applied index). */
  snapshot(): Uint8Array;
  /** Replaces the whole state with a snapshot's bytes. */
  restore(data: Uint8Array): void;
}
