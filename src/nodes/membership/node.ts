// Owns the membership node shell: runs the SWIM core on a Runtime — binds the datagram port,
// encodes/decodes, arms one timer for the core's next wake-up (a supervised loop: a step that
// throws is logged, counted and restarted with backoff) and hands events to listeners.
// Seals every datagram with the gossip keyring and drops (counts, logs at a rate limit) any that
// does not open, or whose sender is not the authenticated one or not a configured member; plain
// datagrams only with an explicit `insecure`, loudly logged. Never makes a membership decision
// itself; besides the Runtime it uses only the OS random source (seal nonces must never repeat
// across nodes sharing a key, which a seeded runtime rng cannot promise).

import { randomFillSync } from 'node:crypto';
import type { Runtime } from '../../runtime/types.js';
import { Supervisor, type LoopStats, type SupervisedLoop } from '../supervisor.js';
import { SwimMembership } from '../../cluster/membership/swim.js';
import {
  membershipConfig,
  type MembershipConfig,
  type MembershipProfile,
} from '../../cluster/membership/config.js';
import type {
  MemberId,
  MemberView,
  MembershipEvent,
  MembershipInput,
  Seed,
} from '../../cluster/membership/types.js';
import { LIMITS } from '../../cluster/membership/config.js';
import { RateLimitedLog } from '../../protocol/log-limit.js';
import { decodeSwimMessage, encodeWithinLimit } from './wire.js';
import {
  SEAL_NONCE_BYTES,
  openDatagram,
  sealDatagram,
  sealOverhead,
  type GossipKeyring,
} from './seal.js';

/**
 * How membership datagrams are protected: sealed with a gossip keyring (optionally accepting only
 * the listed member ids as senders), or — explicitly — plain.
 */
export type GossipSecurity =
  | { readonly keyring: GossipKeyring; readonly members?: Iterable<MemberId> }
  | { readonly insecure: true; readonly members?: Iterable<MemberId> };

export interface MembershipNodeOptions {
  /** Config profile (default 'lan') … */
  readonly profile?: MembershipProfile;
  /** … with these fields overridden. */
  readonly config?: Partial<MembershipConfig>;
  /**
   * Seeds to join through (addresses; ids optional). The node's own address is skipped. Seeds
   * with ids are added at once as UNCONFIRMED members (a static bootstrap list); the core keeps
   * at most LIMITS.maxSeeds of them for retries.
   */
  readonly seeds?: readonly Seed[];
  /** Member id; defaults to the runtime's node id. */
  readonly id?: MemberId;
  /** Sealing of datagrams (required: plain datagrams only with an explicit `insecure`). */
  readonly gossip: GossipSecurity;
}

export type MembershipListener = (event: MembershipEvent, nowMs: number) => void;

export interface MembershipNodeStats {
  datagramsSent: number;
  datagramsReceived: number;
  bytesSent: number;
  /** Datagrams that failed to decode (malformed, oversized, unknown type): counted, dropped. */
  decodeErrors: number;
  /** Piggybacked updates dropped so a datagram would fit LIMITS.maxDatagramBytes. */
  updatesTrimmed: number;
  /** Listener exceptions (logged, counted; the node keeps running). */
  listenerErrors: number;
  /** Datagrams that did not open with the gossip keyring (plain, wrong key, tampered, bad size). */
  sealRejected: number;
  /** Datagrams whose sender was not the authenticated one, or not a configured member. */
  senderRejected: number;
}

export class MembershipNode {
  readonly stats: MembershipNodeStats = {
    datagramsSent: 0,
    datagramsReceived: 0,
    bytesSent: 0,
    decodeErrors: 0,
    updatesTrimmed: 0,
    listenerErrors: 0,
    sealRejected: 0,
    senderRejected: 0,
  };
  private readonly listeners = new Set<MembershipListener>();
  private readonly supervisor: Supervisor;
  /** Every step of the core runs in this loop, whether a timer or a datagram triggered it. */
  private readonly loop: SupervisedLoop;
  /** When the loop's timer fires (NaN: not armed). */
  private timerAtMs = Number.NaN;
  private stopped = false;
  private readonly keyring: GossipKeyring | null;
  /** Member ids accepted as senders (null: any holder of the key). */
  private readonly allowedSenders: ReadonlySet<MemberId> | null;
  private readonly rejections: RateLimitedLog;
  private refilledAtMs: number;
  private readonly nonce = Buffer.alloc(SEAL_NONCE_BYTES);
  private readonly payloadLimit: number;

  private constructor(
    private readonly rt: Runtime,
    /** The core (read-only use: views, counters, invariants). */
    readonly swim: SwimMembership,
    gossip: GossipSecurity,
  ) {
    this.keyring = 'keyring' in gossip ? gossip.keyring : null;
    this.allowedSenders = gossip.members === undefined ? null : new Set(gossip.members);
    this.rejections = new RateLimitedLog(rt.log.child({ component: 'membership' }));
    this.refilledAtMs = rt.clock.monotonicMs();
    this.payloadLimit =
      this.keyring === null
        ? LIMITS.maxDatagramBytes
        : LIMITS.maxDatagramBytes - sealOverhead(Buffer.byteLength(swim.id, 'utf8'));
    if (this.keyring === null) {
      rt.log.log(
        'warn',
        'INSECURE: membership datagrams are plain and unauthenticated: any process that can ' +
          'reach the port can claim to be a member (omit --insecure and give a gossip key)',
        { insecure: true },
      );
    }
    this.supervisor = new Supervisor({
      timers: rt.timers,
      rng: rt.rng.fork('membership-supervisor'),
      log: rt.log.child({ component: 'membership' }),
    });
    // A failed step may have left the timer unarmed: a restart ticks the core, which re-arms it.
    this.loop = this.supervisor.loop('membership', {
      restart: () => {
        this.timerAtMs = Number.NaN;
        this.step({ type: 'tick' });
      },
    });
  }

