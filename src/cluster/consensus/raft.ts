// Owns the Raft protocol as a sans-I/O state machine: elections (pre-vote, randomized
// timeouts), check-quorum, log replication with fast backtracking, the Figure-8 commit rule,
// snapshots/compaction, leadership transfer and single-server membership changes. It is
// stepped with messages and ticks and hands everything it wants done to its shell as a Ready.
// It never reads a clock, arms a timer, draws unseeded randomness or touches I/O.

import { validateRaftConfig, type RaftConfig } from './config.js';
import { applyConfigChange, decodeConfigEntry, encodeConfigEntry } from './config-change.js';
import { invariant } from './errors.js';
import { RaftLog } from './log.js';
import { Progress, quorumMatchIndex, quorumSize } from './progress.js';
import type {
  AppendRequest,
  AppendResponse,
  ClusterConfig,
  ConfigChange,
  Entry,
  HardState,
  Message,
  NodeId,
  ProposeResult,
  RaftStatus,
  Ready,
  Role,
  Snapshot,
  SnapshotRequest,
  SoftState,
  TransferResult,
  VoteRequest,
  VoteResponse,
} from './types.js';

/** Messages waiting for the shell; beyond this the oldest are dropped (Raft retransmits). */
export const MAX_OUTBOX_MESSAGES = 10_000;
/** Committed entries handed out per Ready, so one Ready stays bounded. */
export const MAX_COMMITTED_PER_READY = 4096;

/** Seeded randomness the shell injects (the Runtime's Rng fits). */
export interface RaftRandom {
  int(maxExclusive: number): number;
}

export interface RaftInit {
  readonly id: NodeId;
  readonly config: RaftConfig;
  /**
   * The configured voters when the durable state holds no configuration yet (a fresh
   * cluster: every founding member passes the same list). A node joining an existing cluster
   * passes [] and learns the configuration from the leader.
   */
  readonly bootstrapVoters: readonly NodeId[];
  readonly random: RaftRandom;
  readonly hardState?: HardState | null;
  readonly snapshot?: Snapshot | null;
  /** Durable entries (those ≤ the snapshot index are ignored). */
  readonly entries?: readonly Entry[];
}

const EMPTY = new Uint8Array(0);

interface ConfigAt {
  readonly index: number;
  readonly config: ClusterConfig;
}

export class Raft {
  readonly id: NodeId;
  private readonly cfg: RaftConfig;
  private readonly random: RaftRandom;

  private term = 0;
  private vote: NodeId | null = null;
  private role: Role = 'follower';
  private leader: NodeId | null = null;
  private readonly log: RaftLog;

  /** Configuration in force at the compaction point, then each config entry in the log. */
  private baseConfig: ConfigAt;
  private configEntries: ConfigAt[] = [];

  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTicks = 0;
  private votes = new Map<NodeId, boolean>();
  private progress = new Map<NodeId, Progress>();
  private transferee: NodeId | null = null;
  private transferElapsed = 0;
  private quorumFailures = 0;
  private broadcastPending = false;

  /** The newest snapshot (taken locally or installed from a leader), for lagging followers. */
  private snapshot: Snapshot | null;
  private snapshotToInstall: Snapshot | null = null;
  private outbox: Message[] = [];
  private lastHardState: HardState;
  private lastSoftState: SoftState;
  private readyOutstanding = false;
  private applyingTo = 0;

  /** Counters for observability. */
  readonly stats = { droppedMessages: 0, quorumStepDowns: 0, elections: 0, preVotes: 0 };

