// Owns one node's SWIM + Lifeguard membership as a sans-I/O state machine: `step(input, nowMs)`
// returns the datagrams to send, the events and when to wake it next. Never reads a clock, arms a
// timer, draws unseeded randomness or touches a socket — the node shell does all of that.

import type { Rng } from '../../runtime/types.js';
import {
  CoordinateTable,
  VivaldiClient,
  estimateRttMs,
  type Coordinate,
} from '../coordinates/vivaldi.js';
import {
  LIMITS,
  assertValidConfig,
  retransmitLimit,
  suspicionConfirmationsWanted,
  suspicionMaxMs,
  suspicionMinMs,
  type MembershipConfig,
} from './config.js';
import { DeadlineQueue } from './deadlines.js';
import { BroadcastQueue, updateWireBytes } from './dissemination.js';
import { LocalHealth } from './local-health.js';
import { ProbeOrder } from './probe-order.js';
import { Suspicion } from './suspicion.js';
import type {
  MemberAddress,
  MemberId,
  MemberStatus,
  MemberUpdate,
  MemberView,
  MembershipEvent,
  MembershipInput,
  MembershipOutput,
  OutboundMessage,
  Seed,
  Sender,
  SwimMessage,
} from './types.js';
import { InternalError } from '../../errors.js';

/** Consecutive failed direct probes after which a member is not chosen as an indirect helper. */
export const HELPER_CIRCUIT_OPEN_FAILURES = 2;
/** The agenda is compacted when it holds more than this many entries per live item (plus slack). */
const AGENDA_ENTRIES_PER_ITEM = 4;
const AGENDA_SLACK_ENTRIES = 64;
/**
 * Deadlines this close to `now` count as due: a shell that arms a timer for `wakeAt − now` may
 * be woken a floating-point hair early, and must not spin re-arming sub-nanosecond timers.
 */
const DUE_TOLERANCE_MS = 1e-6;

interface MemberRecord {
  readonly id: MemberId;
  address: MemberAddress;
  status: MemberStatus;
  incarnation: number;
  /** Heard directly at least once (AD-29); never reset until reaped. */
  confirmed: boolean;
  addedMs: number;
  sinceMs: number;
  /** Who made it suspect or dead (sent along when we tell the member about itself). */
  accuser: MemberId | null;
  suspicion: Suspicion | null;
  reapAtMs: number | null;
  failedUnconfirmedProbes: number;
}

interface PendingProbe {
  readonly seq: number;
  readonly targetId: MemberId;
  readonly sentAtMs: number;
  acked: boolean;
  indirectSent: boolean;
  expectedNacks: number;
  nacks: number;
}

/** An indirect probe this node runs on behalf of `requesterId`. */
interface Forward {
  readonly requesterId: MemberId;
  readonly requester: MemberAddress;
  readonly requesterSeq: number;
  readonly targetId: MemberId;
  readonly expireAtMs: number;
  nacked: boolean;
}

type AgendaItem =
  | { readonly kind: 'probe' }
  | { readonly kind: 'indirect'; readonly seq: number }
  | { readonly kind: 'forward-nack'; readonly seq: number }
  | { readonly kind: 'forward-expire'; readonly seq: number }
  | { readonly kind: 'suspicion'; readonly id: MemberId }
  | { readonly kind: 'reap'; readonly id: MemberId }
  | { readonly kind: 'reconnect' }
  | { readonly kind: 'seed-retry' };

export interface SwimOptions {
  readonly id: MemberId;
  readonly address: MemberAddress;
  readonly config: MembershipConfig;
  /** Seeded randomness (probe order, helpers, first-probe jitter, Vivaldi directions). */
  readonly rng: Rng;
  readonly nowMs: number;
  /** Starting incarnation (a restarted node may pass a persisted one + 1). */
  readonly incarnation?: number;
}

export interface MembershipCounters {
  sent: Record<SwimMessage['type'], number>;
  received: Record<SwimMessage['type'], number>;
  updatesSent: number;
  updatesReceived: number;
  staleUpdates: number;
  /** "suspect" gossip about a member never heard from directly (ignored, AD-29). */
  suspicionsOfUnconfirmedIgnored: number;
  misdirectedPings: number;
  forwardsDropped: number;
  membersRejectedAtCap: number;
  refutations: number;
}