  /** Binds the datagram port, creates the core and joins through `seeds`. */
  static async start(rt: Runtime, options: MembershipNodeOptions): Promise<MembershipNode> {
    const config = membershipConfig(options.profile ?? 'lan', options.config ?? {});
    // Datagrams arriving before the node exists (none in practice) are dropped.
    const box: { node?: MembershipNode } = {};
    const address = await rt.datagram.bind((_from, data) => box.node?.receive(data));
    const swim = new SwimMembership({
      id: options.id ?? rt.nodeId,
      address,
      config,
      rng: rt.rng.fork('membership'),
      nowMs: rt.clock.monotonicMs(),
    });
    const node = new MembershipNode(rt, swim, options.gossip);
    box.node = node;
    const seeds = options.seeds ?? [];
    node.drive(seeds.length > 0 ? { type: 'join', seeds } : { type: 'tick' });
    return node;
  }

  get id(): MemberId {
    return this.swim.id;
  }

  /** Every other member this node knows, with its status. */
  members(): MemberView[] {
    return this.swim.memberList();
  }

  member(id: MemberId): MemberView | undefined {
    return this.swim.member(id);
  }

  /** Subscribes to membership events; returns the unsubscribe function. */
  onEvent(listener: MembershipListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  join(seeds: readonly Seed[]): void {
    this.drive({ type: 'join', seeds });
  }

  /** The supervised loop's failures and restarts. */
  supervision(): LoopStats[] {
    return this.supervisor.stats();
  }

  /** Stops probing and closes the datagram port. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.supervisor.stop();
    await this.rt.datagram.close();
  }

  private receive(data: Uint8Array): void {
    if (this.stopped) return;
    this.stats.datagramsReceived++;
    let payload = data;
    let sealedBy: MemberId | null = null;
    if (this.keyring !== null) {
      const opened = openDatagram(this.keyring, data);
      if (!opened.ok) {
        this.stats.sealRejected++;
        this.reject('membership: dropped a datagram that does not open with the gossip key', {
          reason: opened.reason,
          error: opened.error,
        });
        return;
      }
      payload = opened.payload;
      sealedBy = opened.senderId;
    }
    const decoded = decodeSwimMessage(payload);
    if (!decoded.ok) {
      this.stats.decodeErrors++;
      this.rt.log.log('debug', 'membership: dropped a bad datagram', { error: decoded.error });
      return;
    }
    const m = decoded.message;
    if (sealedBy !== null && m.sender.id !== sealedBy) {
      this.stats.senderRejected++;
      this.reject('membership: dropped a datagram claiming another sender than the sealed one', {
        sealedBy,
        claimed: m.sender.id,
      });
      return;
    }
    if (this.allowedSenders !== null && !this.allowedSenders.has(m.sender.id)) {
      this.stats.senderRejected++;
      this.reject('membership: dropped a datagram from a sender that is not a configured member', {
        claimed: m.sender.id,
      });
      return;
    }
    this.drive({ type: 'receive', from: { host: m.sender.host, port: m.sender.port }, message: m });
  }

  /** Logs a refused datagram through the rejection rate limit (refilled from the clock). */
  private reject(message: string, fields: Record<string, unknown>): void {
    const now = this.rt.clock.monotonicMs();
    this.rejections.refill(now - this.refilledAtMs);
    this.refilledAtMs = now;
    this.rejections.write('warn', message, fields);
  }

  private drive(input: MembershipInput): void {
    if (this.stopped) return;
    this.loop.run(() => this.step(input));
  }

  private step(input: MembershipInput): void {
    const now = this.rt.clock.monotonicMs();
    const out = this.swim.step(input, now);
    for (const { to, message } of out.messages) {
      const encoded = encodeWithinLimit(message, this.payloadLimit);
      this.stats.updatesTrimmed += encoded.trimmed;
      const bytes = this.seal(encoded.bytes);
      this.stats.datagramsSent++;
      this.stats.bytesSent += bytes.length;
      this.rt.datagram.send(to, bytes);
    }
    for (const event of out.events) {
      for (const listener of this.listeners) {
        try {
          listener(event, now);
        } catch (err) {
          this.stats.listenerErrors++;
          this.rt.log.log('error', 'membership: event listener threw', {
            event: event.type,
            error: err,
          });
        }
      }
    }
    this.arm(out.wakeAtMs, now);
  }

  private seal(payload: Uint8Array): Uint8Array {
    if (this.keyring === null) return payload;
    randomFillSync(this.nonce);
    return sealDatagram(this.keyring, this.swim.id, payload, this.nonce);
  }

  private arm(wakeAtMs: number, now: number): void {
    if (wakeAtMs === this.timerAtMs) return;
    this.timerAtMs = wakeAtMs;
    if (!Number.isFinite(wakeAtMs)) {
      this.loop.idle();
      return;
    }
    this.loop.after(Math.max(0, wakeAtMs - now), () => {
      this.timerAtMs = Number.NaN;
      this.step({ type: 'tick' });
    });
  }
}