  constructor(init: RaftInit) {
    this.id = init.id;
    this.cfg = validateRaftConfig(init.config);
    this.random = init.random;
    const snap = init.snapshot ?? null;
    this.snapshot = snap;
    const hs = init.hardState ?? { term: 0, vote: null, commit: 0 };
    this.term = hs.term;
    this.vote = hs.vote;
    this.log = RaftLog.restore(
      snap?.meta.index ?? 0,
      snap?.meta.term ?? 0,
      init.entries ?? [],
      hs.commit,
    );
    this.baseConfig = snap
      ? { index: snap.meta.index, config: snap.meta.config }
      : { index: 0, config: { voters: [...init.bootstrapVoters].sort() } };
    for (let i = this.log.firstIndex(); i <= this.log.lastIndex(); i++) {
      const e = this.log.entry(i);
      if (e?.kind === 'config') this.trackConfigEntry(e);
    }
    this.lastHardState = { term: this.term, vote: this.vote, commit: this.log.committed };
    this.lastSoftState = this.softState();
    this.applyingTo = this.log.applied;
    this.resetElectionTimer();
  }

  // ---------------------------------------------------------------- public API

  /** One logical clock tick (the shell calls it every `tickMs`). */
  tick(): void {
    if (this.role === 'leader') {
      this.tickLeader();
    } else {
      this.electionElapsed++;
      if (this.promotable() && this.electionElapsed >= this.randomizedElectionTicks) {
        this.electionElapsed = 0;
        this.hup(false);
      }
    }
  }

  /** Feeds one message from a peer. Messages not addressed to this node are ignored. */
  step(m: Message): void {
    if (m.to !== this.id || m.from === this.id) return;
    if (!this.stepTerm(m)) return;
    switch (m.type) {
      case 'vote':
      case 'pre-vote':
        this.handleVoteRequest(m);
        return;
      default:
        break;
    }
    switch (this.role) {
      case 'leader':
        this.stepLeader(m);
        return;
      case 'candidate':
      case 'pre-candidate':
        this.stepCandidate(m);
        return;
      case 'follower':
        this.stepFollower(m);
        return;
    }
  }

  /** Appends a command if this node leads; the result says where it went or why not. */
  propose(data: Uint8Array): ProposeResult {
    const refused = this.refuseProposal();
    if (refused) return refused;
    if (data.byteLength > this.cfg.maxProposalBytes) {
      return {
        ok: false,
        code: 'proposal-too-large',
        sizeBytes: data.byteLength,
        limitBytes: this.cfg.maxProposalBytes,
      };
    }
    return this.appendAsLeader('normal', data);
  }

  /** Proposes adding or removing one voter (one change in flight at a time). */
  proposeConfigChange(change: ConfigChange): ProposeResult {
    const refused = this.refuseProposal();
    if (refused) return refused;
    // A leader must commit an entry of its own term before changing the configuration
    // (the single-server-change fix from the raft-dev list, 2015), and one change at a time.
    const pendingIndex = this.latestConfig().index;
    if (pendingIndex > this.log.committed || this.log.term(this.log.committed) !== this.term) {
      return {
        ok: false,
        code: 'config-change-pending',
        pendingIndex: Math.max(pendingIndex, this.log.committed + 1),
      };
    }
    const next = applyConfigChange(this.voterConfig(), change);
    if (!next.ok) return { ok: false, code: 'config-change-invalid', reason: next.reason };
    return this.appendAsLeader('config', encodeConfigEntry({ change, voters: next.config.voters }));
  }

  /** Hands leadership to `to` (graceful shutdown): catch it up, then send TimeoutNow. */
  transferLeadership(to: NodeId): TransferResult {
    if (this.role !== 'leader') return { ok: false, code: 'not-leader' };
    if (to === this.id) return { ok: false, code: 'self' };
    if (!this.voters().includes(to)) return { ok: false, code: 'unknown-target' };
    if (this.transferee !== null) {
      if (this.transferee === to) return { ok: false, code: 'in-progress' };
      this.transferee = null;
    }
    this.transferee = to;
    this.transferElapsed = 0;
    const pr = this.progress.get(to);
    invariant(pr !== undefined, 'transfer target has no progress');
    if (pr.match === this.log.lastIndex()) {
      this.send({ type: 'timeout-now', from: this.id, to, term: this.term });
    } else {
      this.sendAppend(to, true);
    }
    return { ok: true };
  }

