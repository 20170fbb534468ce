// Owns one node's SWIM + Lifeguard membership as a sans-I/O state machine: `step(input, nowMs)`
// returns the datagrams to send, the events and when to wake it next. Never reads a clock, arms a
// timer, draws unseeded randomness or touches a socket — the node shell does all of that.

import type { Rng } from '../../runtime/types.js';
import { CoordinateTable, estimateRttMs, type Coordinate } from '../coordinates/vivaldi.js';
import { LIMITS } from './config.js';
import type {
  MemberAddress,
  MemberId,
  MemberView,
  MembershipInput,
  MembershipOutput,
  Seed,
  SwimMessage,
} from './types.js';
import { InternalError } from '../../errors.js';
import {
  SwimState,
  view,
  type AgendaItem,
  type MemberRecord,
  type SwimOptions,
} from './swim-state.js';
export type { MembershipCounters, SwimOptions } from './swim-state.js';

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

export class SwimMembership extends SwimState {
  constructor(options: SwimOptions) {
    super(options);
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

  /** Deadlines held (live and lazily dropped ones; compacted past a bound): for tests and stats. */
  get agendaSize(): number {
    return this.agenda.size;
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

  protected isLive(what: AgendaItem, atMs: number): boolean {
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
    // A seed that died (or was reaped) after every seed had settled is asked again: otherwise two
    // members that reaped each other during a long partition never meet again once it heals.
    if (!this.seedRetryArmed) this.contactSeeds();
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