export class SwimMembership {
  readonly id: MemberId;
  readonly address: MemberAddress;
  readonly config: MembershipConfig;
  private selfIncarnation: number;
  private readonly rng: Rng;
  private readonly members = new Map<MemberId, MemberRecord>();
  private readonly order: ProbeOrder;
  private readonly broadcasts = new BroadcastQueue(LIMITS.maxBroadcastQueue);
  private readonly health: LocalHealth;
  private readonly vivaldi: VivaldiClient;
  private readonly coordinates: CoordinateTable;
  /** Consecutive failed direct probes per member (a helper circuit breaker). */
  private readonly helperCircuits = new Map<MemberId, number>();
  private readonly forwards = new Map<number, Forward>();
  private readonly agenda = new DeadlineQueue<AgendaItem>();
  private readonly seeds: Seed[] = [];
  private seedRetryArmed = false;
  private pending: PendingProbe | null = null;
  private nextProbeAtMs: number;
  private nextReconnectAtMs: number;
  private nextSeedRetryAtMs = Number.POSITIVE_INFINITY;
  private seq = 0;
  private now: number;
  private outMessages: OutboundMessage[] = [];
  private outEvents: MembershipEvent[] = [];
  readonly counters: MembershipCounters = {
    sent: { ping: 0, 'ping-req': 0, ack: 0, nack: 0 },
    received: { ping: 0, 'ping-req': 0, ack: 0, nack: 0 },
    updatesSent: 0,
    updatesReceived: 0,
    staleUpdates: 0,
    suspicionsOfUnconfirmedIgnored: 0,
    misdirectedPings: 0,
    forwardsDropped: 0,
    membersRejectedAtCap: 0,
    refutations: 0,
  };

  constructor(options: SwimOptions) {
    assertValidConfig(options.config);
    this.id = options.id;
    this.address = { host: options.address.host, port: options.address.port };
    this.config = options.config;
    this.selfIncarnation = options.incarnation ?? 0;
    this.rng = options.rng;
    this.now = options.nowMs;
    this.order = new ProbeOrder(this.rng.fork('probe-order'));
    this.health = new LocalHealth(options.config.awarenessMaxMultiplier);
    const vivaldiRng = this.rng.fork('vivaldi');
    this.vivaldi = new VivaldiClient(() => vivaldiRng.next());
    this.coordinates = new CoordinateTable(options.config.maxMembers);
    // Desynchronize probe periods across nodes started together.
    this.nextProbeAtMs = this.now + this.rng.next() * options.config.probeIntervalMs;
    this.agenda.push(this.nextProbeAtMs, { kind: 'probe' });
    this.nextReconnectAtMs = this.now + options.config.reconnectIntervalMs;
    this.agenda.push(this.nextReconnectAtMs, { kind: 'reconnect' });
  }

  // ───────────────────────────── public surface ─────────────────────────────

  get incarnation(): number {
    return this.selfIncarnation;
  }

  /** Lifeguard score in [0, awarenessMaxMultiplier − 1]; timeouts stretch by 1 + score. */
  get localHealthScore(): number {
    return this.health.value;
  }

  get coordinate(): Coordinate {
    return this.vivaldi.coordinate;
  }

  /** Estimated RTT to a member from Vivaldi coordinates, or undefined without a sample. */
  estimatedRttMs(id: MemberId): number | undefined {
    const c = this.coordinates.get(id);
    return c ? estimateRttMs(this.vivaldi.coordinate, c) : undefined;
  }

  get coordinateTable(): CoordinateTable {
    return this.coordinates;
  }

  member(id: MemberId): MemberView | undefined {
    const m = this.members.get(id);
    return m ? view(m) : undefined;
  }

  /** Every member this node tracks (self excluded). */
  memberList(): MemberView[] {
    return [...this.members.values()].map(view);
  }

  get memberCount(): number {
    return this.members.size;
  }

  /** Pending gossip updates (for tests and stats). */
  get broadcastQueueSize(): number {
    return this.broadcasts.size;
  }

  get pendingForwardCount(): number {
    return this.forwards.size;
  }

  /** Confirmations gathered for a suspect member's suspicion (for tests). */
  suspicionOf(
    id: MemberId,
  ): { confirmations: number; deadlineMs: number; startMs: number } | undefined {
    const s = this.members.get(id)?.suspicion;
    return s
      ? { confirmations: s.confirmations, deadlineMs: s.deadlineMs, startMs: s.startMs }
      : undefined;
  }

  /** Failed direct probes in a row recorded for a member (the helper circuit). */
  helperCircuitFailures(id: MemberId): number {
    return this.helperCircuits.get(id) ?? 0;
  }