  /**
   * The shell took a snapshot of the state machine at `index` (≤ applied): remember it for
   * lagging followers and compact the log, keeping `compactionRetainEntries` before it.
   */
  compact(index: number, data: Uint8Array): Snapshot {
    invariant(
      index <= this.log.applied,
      () => `snapshot ${index} beyond applied ${this.log.applied}`,
    );
    invariant(
      index > (this.snapshot?.meta.index ?? 0) || index === 0,
      'snapshot must move forward',
    );
    const term = this.log.term(index);
    invariant(term !== undefined, () => `snapshot index ${index} not in the log`);
    const snapshot: Snapshot = { meta: { index, term, config: this.configAt(index) }, data };
    this.snapshot = snapshot;
    const compactTo = Math.max(0, index - this.cfg.compactionRetainEntries);
    if (compactTo > this.log.firstIndex() - 1) {
      this.baseConfig = { index: compactTo, config: this.configAt(compactTo) };
      this.configEntries = this.configEntries.filter((c) => c.index > compactTo);
      this.log.compactTo(compactTo);
    }
    return snapshot;
  }

  hasReady(): boolean {
    if (this.readyOutstanding) return false;
    if (this.broadcastPending && this.role === 'leader') return true;
    return (
      this.outbox.length > 0 ||
      this.log.hasUnstable() ||
      this.snapshotToInstall !== null ||
      this.log.committed > this.applyingTo ||
      !sameHardState(this.hardState(), this.lastHardState) ||
      !sameSoftState(this.softState(), this.lastSoftState)
    );
  }

  /** Takes everything to do; call advance() once it is all done (see Ready). */
  ready(): Ready {
    invariant(!this.readyOutstanding, 'ready() called again before advance()');
    this.flushBroadcast();
    const hs = this.hardState();
    const hsChanged = !sameHardState(hs, this.lastHardState);
    const mustSync =
      hsChanged && (hs.term !== this.lastHardState.term || hs.vote !== this.lastHardState.vote);
    const ss = this.softState();
    const ssChanged = !sameSoftState(ss, this.lastSoftState);
    const snapshot = this.snapshotToInstall;
    this.snapshotToInstall = null;
    if (snapshot) this.applyingTo = snapshot.meta.index;
    const entries = this.log.takeUnstable();
    const hi = Math.min(this.log.committed, this.applyingTo + MAX_COMMITTED_PER_READY);
    const committedEntries = this.log.slice(this.applyingTo + 1, hi + 1);
    this.applyingTo = Math.max(this.applyingTo, hi);
    const messages = this.outbox;
    this.outbox = [];
    this.lastHardState = hs;
    this.lastSoftState = ss;
    this.readyOutstanding = true;
    return {
      softState: ssChanged ? ss : null,
      hardState: hsChanged ? hs : null,
      hardStateMustSync: mustSync,
      snapshot,
      entries,
      messages,
      committedEntries,
    };
  }

  /** The shell finished the last Ready: its committed entries are applied. */
  advance(): void {
    invariant(this.readyOutstanding, 'advance() without ready()');
    this.readyOutstanding = false;
    invariant(this.applyingTo <= this.log.committed, 'applied beyond commit');
    this.log.applied = this.applyingTo;
  }

  status(): RaftStatus {
    const voters = this.voters();
    return {
      id: this.id,
      role: this.role,
      term: this.term,
      vote: this.vote,
      leader: this.leader,
      commit: this.log.committed,
      applied: this.log.applied,
      firstIndex: this.log.firstIndex(),
      lastIndex: this.log.lastIndex(),
      snapshotIndex: this.snapshot?.meta.index ?? 0,
      voters,
      quorum: quorumSize(voters.length),
      consecutiveQuorumFailures: this.quorumFailures,
      transferee: this.transferee,
    };
  }

