// Owns the vocabulary of SWIM membership: member states, gossip updates, the four wire
// messages, the core's inputs, outputs and events. Never holds state or encodes bytes.

import type { Coordinate } from '../coordinates/vivaldi.js';

export type MemberId = string;

export interface MemberAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * UNCONFIRMED: learned from someone else, never heard directly — probed, never suspected (AD-29).
 * ALIVE: answered us directly at least once. SUSPECT: a probe failed; dead unless refuted in time.
 * DEAD: kept (not probed) until reaped.
 */
export type MemberStatus = 'unconfirmed' | 'alive' | 'suspect' | 'dead';

/** Gossip about one member. `from` is who declared it (the accuser for suspect/dead). */
export interface MemberUpdate {
  readonly kind: 'alive' | 'suspect' | 'dead';
  readonly id: MemberId;
  readonly host: string;
  readonly port: number;
  readonly incarnation: number;
  readonly from: MemberId;
}

/** Who sent a message, as the sender sees itself now. A message is direct evidence its sender is alive. */
export interface Sender {
  readonly id: MemberId;
  readonly host: string;
  readonly port: number;
  readonly incarnation: number;
}

export interface PingMessage {
  readonly type: 'ping';
  readonly seq: number;
  readonly sender: Sender;
  /** Whom the sender means to reach; null when joining through a seed address whose id is unknown. */
  readonly targetId: MemberId | null;
  readonly updates: readonly MemberUpdate[];
}

export interface PingReqMessage {
  readonly type: 'ping-req';
  readonly seq: number;
  readonly sender: Sender;
  readonly target: { readonly id: MemberId; readonly host: string; readonly port: number };
  readonly updates: readonly MemberUpdate[];
}

export interface AckMessage {
  readonly type: 'ack';
  readonly seq: number;
  readonly sender: Sender;
  /** The acker's network coordinate (absent on forwarded indirect acks). */
  readonly coordinate: Coordinate | null;
  readonly updates: readonly MemberUpdate[];
}

/** Lifeguard: an indirect prober tells the requester it is alive but heard nothing from the target. */
export interface NackMessage {
  readonly type: 'nack';
  readonly seq: number;
  readonly sender: Sender;
  readonly updates: readonly MemberUpdate[];
}

export type SwimMessage = PingMessage | PingReqMessage | AckMessage | NackMessage;

/** A seed to join through; with an id it is also added at once as an UNCONFIRMED member. */
export interface Seed {
  readonly address: MemberAddress;
  readonly id?: MemberId;
}

export type MembershipInput =
  | { readonly type: 'tick' }
  | { readonly type: 'receive'; readonly from: MemberAddress; readonly message: SwimMessage }
  | { readonly type: 'join'; readonly seeds: readonly Seed[] };

export interface OutboundMessage {
  readonly to: MemberAddress;
  readonly message: SwimMessage;
}

export type MembershipEvent =
  /** First time this member is known (again, after a reap): status unconfirmed or alive. */
  | {
      readonly type: 'joined';
      readonly id: MemberId;
      readonly incarnation: number;
      readonly status: MemberStatus;
    }
  /** The member became confirmed alive (first direct contact, recovery from suspect or dead). */
  | {
      readonly type: 'alive';
      readonly id: MemberId;
      readonly incarnation: number;
      readonly previous: MemberStatus;
    }
  | {
      readonly type: 'suspect';
      readonly id: MemberId;
      readonly incarnation: number;
      readonly by: MemberId;
    }
  /** Fires once per transition into DEAD, whether we timed it out or learned it by gossip (AD-31). */
  | {
      readonly type: 'dead';
      readonly id: MemberId;
      readonly incarnation: number;
      readonly by: MemberId;
    }
  /** Every per-peer structure is gone; if the member comes back it is new. */
  | { readonly type: 'reaped'; readonly id: MemberId; readonly reason: 'dead' | 'never-confirmed' }
  /** This node refuted a suspicion/death of itself by moving to a higher incarnation. */
  | {
      readonly type: 'refuted';
      readonly incarnation: number;
      readonly accusedBy: MemberId;
      readonly claimed: 'suspect' | 'dead' | 'alive';
    };

export interface MembershipOutput {
  readonly messages: readonly OutboundMessage[];
  readonly events: readonly MembershipEvent[];
  /** Monotonic time at which the core wants the next `tick` (never later than needed). */
  readonly wakeAtMs: number;
}

/** A read-only view of one member. */
export interface MemberView {
  readonly id: MemberId;
  readonly address: MemberAddress;
  readonly status: MemberStatus;
  readonly incarnation: number;
  /** Monotonic ms of the last status change. */
  readonly sinceMs: number;
}

/** Status order for equal incarnations: higher wins (dead > suspect > alive > unconfirmed). */
export const STATUS_RANK: Readonly<Record<MemberStatus, number>> = {
  unconfirmed: 0,
  alive: 1,
  suspect: 2,
  dead: 3,
};

/** Does `incoming` (incarnation, status) override `current`? Higher incarnation wins; equal ⇒ higher status rank. */
export function overrides(
  incoming: { incarnation: number; status: MemberStatus },
  current: { incarnation: number; status: MemberStatus },
): boolean {
  if (incoming.incarnation !== current.incarnation)
    return incoming.incarnation > current.incarnation;
  return STATUS_RANK[incoming.status] > STATUS_RANK[current.status];
}