  /**
   * Names of every per-peer structure that still mentions `id`: after a reap this must be empty
   * (GP-3.2/GP-4.3). Covers the member map, probe order, gossip queue, coordinates, helper
   * circuits, the pending probe, forwards (as target or requester) and the agenda.
   */
  peerStateFootprint(id: MemberId): string[] {
    const found: string[] = [];
    if (this.members.has(id)) found.push('members');
    if (this.order.has(id)) found.push('probeOrder');
    if (this.broadcasts.has(id)) found.push('broadcasts');
    if (this.coordinates.has(id)) found.push('coordinates');
    if (this.helperCircuits.has(id)) found.push('helperCircuits');
    if (this.pending?.targetId === id) found.push('pendingProbe');
    for (const f of this.forwards.values()) {
      if (f.targetId === id || f.requesterId === id) {
        found.push('forwards');
        break;
      }
    }
    for (const d of this.agenda.entries()) {
      if ((d.what.kind === 'suspicion' || d.what.kind === 'reap') && d.what.id === id) {
        found.push('agenda');
        break;
      }
    }
    return found;
  }

  /** Feeds one input at monotonic time `nowMs`; returns what to send, what happened, when to wake. */
  step(input: MembershipInput, nowMs: number): MembershipOutput {
    this.now = Math.max(this.now, nowMs);
    this.outMessages = [];
    this.outEvents = [];
    this.runDue();
    switch (input.type) {
      case 'tick':
        break;
      case 'receive':
        this.receive(input.message);
        break;
      case 'join':
        this.join(input.seeds);
        break;
    }
    this.runDue();
    if (
      this.agenda.size >
      AGENDA_ENTRIES_PER_ITEM * (this.members.size + this.forwards.size) + AGENDA_SLACK_ENTRIES
    ) {
      this.agenda.compact((what, atMs) => this.isLive(what, atMs));
    }
    this.assertCheapInvariants();
    return { messages: this.outMessages, events: this.outEvents, wakeAtMs: this.agenda.peekAtMs() };
  }

  /** Full invariant check (tests call it after every simulated event). Throws on violation. */
  checkInvariants(): void {
    this.assertCheapInvariants();
    for (const m of this.members.values()) {
      const where = `member ${m.id} (${m.status}@${m.incarnation})`;
      if (m.id === this.id) throw new InternalError(`invariant: self in member map`);
      if (!Number.isSafeInteger(m.incarnation) || m.incarnation < 0)
        throw new InternalError(`invariant: ${where} bad incarnation`);
      if (m.status === 'unconfirmed' && m.confirmed)
        throw new InternalError(`invariant: ${where} confirmed yet unconfirmed`);
      if (m.status === 'alive' && !m.confirmed)
        throw new InternalError(`invariant: ${where} alive but never heard directly`);
      if (m.status === 'suspect' && !m.confirmed)
        throw new InternalError(`invariant: ${where} suspected but never heard directly`);
      if ((m.status === 'suspect') !== (m.suspicion !== null))
        throw new InternalError(`invariant: ${where} suspicion mismatch`);
      if ((m.status === 'dead') !== (m.reapAtMs !== null))
        throw new InternalError(`invariant: ${where} reap mismatch`);
      if (m.suspicion && m.suspicion.confirmations > m.suspicion.wanted) {
        throw new InternalError(`invariant: ${where} more confirmations than wanted`);
      }
    }
    if (this.pending && !this.members.has(this.pending.targetId))
      throw new InternalError('invariant: pending probe of unknown member');
    if (
      this.nextProbeAtMs <
      this.now - this.config.probeIntervalMs * this.config.awarenessMaxMultiplier
    ) {
      throw new InternalError('invariant: probe loop stalled');
    }
  }

  private assertCheapInvariants(): void {
    if (this.members.size > this.config.maxMembers)
      throw new InternalError('invariant: member map over its bound');
    if (this.forwards.size > LIMITS.maxPendingForwards)
      throw new InternalError('invariant: forwards over their bound');
    if (this.broadcasts.size > LIMITS.maxBroadcastQueue)
      throw new InternalError('invariant: gossip queue over its bound');
    if (this.seeds.length > LIMITS.maxSeeds)
      throw new InternalError('invariant: seeds over their bound');
  }

  // ───────────────────────────── agenda ─────────────────────────────

