// Owns the member table of one node's SWIM + Lifeguard membership: what it believes about each
// member, how gossip (alive / suspect / dead) changes that, refutation, reaping, and the
// outgoing messages with their piggybacked updates. Sans-I/O; the prober (swim.ts) extends it.

import type { Rng } from '../../runtime/types.js';
import { CoordinateTable, VivaldiClient } from '../coordinates/vivaldi.js';
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
  OutboundMessage,
  Seed,
  Sender,
  SwimMessage,
} from './types.js';

export interface MemberRecord {
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

export interface PendingProbe {
  readonly seq: number;
  readonly targetId: MemberId;
  readonly sentAtMs: number;
  acked: boolean;
  indirectSent: boolean;
  expectedNacks: number;
  nacks: number;
}

/** An indirect probe this node runs on behalf of `requesterId`. */
export interface Forward {
  readonly requesterId: MemberId;
  readonly requester: MemberAddress;
  readonly requesterSeq: number;
  readonly targetId: MemberId;
  readonly expireAtMs: number;
  nacked: boolean;
}

export type AgendaItem =
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

/** State and state changes of the membership; probing and timing live in SwimMembership. */
export abstract class SwimState {
  readonly id: MemberId;
  readonly address: MemberAddress;
  readonly config: MembershipConfig;
  protected selfIncarnation: number;
  protected readonly rng: Rng;
  protected readonly members = new Map<MemberId, MemberRecord>();
  protected readonly order: ProbeOrder;
  protected readonly broadcasts = new BroadcastQueue(LIMITS.maxBroadcastQueue);
  protected readonly health: LocalHealth;
  protected readonly vivaldi: VivaldiClient;
  protected readonly coordinates: CoordinateTable;
  /** Consecutive failed direct probes per member (a helper circuit breaker). */
  protected readonly helperCircuits = new Map<MemberId, number>();
  protected readonly forwards = new Map<number, Forward>();
  protected readonly agenda = new DeadlineQueue<AgendaItem>();
  protected readonly seeds: Seed[] = [];
  protected seedRetryArmed = false;
  protected pending: PendingProbe | null = null;
  protected nextProbeAtMs = 0;
  protected nextReconnectAtMs = 0;
  protected nextSeedRetryAtMs = Number.POSITIVE_INFINITY;
  protected seq = 0;
  protected now: number;
  protected outMessages: OutboundMessage[] = [];
  protected outEvents: MembershipEvent[] = [];
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
  }

  /** Whether an agenda entry still matters (the prober knows its own items). */
  protected abstract isLive(what: AgendaItem, atMs: number): boolean;

  // ───────────────────────────── state changes ─────────────────────────────

  protected applyUpdate(u: MemberUpdate): void {
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
  protected applyAlive(u: MemberUpdate, direct: boolean): void {
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

  protected addMember(
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

  protected applySuspect(u: MemberUpdate): void {
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

  protected applyDead(u: MemberUpdate): void {
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

  protected declareDead(m: MemberRecord, incarnation: number, by: MemberId): void {
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
  protected failWorkTowards(id: MemberId): void {
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

  protected reap(m: MemberRecord, reason: 'dead' | 'never-confirmed'): void {
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

  protected refute(accusation: MemberUpdate, claimed: 'suspect' | 'dead' | 'alive'): void {
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

  protected send(
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
  protected piggyback(recipient: MemberId | null): MemberUpdate[] {
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

  protected sender(): Sender {
    return {
      id: this.id,
      host: this.address.host,
      port: this.address.port,
      incarnation: this.selfIncarnation,
    };
  }

  protected setStatus(m: MemberRecord, status: MemberStatus): void {
    if (m.status !== status) m.sinceMs = this.now;
    m.status = status;
  }

  protected clusterSize(): number {
    let n = 1;
    for (const m of this.members.values()) if (m.status !== 'dead') n++;
    return n;
  }

  protected nextSeq(): number {
    this.seq = this.seq >= 0xffff_ffff ? 1 : this.seq + 1;
    return this.seq;
  }
}

export function view(m: MemberRecord): MemberView {
  return {
    id: m.id,
    address: { ...m.address },
    status: m.status,
    incarnation: m.incarnation,
    sinceMs: m.sinceMs,
  };
}
