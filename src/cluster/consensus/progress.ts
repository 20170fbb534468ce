// Owns a leader's view of each follower's replication progress (match/next, probe vs
// replicate vs snapshot, in-flight window) and quorum arithmetic over configured voters.
// Never sends anything and never counts who is alive toward the quorum size (AD-3).

import { invariant } from './errors.js';
import type { NodeId } from './types.js';

/** Quorum is a majority of the CONFIGURED voters, never of the reachable ones (AD-3). */
export function quorumSize(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/** The largest index that a quorum of `voters` has matched. */
export function quorumMatchIndex(
  voters: readonly NodeId[],
  matchOf: (id: NodeId) => number,
): number {
  if (voters.length === 0) return 0;
  const matches = voters.map(matchOf).sort((a, b) => b - a);
  const q = quorumSize(voters.length);
  const m = matches[q - 1];
  invariant(m !== undefined, 'quorum index out of range');
  return m;
}

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** In probe state: one append is outstanding; wait for a response or the next heartbeat. */
  probeSent = false;
  /** Heard from this follower since the last quorum check. */
  recentActive = false;
  /** Leader ticks since this follower last answered (0 when this node became leader). */
  quietTicks = 0;
  /** In snapshot state: the snapshot index sent, and ticks spent waiting for it. */
  pendingSnapshot = 0;
  snapshotTicks = 0;
  /** Last index of each in-flight append, oldest first (replicate state); bounded. */
  private readonly inflight: number[] = [];

  constructor(
    next: number,
    private readonly maxInflight: number,
  ) {
    this.next = next;
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflight.length >= this.maxInflight;
      case 'snapshot':
        return true;
    }
  }

  becomeProbe(): void {
    // After a snapshot, probe from just past it; otherwise from just past the match.
    this.next =
      this.state === 'snapshot' ? Math.max(this.match, this.pendingSnapshot) + 1 : this.match + 1;
    this.state = 'probe';
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.inflight.length = 0;
  }

  becomeReplicate(): void {
    this.state = 'replicate';
    this.next = this.match + 1;
    this.probeSent = false;
    this.inflight.length = 0;
  }

  becomeSnapshot(index: number): void {
    this.state = 'snapshot';
    this.pendingSnapshot = index;
    this.snapshotTicks = 0;
    this.inflight.length = 0;
  }

  /** An append carrying entries up to `lastIndex` was sent. */
  sentEntries(lastIndex: number): void {
    if (this.state === 'replicate') {
      this.next = lastIndex + 1;
      invariant(this.inflight.length < this.maxInflight, 'in-flight window overflow');
      this.inflight.push(lastIndex);
    } else if (this.state === 'probe') {
      this.probeSent = true;
    }
  }

  /** A success response for `index`: returns true if the match advanced. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (index > this.match) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    while (this.inflight.length > 0 && (this.inflight[0] ?? Infinity) <= index) {
      this.inflight.shift();
    }
    return updated;
  }

  /**
   * A rejection of an append at `rejected`; `hint` is where to probe next. Returns false if
   * the rejection is stale (answers an older append).
   */
  maybeDecrTo(rejected: number, hint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, hint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  /** A heartbeat response: let a probe go out again; unclog a full window (lost appends). */
  onHeartbeatResponse(): void {
    this.probeSent = false;
    if (this.state === 'replicate' && this.inflight.length >= this.maxInflight) {
      this.inflight.shift();
    }
  }
}
