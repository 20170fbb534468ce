// Owns the membership node shell: runs the SWIM core on a Runtime — binds the datagram port,
// encodes/decodes, arms one timer for the core's next wake-up (a supervised loop: a step that
// throws is logged, counted and restarted with backoff) and hands events to listeners.
// Never makes a membership decision itself, and never uses anything but the Runtime.

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
import { decodeSwimMessage, encodeWithinLimit } from './wire.js';

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
}

export class MembershipNode {
  readonly stats: MembershipNodeStats = {
    datagramsSent: 0,
    datagramsReceived: 0,
    bytesSent: 0,
    decodeErrors: 0,
    updatesTrimmed: 0,
    listenerErrors: 0,
  };
  private readonly listeners = new Set<MembershipListener>();
  private readonly supervisor: Supervisor;
  /** Every step of the core runs in this loop, whether a timer or a datagram triggered it. */
  private readonly loop: SupervisedLoop;
  /** When the loop's timer fires (NaN: not armed). */
  private timerAtMs = Number.NaN;
  private stopped = false;

  private constructor(
    private readonly rt: Runtime,
    /** The core (read-only use: views, counters, invariants). */
    readonly swim: SwimMembership,
  ) {
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
  static async start(rt: Runtime, options: MembershipNodeOptions = {}): Promise<MembershipNode> {
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
    const node = new MembershipNode(rt, swim);
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
    const decoded = decodeSwimMessage(data);
    if (!decoded.ok) {
      this.stats.decodeErrors++;
      this.rt.log.log('debug', 'membership: dropped a bad datagram', { error: decoded.error });
      return;
    }
    const m = decoded.message;
    this.drive({ type: 'receive', from: { host: m.sender.host, port: m.sender.port }, message: m });
  }

  private drive(input: MembershipInput): void {
    if (this.stopped) return;
    this.loop.run(() => this.step(input));
  }

  private step(input: MembershipInput): void {
    const now = this.rt.clock.monotonicMs();
    const out = this.swim.step(input, now);
    for (const { to, message } of out.messages) {
      const { bytes, trimmed } = encodeWithinLimit(message);
      this.stats.updatesTrimmed += trimmed;
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