  private runDue(): void {
    const dueBy = this.now + DUE_TOLERANCE_MS;
    for (let d = this.agenda.popDue(dueBy); d; d = this.agenda.popDue(dueBy)) {
      if (!this.isLive(d.what, d.atMs)) continue;
      this.fire(d.what);
    }
  }

  private isLive(what: AgendaItem, atMs: number): boolean {
    switch (what.kind) {
      case 'probe':
        return atMs === this.nextProbeAtMs;
      case 'reconnect':
        return atMs === this.nextReconnectAtMs;
      case 'seed-retry':
        return atMs === this.nextSeedRetryAtMs;
      case 'indirect': {
        const p = this.pending;
        return p !== null && p.seq === what.seq && !p.acked && !p.indirectSent;
      }
      case 'forward-nack': {
        const f = this.forwards.get(what.seq);
        return f !== undefined && !f.nacked;
      }
      case 'forward-expire': {
        const f = this.forwards.get(what.seq);
        return f !== undefined && f.expireAtMs === atMs;
      }
      case 'suspicion': {
        const m = this.members.get(what.id);
        return m?.status === 'suspect' && m.suspicion?.deadlineMs === atMs;
      }
      case 'reap': {
        const m = this.members.get(what.id);
        return m?.status === 'dead' && m.reapAtMs === atMs;
      }
    }
  }

  private fire(what: AgendaItem): void {
    switch (what.kind) {
      case 'probe':
        this.finishProbe();
        this.startProbe();
        return;
      case 'indirect':
        this.sendIndirectProbes();
        return;
      case 'forward-nack': {
        const f = this.forwards.get(what.seq);
        if (f) {
          f.nacked = true;
          this.send(f.requester, f.requesterId, (updates) => ({
            type: 'nack',
            seq: f.requesterSeq,
            sender: this.sender(),
            updates,
          }));
        }
        return;
      }
      case 'forward-expire':
        this.forwards.delete(what.seq);
        return;
      case 'suspicion': {
        const m = this.members.get(what.id);
        if (m) this.declareDead(m, m.incarnation, this.id);
        return;
      }
      case 'reap': {
        const m = this.members.get(what.id);
        if (m) this.reap(m, 'dead');
        return;
      }
      case 'reconnect':
        this.reconnect();
        return;
      case 'seed-retry':
        this.nextSeedRetryAtMs = Number.POSITIVE_INFINITY;
        this.seedRetryArmed = false;
        this.contactSeeds();
        return;
    }
  }

  // ───────────────────────────── probing ─────────────────────────────

  private startProbe(): void {
    const mult = this.health.multiplier;
    this.nextProbeAtMs = this.now + this.config.probeIntervalMs * mult;
    this.agenda.push(this.nextProbeAtMs, { kind: 'probe' });
    const targetId = this.order.next(
      (id) => {
        const m = this.members.get(id);
        return m !== undefined && m.status !== 'dead';
      },
      () => [...this.members.values()].filter((m) => m.status !== 'dead').map((m) => m.id),
    );
    if (targetId === null) return;
    const target = this.members.get(targetId)!;
    const seq = this.nextSeq();
    this.pending = {
      seq,
      targetId,
      sentAtMs: this.now,
      acked: false,
      indirectSent: false,
      expectedNacks: 0,
      nacks: 0,
    };
    this.send(target.address, targetId, (updates) => ({
      type: 'ping',
      seq,
      sender: this.sender(),
      targetId,
      updates,
    }));
    // AD-29: an UNCONFIRMED member is probed directly only — never through helpers, never suspected.
    if (target.status !== 'unconfirmed' && this.config.indirectChecks > 0) {
      this.agenda.push(this.now + this.config.probeTimeoutMs * mult, { kind: 'indirect', seq });
    }
  }

  private sendIndirectProbes(): void {
    const p = this.pending;
    if (!p) return;
    const target = this.members.get(p.targetId);
    if (!target) return;
    const closed: MemberRecord[] = [];
    const open: MemberRecord[] = [];
    for (const m of this.members.values()) {
      if (m.id === p.targetId || m.status !== 'alive') continue;
      ((this.helperCircuits.get(m.id) ?? 0) >= HELPER_CIRCUIT_OPEN_FAILURES ? open : closed).push(
        m,
      );
    }
    const helpers = pickRandom(closed, this.config.indirectChecks, this.rng);
    if (helpers.length < this.config.indirectChecks) {
      helpers.push(...pickRandom(open, this.config.indirectChecks - helpers.length, this.rng));
    }
    p.indirectSent = true;
    p.expectedNacks = helpers.length;
    const t = { id: target.id, host: target.address.host, port: target.address.port };
    for (const h of helpers) {
      this.send(h.address, h.id, (updates) => ({
        type: 'ping-req',
        seq: p.seq,
        sender: this.sender(),
        target: t,
        updates,
      }));
    }
  }

