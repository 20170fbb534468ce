// Owns the Raft core's configuration: timing in ticks, bounds, and the documented profiles
// (local, lan, wan). Never reads the environment or the clock; the shell picks a profile.

import { RaftConfigError } from './errors.js';

export interface RaftConfig {
  /** Milliseconds per tick, used by the shell's timer only (the core counts ticks). */
  readonly tickMs: number;
  /**
   * Election timeout base, in ticks. A follower waits a random number of ticks in
   * [electionTicks, 2·electionTicks) without hearing from a leader before it pre-votes.
   * A leader runs its quorum check every electionTicks.
   */
  readonly electionTicks: number;
  /** Leader heartbeat period, in ticks. Must be < electionTicks. */
  readonly heartbeatTicks: number;
  /** Pre-vote before each election (AD-5): a partitioned node cannot inflate terms. */
  readonly preVote: boolean;
  /**
   * Check-quorum: every electionTicks a leader counts the voters it heard from; after
   * `quorumFailuresToStepDown` consecutive failed checks it steps down (REFERENCE §2.4).
   * Followers with a live leader also ignore vote requests (leader lease).
   */
  readonly checkQuorum: boolean;
  readonly quorumFailuresToStepDown: number;
  /** At most this many entries in one AppendEntries message. */
  readonly maxEntriesPerAppend: number;
  /** At most this many bytes of entry data in one AppendEntries (at least one entry is sent). */
  readonly maxAppendBytes: number;
  /** At most this many AppendEntries in flight per follower in replicate state. */
  readonly maxInflightAppends: number;
  /** Proposals above this size are refused. */
  readonly maxProposalBytes: number;
  /** A leader refuses proposals while this many entries are appended but not committed. */
  readonly maxUncommittedEntries: number;
  /** When compacting at a snapshot, keep this many entries before it for slightly-lagging followers. */
  readonly compactionRetainEntries: number;
  /** A leadership transfer not finished within this many ticks is abandoned. */
  readonly transferTimeoutTicks: number;
}

/** Loopback and tests: 10 ms ticks, heartbeat 30 ms, election 150–300 ms. */
export const LOCAL_RAFT_CONFIG: RaftConfig = {
  tickMs: 10,
  electionTicks: 15,
  heartbeatTicks: 3,
  preVote: true,
  checkQuorum: true,
  quorumFailuresToStepDown: 3,
  maxEntriesPerAppend: 256,
  maxAppendBytes: 512 * 1024,
  maxInflightAppends: 64,
  maxProposalBytes: 256 * 1024,
  maxUncommittedEntries: 10_000,
  compactionRetainEntries: 256,
  transferTimeoutTicks: 15,
};

/** One datacenter (REFERENCE §2.4 per-job Raft): heartbeat 50 ms, election 150–300 ms. */
export const LAN_RAFT_CONFIG: RaftConfig = {
  ...LOCAL_RAFT_CONFIG,
  tickMs: 10,
  electionTicks: 15,
  heartbeatTicks: 5,
};

/** Across datacenters (the gate ledger): heartbeat 200 ms, election 1–2 s. */
export const WAN_RAFT_CONFIG: RaftConfig = {
  ...LOCAL_RAFT_CONFIG,
  tickMs: 50,
  electionTicks: 20,
  heartbeatTicks: 4,
  transferTimeoutTicks: 20,
};

export function validateRaftConfig(c: RaftConfig): RaftConfig {
  const positive: (keyof RaftConfig)[] = [
    'tickMs',
    'electionTicks',
    'heartbeatTicks',
    'quorumFailuresToStepDown',
    'maxEntriesPerAppend',
    'maxAppendBytes',
    'maxInflightAppends',
    'maxProposalBytes',
    'maxUncommittedEntries',
    'transferTimeoutTicks',
  ];
  for (const k of positive) {
    const v = c[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      throw new RaftConfigError(`${k} must be a positive integer, got ${String(v)}`);
    }
  }
  if (c.heartbeatTicks >= c.electionTicks) {
    throw new RaftConfigError(
      `heartbeatTicks (${c.heartbeatTicks}) must be < electionTicks (${c.electionTicks})`,
    );
  }
  if (!Number.isInteger(c.compactionRetainEntries) || c.compactionRetainEntries < 0) {
    throw new RaftConfigError('compactionRetainEntries must be a non-negative integer');
  }
  return c;
}