  /**
   * On a leader: ticks since `peer` last answered it (counted from when it became leader);
   * null on a follower, for itself, or for a node that is not a member.
   */
  peerQuietTicks(peer: NodeId): number | null {
    if (this.role !== 'leader' || peer === this.id) return null;
    return this.progress.get(peer)?.quietTicks ?? null;
  }

  /** The fencing token for everything this node sends as leader: its current term. */
  get fencingToken(): number {
    return this.term;
  }

  get consecutiveQuorumFailures(): number {
    return this.quorumFailures;
  }

  /** Entries in [lo, hiExclusive) that the shell has already been told to persist. */
  persistedEntries(lo: number, hiExclusive: number): Entry[] {
    return this.log.slice(lo, Math.min(hiExclusive, this.log.unstableFrom));
  }

  /** An entry still held in memory (for tests and invariant checks). */
  entryAt(index: number): Entry | undefined {
    return this.log.entry(index);
  }

  termAt(index: number): number | undefined {
    return this.log.term(index);
  }

  /** The follower whose log matches the leader's furthest (for a graceful hand-over), or null. */
  bestTransferTarget(): NodeId | null {
    let best: NodeId | null = null;
    let bestMatch = -1;
    for (const [id, pr] of this.progress) {
      if (pr.match > bestMatch) {
        best = id;
        bestMatch = pr.match;
      }
    }
    return best;
  }

  currentSnapshot(): Snapshot | null {
    return this.snapshot;
  }

  // ---------------------------------------------------------------- configuration

  voters(): readonly NodeId[] {
    return this.voterConfig().voters;
  }

  private voterConfig(): ClusterConfig {
    return this.latestConfig().config;
  }

  private latestConfig(): ConfigAt {
    return this.configEntries[this.configEntries.length - 1] ?? this.baseConfig;
  }

  private configAt(index: number): ClusterConfig {
    let c = this.baseConfig.config;
    for (const e of this.configEntries) {
      if (e.index > index) break;
      c = e.config;
    }
    return c;
  }

  /** A configuration takes effect as soon as it is in the log (dissertation §4.1). */
  private trackConfigEntry(e: Entry): void {
    const data = decodeConfigEntry(e.data);
    invariant(data !== null, () => `malformed config entry at ${e.index}`);
    const last = this.latestConfig();
    invariant(e.index > last.index, 'config entries out of order');
    this.configEntries.push({ index: e.index, config: { voters: [...data.voters].sort() } });
    if (this.role === 'leader') this.syncProgressWithConfig();
  }

  private onTruncate(fromIndex: number): void {
    this.configEntries = this.configEntries.filter((c) => c.index < fromIndex);
  }

  private promotable(): boolean {
    return this.voters().includes(this.id);
  }

  // ---------------------------------------------------------------- roles

  private resetElectionTimer(): void {
    this.electionElapsed = 0;
    this.randomizedElectionTicks = this.cfg.electionTicks + this.random.int(this.cfg.electionTicks);
  }

  private becomeFollower(term: number, leader: NodeId | null): void {
    invariant(term >= this.term, 'term must never decrease');
    if (term > this.term) {
      this.term = term;
      this.vote = null;
    }
    this.role = 'follower';
    this.leader = leader;
    this.heartbeatElapsed = 0;
    this.transferee = null;
    this.quorumFailures = 0;
    this.progress.clear();
    this.votes.clear();
    this.resetElectionTimer();
  }

  private becomePreCandidate(): void {
    invariant(this.role !== 'leader', 'leader cannot pre-vote');
    this.role = 'pre-candidate';
    this.leader = null;
    this.votes = new Map([[this.id, true]]);
    this.resetElectionTimer();
  }

  private becomeCandidate(): void {
    invariant(this.role !== 'leader', 'leader cannot become candidate');
    this.term += 1;
    this.vote = this.id;
    this.role = 'candidate';
    this.leader = null;
    this.votes = new Map([[this.id, true]]);
    this.resetElectionTimer();
  }