  /** Concludes the probe of the period that just ended. */
  private finishProbe(): void {
    const p = this.pending;
    this.pending = null;
    if (!p) return;
    const m = this.members.get(p.targetId);
    if (p.acked) {
      this.health.apply(-1);
      return;
    }
    if (!m || m.status === 'dead') return;
    if (m.status === 'unconfirmed') {
      m.failedUnconfirmedProbes++;
      if (
        this.now - m.addedMs >= this.config.unconfirmedTimeoutMs &&
        m.failedUnconfirmedProbes >= this.config.unconfirmedMaxFailedProbes
      ) {
        this.reap(m, 'never-confirmed');
      }
      return;
    }
    // Lifeguard: if helpers did not even nack, the problem is likely us, not the target.
    this.health.apply(p.expectedNacks > 0 ? p.expectedNacks - p.nacks : 1);
    this.helperCircuits.set(m.id, (this.helperCircuits.get(m.id) ?? 0) + 1);
    this.applySuspect({
      kind: 'suspect',
      id: m.id,
      host: m.address.host,
      port: m.address.port,
      incarnation: m.incarnation,
      from: this.id,
    });
  }

  private reconnect(): void {
    this.nextReconnectAtMs = this.now + this.config.reconnectIntervalMs;
    this.agenda.push(this.nextReconnectAtMs, { kind: 'reconnect' });
    const dead: MemberRecord[] = [];
    for (const m of this.members.values()) if (m.status === 'dead') dead.push(m);
    const m = dead.length > 0 ? dead[this.rng.int(dead.length)] : undefined;
    if (!m) return;
    const seq = this.nextSeq();
    this.send(m.address, m.id, (updates) => ({
      type: 'ping',
      seq,
      sender: this.sender(),
      targetId: m.id,
      updates,
    }));
  }

  // ───────────────────────────── joining ─────────────────────────────

  private join(seeds: readonly Seed[]): void {
    for (const s of seeds) {
      if (s.address.host === this.address.host && s.address.port === this.address.port) continue;
      if (s.id === this.id) continue;
      const known = this.seeds.some(
        (k) => k.address.host === s.address.host && k.address.port === s.address.port,
      );
      if (!known && this.seeds.length < LIMITS.maxSeeds) {
        this.seeds.push({
          address: { host: s.address.host, port: s.address.port },
          ...(s.id ? { id: s.id } : {}),
        });
      }
      if (s.id && !this.members.has(s.id)) this.addMember(s.id, s.address, 0, false);
    }
    this.contactSeeds();
  }

  /** Pings every seed that is not a confirmed, non-dead member; re-arms itself while any is left. */
  private contactSeeds(): void {
    let outstanding = 0;
    for (const s of this.seeds) {
      let settled = false;
      for (const m of this.members.values()) {
        if (m.address.host === s.address.host && m.address.port === s.address.port) {
          settled = m.confirmed && m.status !== 'dead';
          break;
        }
      }
      if (settled) continue;
      outstanding++;
      const seq = this.nextSeq();
      const targetId = s.id ?? null;
      this.send(s.address, targetId, (updates) => ({
        type: 'ping',
        seq,
        sender: this.sender(),
        targetId,
        updates,
      }));
    }
    if (outstanding > 0 && !this.seedRetryArmed) {
      this.seedRetryArmed = true;
      this.nextSeedRetryAtMs = this.now + this.config.seedRetryIntervalMs;
      this.agenda.push(this.nextSeedRetryAtMs, { kind: 'seed-retry' });
    }
  }

  // ───────────────────────────── receiving ─────────────────────────────

