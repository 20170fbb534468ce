// Owns the data types of the Raft core: log entries, hard state, snapshots, the messages peers
// exchange, and the Ready batch the core hands to its shell. Pure data; never performs I/O.

/** A node's identity inside one Raft group (the same string the Runtime calls `nodeId`). */
export type NodeId = string;

/** What an entry carries: a client command, a leader's empty entry, or a configuration. */
export type EntryKind = 'normal' | 'noop' | 'config';

export interface Entry {
  readonly index: number;
  readonly term: number;
  readonly kind: EntryKind;
  /** Opaque command bytes ('normal'), empty ('noop'), or an encoded ConfigChange ('config'). */
  readonly data: Uint8Array;
}

/** What must survive a crash before any message that depends on it is sent. */
export interface HardState {
  readonly term: number;
  /** Who this node voted for in `term`, or null. */
  readonly vote: NodeId | null;
  /** Highest index known committed (may lag after a restart; that is safe). */
  readonly commit: number;
}

/** The configuration a snapshot or a config entry establishes: the full set of voters. */
export interface ClusterConfig {
  readonly voters: readonly NodeId[];
}

/** One server added or removed at a time (Raft dissertation §4.1). */
export interface ConfigChange {
  readonly kind: 'add-voter' | 'remove-voter';
  readonly node: NodeId;
}

export interface SnapshotMeta {
  /** Index and term of the last entry the snapshot covers. */
  readonly index: number;
  readonly term: number;
  /** The configuration in force at `index`. */
  readonly config: ClusterConfig;
}

export interface Snapshot {
  readonly meta: SnapshotMeta;
  /** The state machine's serialized state at `meta.index`. */
  readonly data: Uint8Array;
}

export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

interface MessageBase {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

/** RequestVote (or its pre-vote probe, which carries the term the sender would campaign in). */
export interface VoteRequest extends MessageBase {
  readonly type: 'vote' | 'pre-vote';
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
  /** True when sent because of a leadership transfer: voters ignore their leader lease. */
  readonly transfer: boolean;
}

export interface VoteResponse extends MessageBase {
  readonly type: 'vote-response' | 'pre-vote-response';
  readonly granted: boolean;
}

/** AppendEntries. */
export interface AppendRequest extends MessageBase {
  readonly type: 'append';
  readonly prevIndex: number;
  readonly prevTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
}

/**
 * AppendEntries result. On success `index` is the follower's last index matching the leader.
 * On rejection `index` echoes the rejected `prevIndex`, and (`hintIndex`, `hintTerm`) is the
 * follower's last entry whose term is ≤ the leader's `prevTerm`, for fast backtracking.
 */
export interface AppendResponse extends MessageBase {
  readonly type: 'append-response';
  readonly index: number;
  readonly reject: boolean;
  readonly hintIndex: number;
  readonly hintTerm: number;
}

export interface Heartbeat extends MessageBase {
  readonly type: 'heartbeat';
  readonly commit: number;
}

export interface HeartbeatResponse extends MessageBase {
  readonly type: 'heartbeat-response';
}

/** InstallSnapshot (whole snapshot in one message; snapshots are bounded by the state machine). */
export interface SnapshotRequest extends MessageBase {
  readonly type: 'snapshot';
  readonly snapshot: Snapshot;
}

/** Leadership transfer: the target campaigns at once, skipping pre-vote. */
export interface TimeoutNow extends MessageBase {
  readonly type: 'timeout-now';
}

export type Message =
  | VoteRequest
  | VoteResponse
  | AppendRequest
  | AppendResponse
  | Heartbeat
  | HeartbeatResponse
  | SnapshotRequest
  | TimeoutNow;

export type MessageType = Message['type'];

/** Volatile state a shell may want to react to (leader changes, role changes). */
export interface SoftState {
  readonly role: Role;
  /** The leader this node knows of in the current term, or null. */
  readonly leader: NodeId | null;
  /** The current term: the fencing token for everything a leader sends. */
  readonly term: number;
}

/**
 * Everything the core wants done, as data. The shell must, in this order:
 * 1. persist `snapshot` (if any) and restore the state machine from it,
 * 2. append `entries` durably (an entry at index i replaces any entry ≥ i) and write
 *    `hardState` (if any), then sync,
 * 3. send `messages` (they may depend on 1–2: votes, acknowledgements),
 * 4. apply `committedEntries` in order,
 * 5. call `advance()`.
 */
export interface Ready {
  readonly softState: SoftState | null;
  readonly hardState: HardState | null;
  /** True when term or vote changed: the hard state must be synced before sending. */
  readonly hardStateMustSync: boolean;
  readonly snapshot: Snapshot | null;
  readonly entries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly committedEntries: readonly Entry[];
}

export type ProposeRejection =
  | { readonly code: 'not-leader'; readonly leaderHint: NodeId | null; readonly term: number }
  | { readonly code: 'transferring'; readonly leaderHint: NodeId | null; readonly term: number }
  | { readonly code: 'config-change-pending'; readonly pendingIndex: number }
  | { readonly code: 'config-change-invalid'; readonly reason: string }
  | { readonly code: 'proposal-too-large'; readonly sizeBytes: number; readonly limitBytes: number }
  | { readonly code: 'uncommitted-limit'; readonly limitEntries: number };

export type ProposeResult =
  | { readonly ok: true; readonly index: number; readonly term: number }
  | ({ readonly ok: false } & ProposeRejection);

export type TransferResult =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly code: 'not-leader' | 'unknown-target' | 'self' | 'in-progress';
    };

/** A read-only view of the core for status lines, tests and invariant checks. */
export interface RaftStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: number;
  readonly vote: NodeId | null;
  readonly leader: NodeId | null;
  readonly commit: number;
  readonly applied: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
  readonly voters: readonly NodeId[];
  readonly quorum: number;
  readonly consecutiveQuorumFailures: number;
  readonly transferee: NodeId | null;
}