  private becomeLeader(): void {
    invariant(this.role === 'candidate', 'only a candidate becomes leader');
    this.role = 'leader';
    this.leader = this.id;
    this.heartbeatElapsed = 0;
    this.electionElapsed = 0;
    this.quorumFailures = 0;
    this.transferee = null;
    this.progress.clear();
    this.syncProgressWithConfig();
    // An empty entry of the new term lets earlier entries commit (Figure 8).
    this.appendAsLeader('noop', EMPTY);
  }

  private syncProgressWithConfig(): void {
    const voters = this.voters();
    for (const id of [...this.progress.keys()]) {
      if (!voters.includes(id)) this.progress.delete(id);
    }
    for (const id of voters) {
      if (id === this.id || this.progress.has(id)) continue;
      const pr = new Progress(this.log.lastIndex() + 1, this.cfg.maxInflightAppends);
      this.progress.set(id, pr);
    }
  }

  private hup(transfer: boolean): void {
    if (this.role === 'leader' || !this.promotable()) return;
    if (this.cfg.preVote && !transfer) {
      this.stats.preVotes++;
      this.becomePreCandidate();
      if (this.tallyWon()) {
        this.campaign(false);
        return;
      }
      this.requestVotes('pre-vote', this.term + 1, false);
    } else {
      this.campaign(transfer);
    }
  }

  private campaign(transfer: boolean): void {
    this.stats.elections++;
    this.becomeCandidate();
    if (this.tallyWon()) {
      this.becomeLeader();
      return;
    }
    this.requestVotes('vote', this.term, transfer);
  }

  private requestVotes(type: 'vote' | 'pre-vote', term: number, transfer: boolean): void {
    for (const to of this.voters()) {
      if (to === this.id) continue;
      this.send({
        type,
        from: this.id,
        to,
        term,
        lastLogIndex: this.log.lastIndex(),
        lastLogTerm: this.log.lastTerm(),
        transfer,
      });
    }
  }

  private tallyWon(): boolean {
    const voters = this.voters();
    let granted = 0;
    for (const v of voters) if (this.votes.get(v) === true) granted++;
    return granted >= quorumSize(voters.length);
  }

  private tallyLost(): boolean {
    const voters = this.voters();
    let rejected = 0;
    for (const v of voters) if (this.votes.get(v) === false) rejected++;
    return rejected >= quorumSize(voters.length);
  }

  // ---------------------------------------------------------------- stepping

  /** Term rules common to every role; returns false if the message is to be dropped. */
  private stepTerm(m: Message): boolean {
    if (m.term > this.term) {
      if (m.type === 'vote' || m.type === 'pre-vote') {
        const inLease =
          this.cfg.checkQuorum &&
          this.leader !== null &&
          this.electionElapsed < this.cfg.electionTicks;
        if (inLease && !m.transfer) return false;
      }
      if (m.type === 'pre-vote') return true;
      if (m.type === 'pre-vote-response' && m.granted) return true;
      const fromLeader = m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot';
      this.becomeFollower(m.term, fromLeader ? m.from : null);
      return true;
    }
    if (m.term < this.term) {
      if (
        (this.cfg.checkQuorum || this.cfg.preVote) &&
        (m.type === 'append' || m.type === 'heartbeat')
      ) {
        // A stale leader (e.g. back from a partition) learns our term and steps down.
        this.send({
          type: 'append-response',
          from: this.id,
          to: m.from,
          term: this.term,
          index: 0,
          reject: false,
          hintIndex: 0,
          hintTerm: 0,
        });
      } else if (m.type === 'pre-vote') {
        this.send({
          type: 'pre-vote-response',
          from: this.id,
          to: m.from,
          term: this.term,
          granted: false,
        });
      }
      return false;
    }
    return true;
  }