  private receive(msg: SwimMessage): void {
    this.counters.received[msg.type]++;
    if (msg.sender.id === this.id) return;
    const updates =
      msg.updates.length > LIMITS.maxUpdatesPerMessage
        ? msg.updates.slice(0, LIMITS.maxUpdatesPerMessage)
        : msg.updates;
    for (const u of updates) {
      this.counters.updatesReceived++;
      this.applyUpdate(u);
    }
    // The message itself is direct evidence that its sender is alive at its incarnation.
    this.applyAlive(
      {
        kind: 'alive',
        id: msg.sender.id,
        host: msg.sender.host,
        port: msg.sender.port,
        incarnation: msg.sender.incarnation,
        from: msg.sender.id,
      },
      true,
    );
    const replyTo: MemberAddress = { host: msg.sender.host, port: msg.sender.port };
    switch (msg.type) {
      case 'ping': {
        if (msg.targetId !== null && msg.targetId !== this.id) {
          this.counters.misdirectedPings++;
          return;
        }
        const coordinate = this.vivaldi.coordinate;
        this.send(replyTo, msg.sender.id, (u) => ({
          type: 'ack',
          seq: msg.seq,
          sender: this.sender(),
          coordinate,
          updates: u,
        }));
        return;
      }
      case 'ping-req': {
        if (msg.target.id === this.id) return;
        if (this.forwards.size >= LIMITS.maxPendingForwards) {
          this.counters.forwardsDropped++;
          return;
        }
        const seq = this.nextSeq();
        const timeoutMs = this.config.probeTimeoutMs;
        this.forwards.set(seq, {
          requesterId: msg.sender.id,
          requester: replyTo,
          requesterSeq: msg.seq,
          targetId: msg.target.id,
          expireAtMs: this.now + timeoutMs,
          nacked: false,
        });
        this.agenda.push(this.now + timeoutMs * this.config.nackFraction, {
          kind: 'forward-nack',
          seq,
        });
        this.agenda.push(this.now + timeoutMs, { kind: 'forward-expire', seq });
        const targetId = msg.target.id;
        this.send({ host: msg.target.host, port: msg.target.port }, targetId, (u) => ({
          type: 'ping',
          seq,
          sender: this.sender(),
          targetId,
          updates: u,
        }));
        return;
      }
      case 'ack': {
        const p = this.pending;
        if (p && p.seq === msg.seq) {
          if (p.acked) return;
          p.acked = true;
          if (msg.sender.id === p.targetId) {
            this.helperCircuits.delete(p.targetId);
            if (msg.coordinate && this.members.has(p.targetId)) {
              this.vivaldi.update(msg.coordinate, this.now - p.sentAtMs);
              this.coordinates.set(p.targetId, msg.coordinate, this.now);
            }
          }
          return;
        }
        const f = this.forwards.get(msg.seq);
        if (f && msg.sender.id === f.targetId) {
          this.forwards.delete(msg.seq);
          this.send(f.requester, f.requesterId, (u) => ({
            type: 'ack',
            seq: f.requesterSeq,
            sender: this.sender(),
            coordinate: null,
            updates: u,
          }));
        }
        return;
      }
      case 'nack': {
        const p = this.pending;
        if (p && p.seq === msg.seq && p.indirectSent && !p.acked && p.nacks < p.expectedNacks)
          p.nacks++;
        return;
      }
    }
  }

  // ───────────────────────────── state changes ─────────────────────────────

  private applyUpdate(u: MemberUpdate): void {
    switch (u.kind) {
      case 'alive':
        this.applyAlive(u, false);
        return;
      case 'suspect':
        this.applySuspect(u);
        return;
      case 'dead':
        this.applyDead(u);
        return;
    }
  }

  /** `direct`: we heard the member itself (confirms it); otherwise it is gossip about it. */
  private applyAlive(u: MemberUpdate, direct: boolean): void {
    if (u.id === this.id) {
      // Someone remembers us at a higher incarnation (an earlier life): move past it.
      if (u.incarnation > this.selfIncarnation) this.refute(u, 'alive');
      return;
    }
    const m = this.members.get(u.id);
    if (!m) {
      if (this.addMember(u.id, u, u.incarnation, direct)) this.broadcasts.enqueue(u);
      return;
    }
    if (u.incarnation < m.incarnation) {
      this.counters.staleUpdates++;
      return;
    }
    if (u.incarnation === m.incarnation) {
      if (direct && m.status === 'unconfirmed') {
        m.confirmed = true;
        this.setStatus(m, 'alive');
        m.failedUnconfirmedProbes = 0;
        this.outEvents.push({
          type: 'alive',
          id: m.id,
          incarnation: m.incarnation,
          previous: 'unconfirmed',
        });
      } else if (m.status === 'suspect' || m.status === 'dead') {
        // Equal incarnation: suspect/dead beat alive. The member must refute with a higher one.
        this.counters.staleUpdates++;
      }
      return;
    }
    const previous = m.status;
    m.incarnation = u.incarnation;
    m.address = { host: u.host, port: u.port };
    m.suspicion = null;
    m.accuser = null;
    m.reapAtMs = null;
    m.failedUnconfirmedProbes = 0;
    if (direct) m.confirmed = true;
    this.setStatus(m, m.confirmed ? 'alive' : 'unconfirmed');
    if (previous === 'dead') this.order.insert(m.id);
    if (m.status === 'alive' && previous !== 'alive') {
      this.outEvents.push({ type: 'alive', id: m.id, incarnation: m.incarnation, previous });
    }
    this.broadcasts.enqueue({ ...u, kind: 'alive' });
  }

  private addMember(
    id: MemberId,
    address: MemberAddress,
    incarnation: number,
    direct: boolean,
  ): boolean {
    if (this.members.size >= this.config.maxMembers) {
      this.counters.membersRejectedAtCap++;
      return false;
    }
    const status: MemberStatus = direct ? 'alive' : 'unconfirmed';
    this.members.set(id, {
      id,
      address: { host: address.host, port: address.port },
      status,
      incarnation,
      confirmed: direct,
      addedMs: this.now,
      sinceMs: this.now,
      accuser: null,
      suspicion: null,
      reapAtMs: null,
      failedUnconfirmedProbes: 0,
    });
    this.order.insert(id);
    this.outEvents.push({ type: 'joined', id, incarnation, status });
    return true;
  }

  private applySuspect(u: MemberUpdate): void {
    if (u.id === this.id) {
      if (u.incarnation >= this.selfIncarnation) this.refute(u, 'suspect');
      return;
    }
    const m = this.members.get(u.id);
    if (!m || m.status === 'dead') return;
    if (!m.confirmed) {
      // AD-29: a member this node never heard from directly is not suspected on anyone's word;
      // its own direct probes decide (it is dropped, without a DEAD, if it never answers).
      this.counters.suspicionsOfUnconfirmedIgnored++;
      return;
    }
    if (u.incarnation < m.incarnation) {
      this.counters.staleUpdates++;
      return;
    }
    if (m.status === 'suspect' && u.incarnation === m.incarnation) {
      const s = m.suspicion;
      if (s?.confirm(u.from)) {
        this.agenda.push(s.deadlineMs, { kind: 'suspicion', id: m.id });
        this.broadcasts.enqueue(u);
      }
      return;
    }
    m.incarnation = u.incarnation;
    m.accuser = u.from;
    this.setStatus(m, 'suspect');
    const n = this.clusterSize();
    m.suspicion = new Suspicion(
      this.now,
      u.from,
      suspicionConfirmationsWanted(this.config, n),
      suspicionMinMs(this.config, n),
      suspicionMaxMs(this.config, n),
    );
    this.agenda.push(m.suspicion.deadlineMs, { kind: 'suspicion', id: m.id });
    this.outEvents.push({ type: 'suspect', id: m.id, incarnation: m.incarnation, by: u.from });
    this.broadcasts.enqueue(u);
  }

  private applyDead(u: MemberUpdate): void {
    if (u.id === this.id) {
      if (u.incarnation >= this.selfIncarnation) this.refute(u, 'dead');
      return;
    }
    const m = this.members.get(u.id);
    if (!m) return;
    if (u.incarnation < m.incarnation) {
      this.counters.staleUpdates++;
      return;
    }
    if (m.status === 'dead') {
      m.incarnation = u.incarnation;
      return;
    }
    this.declareDead(m, u.incarnation, u.from);
  }

  private declareDead(m: MemberRecord, incarnation: number, by: MemberId): void {
    m.incarnation = incarnation;
    m.accuser = by;
    m.suspicion = null;
    this.setStatus(m, 'dead');
    m.reapAtMs = this.now + this.config.reapIntervalMs;
    this.agenda.push(m.reapAtMs, { kind: 'reap', id: m.id });
    this.helperCircuits.delete(m.id);
    this.failWorkTowards(m.id);
    this.outEvents.push({ type: 'dead', id: m.id, incarnation, by });
    this.broadcasts.enqueue({
      kind: 'dead',
      id: m.id,
      host: m.address.host,
      port: m.address.port,
      incarnation,
      from: by,
    });
  }