  private handleVoteRequest(m: VoteRequest): void {
    const canVote =
      this.vote === m.from ||
      (this.vote === null && this.leader === null) ||
      (m.type === 'pre-vote' && m.term > this.term);
    const responseType = m.type === 'vote' ? 'vote-response' : 'pre-vote-response';
    if (canVote && this.log.isUpToDate(m.lastLogIndex, m.lastLogTerm)) {
      // A pre-vote grant carries the future term so the pre-candidate counts it.
      this.send({ type: responseType, from: this.id, to: m.from, term: m.term, granted: true });
      if (m.type === 'vote') {
        invariant(this.vote === null || this.vote === m.from, 'two votes in one term');
        this.vote = m.from;
        this.electionElapsed = 0;
      }
    } else {
      this.send({ type: responseType, from: this.id, to: m.from, term: this.term, granted: false });
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case 'append':
        this.electionElapsed = 0;
        this.leader = m.from;
        this.handleAppend(m);
        return;
      case 'heartbeat':
        this.electionElapsed = 0;
        this.leader = m.from;
        this.log.commitTo(Math.min(m.commit, this.log.lastIndex()));
        this.send({ type: 'heartbeat-response', from: this.id, to: m.from, term: this.term });
        return;
      case 'snapshot':
        this.electionElapsed = 0;
        this.leader = m.from;
        this.handleSnapshot(m);
        return;
      case 'timeout-now':
        this.hup(true);
        return;
      default:
        return;
    }
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        // A leader of our term exists: fall back and process its message as a follower.
        this.becomeFollower(m.term, m.from);
        this.stepFollower(m);
        return;
      case 'vote-response':
      case 'pre-vote-response':
        this.handleVoteResponse(m);
        return;
      default:
        return;
    }
  }

  private handleVoteResponse(m: VoteResponse): void {
    const expected = this.role === 'candidate' ? 'vote-response' : 'pre-vote-response';
    if (m.type !== expected) return;
    if (!this.voters().includes(m.from) || this.votes.has(m.from)) return;
    this.votes.set(m.from, m.granted);
    if (this.tallyWon()) {
      if (this.role === 'pre-candidate') this.campaign(false);
      else this.becomeLeader();
    } else if (this.tallyLost()) {
      this.becomeFollower(this.term, null);
    }
  }

  private handleAppend(m: AppendRequest): void {
    const reply = (index: number, reject: boolean, hintIndex: number, hintTerm: number): void =>
      this.send({
        type: 'append-response',
        from: this.id,
        to: m.from,
        term: this.term,
        index,
        reject,
        hintIndex,
        hintTerm,
      });
    if (m.prevIndex < this.log.committed) {
      reply(this.log.committed, false, 0, 0);
      return;
    }
    const matched = this.log.maybeAppend(
      m.prevIndex,
      m.prevTerm,
      m.entries,
      (from) => this.onTruncate(from),
      (e) => {
        if (e.kind === 'config') this.trackConfigEntry(e);
      },
    );
    if (matched === null) {
      const hint = Math.min(m.prevIndex, this.log.lastIndex());
      const [hintIndex, hintTerm] = this.log.findConflictByTerm(hint, m.prevTerm);
      reply(m.prevIndex, true, hintIndex, hintTerm);
      return;
    }
    this.log.commitTo(Math.min(m.commit, matched));
    reply(matched, false, 0, 0);
  }

  private handleSnapshot(m: SnapshotRequest): void {
    const s = m.snapshot;
    const reply = (index: number): void =>
      this.send({
        type: 'append-response',
        from: this.id,
        to: m.from,
        term: this.term,
        index,
        reject: false,
        hintIndex: 0,
        hintTerm: 0,
      });
    if (s.meta.index <= this.log.committed) {
      reply(this.log.committed);
      return;
    }
    if (this.log.matchTerm(s.meta.index, s.meta.term)) {
      // We already hold the entries: just learn that they are committed.
      this.log.commitTo(s.meta.index);
      reply(this.log.committed);
      return;
    }
    invariant(
      this.snapshotToInstall === null || this.snapshotToInstall.meta.index < s.meta.index,
      'snapshots must move forward',
    );
    this.log.restoreSnapshot(s);
    this.applyingTo = Math.max(this.applyingTo, s.meta.index);
    this.baseConfig = { index: s.meta.index, config: s.meta.config };
    this.configEntries = [];
    this.snapshot = s;
    this.snapshotToInstall = s;
    reply(s.meta.index);
  }

  private stepLeader(m: Message): void {
    invariant(
      m.type !== 'append' && m.type !== 'heartbeat' && m.type !== 'snapshot',
      () => `two leaders in term ${this.term}: ${this.id} and ${m.from}`,
    );
    const pr = this.progress.get(m.from);
    if (pr === undefined) return;
    switch (m.type) {
      case 'append-response':
        pr.recentActive = true;
        pr.quietTicks = 0;
        this.handleAppendResponse(m, pr);
        return;
      case 'heartbeat-response':
        pr.recentActive = true;
        pr.quietTicks = 0;
        pr.onHeartbeatResponse();
        if (pr.match < this.log.lastIndex()) this.sendAppend(m.from, true);
        return;
      default:
        return;
    }
  }

  private handleAppendResponse(m: AppendResponse, pr: Progress): void {
    if (m.reject) {
      let next = m.hintIndex;
      if (m.hintTerm > 0) next = this.log.findConflictByTerm(m.hintIndex, m.hintTerm)[0];
      if (pr.maybeDecrTo(m.index, next)) {
        if (pr.state === 'replicate') pr.becomeProbe();
        this.sendAppend(m.from, true);
      }
      return;
    }
    const wasPaused = pr.isPaused();
    if (!pr.maybeUpdate(m.index)) {
      if (wasPaused && !pr.isPaused()) this.sendAppend(m.from, false);
      return;
    }
    if (pr.state === 'probe') pr.becomeReplicate();
    else if (pr.state === 'snapshot' && pr.match >= pr.pendingSnapshot) pr.becomeProbe();
    if (this.maybeCommit()) {
      this.broadcastPending = true;
    } else {
      this.sendAppend(m.from, false);
    }
    if (m.from === this.transferee && pr.match === this.log.lastIndex()) {
      this.send({ type: 'timeout-now', from: this.id, to: m.from, term: this.term });
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    for (const pr of this.progress.values()) {
      pr.quietTicks++;
      if (pr.state === 'snapshot' && ++pr.snapshotTicks >= this.cfg.electionTicks) {
        // The snapshot (or its answer) was lost: probe again, which resends it if needed.
        pr.becomeProbe();
      }
    }
    if (this.transferee !== null && ++this.transferElapsed >= this.cfg.transferTimeoutTicks) {
      this.transferee = null;
    }
    if (this.electionElapsed >= this.cfg.electionTicks) {
      this.electionElapsed = 0;
      if (this.cfg.checkQuorum && !this.checkQuorum()) return;
    }
    if (this.heartbeatElapsed >= this.cfg.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.broadcastHeartbeat();
    }
  }

  /** Returns false if the leader stepped down. */
  private checkQuorum(): boolean {
    const voters = this.voters();
    let active = 0;
    for (const v of voters) {
      if (v === this.id || this.progress.get(v)?.recentActive === true) active++;
    }
    for (const pr of this.progress.values()) pr.recentActive = false;
    if (active >= quorumSize(voters.length)) {
      this.quorumFailures = 0;
      return true;
    }
    this.quorumFailures++;
    if (this.quorumFailures >= this.cfg.quorumFailuresToStepDown) {
      this.stats.quorumStepDowns++;
      this.becomeFollower(this.term, null);
      return false;
    }
    return true;
  }

  private refuseProposal(): ProposeResult | null {
    if (this.role !== 'leader') {
      return { ok: false, code: 'not-leader', leaderHint: this.leader, term: this.term };
    }
    if (this.transferee !== null) {
      return { ok: false, code: 'transferring', leaderHint: this.transferee, term: this.term };
    }
    if (this.log.lastIndex() - this.log.committed >= this.cfg.maxUncommittedEntries) {
      return { ok: false, code: 'uncommitted-limit', limitEntries: this.cfg.maxUncommittedEntries };
    }
    return null;
  }

  private appendAsLeader(kind: Entry['kind'], data: Uint8Array): ProposeResult {
    invariant(this.role === 'leader', 'only a leader appends');
    const entry: Entry = { index: this.log.lastIndex() + 1, term: this.term, kind, data };
    this.log.append(entry);
    if (kind === 'config') this.trackConfigEntry(entry);
    this.broadcastPending = true;
    this.maybeCommit();
    return { ok: true, index: entry.index, term: entry.term };
  }

  /** Figure 8: only entries of the current term are committed by counting replicas. */
  private maybeCommit(): boolean {
    const index = quorumMatchIndex(this.voters(), (id) =>
      id === this.id ? this.log.lastIndex() : (this.progress.get(id)?.match ?? 0),
    );
    if (index <= this.log.committed || this.log.term(index) !== this.term) return false;
    this.log.commitTo(index);
    // A leader removed by a committed configuration hands over by stepping down.
    if (!this.promotable() && this.latestConfig().index <= this.log.committed) {
      this.becomeFollower(this.term, null);
    }
    return true;
  }

  private flushBroadcast(): void {
    if (!this.broadcastPending) return;
    this.broadcastPending = false;
    if (this.role !== 'leader') return;
    for (const id of this.progress.keys()) this.sendAppend(id, true);
  }

  private broadcastHeartbeat(): void {
    for (const [id, pr] of this.progress) {
      this.send({
        type: 'heartbeat',
        from: this.id,
        to: id,
        term: this.term,
        commit: Math.min(pr.match, this.log.committed),
      });
    }
  }

  private sendAppend(to: NodeId, sendIfEmpty: boolean): void {
    const pr = this.progress.get(to);
    if (pr === undefined || pr.isPaused()) return;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    if (prevTerm === undefined) {
      this.sendSnapshot(to, pr);
      return;
    }
    const entries = this.log.slice(pr.next, pr.next + this.cfg.maxEntriesPerAppend);
    let bytes = 0;
    for (let k = 0; k < entries.length; k++) {
      bytes += entries[k]?.data.byteLength ?? 0;
      if (k > 0 && bytes > this.cfg.maxAppendBytes) {
        entries.length = k;
        break;
      }
    }
    if (entries.length === 0 && !sendIfEmpty) return;
    const last = entries[entries.length - 1];
    this.send({
      type: 'append',
      from: this.id,
      to,
      term: this.term,
      prevIndex,
      prevTerm,
      entries,
      commit: this.log.committed,
    });
    if (last !== undefined) pr.sentEntries(last.index);
    else if (pr.state === 'probe') pr.probeSent = true;
  }

  private sendSnapshot(to: NodeId, pr: Progress): void {
    const snap = this.snapshot;
    invariant(snap !== null, 'log compacted without a snapshot');
    this.send({ type: 'snapshot', from: this.id, to, term: this.term, snapshot: snap });
    pr.becomeSnapshot(snap.meta.index);
  }

  private send(m: Message): void {
    if (this.outbox.length >= MAX_OUTBOX_MESSAGES) {
      this.outbox.shift();
      this.stats.droppedMessages++;
    }
    this.outbox.push(m);
  }

  private hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  private softState(): SoftState {
    return { role: this.role, leader: this.leader, term: this.term };
  }
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

function sameSoftState(a: SoftState, b: SoftState): boolean {
  return a.role === b.role && a.leader === b.leader && a.term === b.term;
}

export type { Role };