  /** Ends probes towards `id` and indirect probes for or towards it (GP-4.1): requesters get a nack, nothing lingers. */
  private failWorkTowards(id: MemberId): void {
    if (this.pending?.targetId === id) this.pending = null;
    for (const [seq, f] of this.forwards) {
      if (f.targetId === id && f.requesterId !== id && !f.nacked) {
        this.send(f.requester, f.requesterId, (updates) => ({
          type: 'nack',
          seq: f.requesterSeq,
          sender: this.sender(),
          updates,
        }));
      }
      if (f.targetId === id || f.requesterId === id) this.forwards.delete(seq);
    }
  }

  private reap(m: MemberRecord, reason: 'dead' | 'never-confirmed'): void {
    this.failWorkTowards(m.id);
    this.members.delete(m.id);
    this.order.remove(m.id);
    this.broadcasts.remove(m.id);
    this.coordinates.forget(m.id);
    this.helperCircuits.delete(m.id);
    this.agenda.compact(
      (what, atMs) => !('id' in what && what.id === m.id) && this.isLive(what, atMs),
    );
    this.outEvents.push({ type: 'reaped', id: m.id, reason });
  }

  private refute(accusation: MemberUpdate, claimed: 'suspect' | 'dead' | 'alive'): void {
    this.selfIncarnation = Math.max(this.selfIncarnation, accusation.incarnation) + 1;
    this.counters.refutations++;
    if (claimed !== 'alive') this.health.apply(1);
    this.broadcasts.enqueue({
      kind: 'alive',
      id: this.id,
      host: this.address.host,
      port: this.address.port,
      incarnation: this.selfIncarnation,
      from: this.id,
    });
    this.outEvents.push({
      type: 'refuted',
      incarnation: this.selfIncarnation,
      accusedBy: accusation.from,
      claimed,
    });
  }

  // ───────────────────────────── sending ─────────────────────────────

  private send(
    to: MemberAddress,
    recipient: MemberId | null,
    build: (updates: MemberUpdate[]) => SwimMessage,
  ): void {
    const updates = this.piggyback(recipient);
    const message = build(updates);
    this.counters.sent[message.type]++;
    this.counters.updatesSent += updates.length;
    this.outMessages.push({ to, message });
  }

  /**
   * Gossip for one message: first what we believe about the recipient itself when that is
   * suspect or dead (so it can refute), then queued updates, fewest-sent first, within budget.
   */
  private piggyback(recipient: MemberId | null): MemberUpdate[] {
    const out: MemberUpdate[] = [];
    let budget = this.config.maxPiggybackBytes;
    let exclude: MemberId | undefined;
    const r = recipient === null ? undefined : this.members.get(recipient);
    if (r && (r.status === 'suspect' || r.status === 'dead')) {
      const about: MemberUpdate = {
        kind: r.status,
        id: r.id,
        host: r.address.host,
        port: r.address.port,
        incarnation: r.incarnation,
        from: r.accuser ?? this.id,
      };
      out.push(about);
      budget -= updateWireBytes(about);
      exclude = r.id;
    }
    const limit = retransmitLimit(this.config, this.members.size + 1);
    out.push(
      ...this.broadcasts.take(budget, LIMITS.maxUpdatesPerMessage - out.length, limit, exclude),
    );
    return out;
  }

  private sender(): Sender {
    return {
      id: this.id,
      host: this.address.host,
      port: this.address.port,
      incarnation: this.selfIncarnation,
    };
  }

  private setStatus(m: MemberRecord, status: MemberStatus): void {
    if (m.status !== status) m.sinceMs = this.now;
    m.status = status;
  }

  private clusterSize(): number {
    let n = 1;
    for (const m of this.members.values()) if (m.status !== 'dead') n++;
    return n;
  }

  private nextSeq(): number {
    this.seq = this.seq >= 0xffff_ffff ? 1 : this.seq + 1;
    return this.seq;
  }
}

function view(m: MemberRecord): MemberView {
  return {
    id: m.id,
    address: { ...m.address },
    status: m.status,
    incarnation: m.incarnation,
    sinceMs: m.sinceMs,
  };
}

/** Up to `count` distinct elements of `from`, chosen uniformly with `rng` (partial Fisher–Yates on a copy). */
function pickRandom<T>(from: readonly T[], count: number, rng: Rng): T[] {
  const pool = from.slice();
  const n = Math.min(count, pool.length);
  for (let i = 0; i < n; i++) {
    const j = i + rng.int(pool.length - i);
    const t = pool[i]!;
    pool[i] = pool[j]!;
    pool[j] = t;
  }
  return pool.slice(0, n);
}
