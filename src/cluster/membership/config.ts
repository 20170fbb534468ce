// Owns the tunables of SWIM membership: one config object, three documented profiles
// (`local`, `lan`, `wan`) and the hard LIMITS. Never holds state or reads the environment.

import { OptionError } from '../../errors.js';

/** Hard bounds that no profile may exceed: every map and queue in the core is capped by one. */
export const LIMITS = {
  /** Members one node tracks (self excluded); alive updates about new members beyond it are dropped and counted. */
  maxMembers: 10_000,
  /** Pending dissemination updates (one per member at most); the most-transmitted are evicted first. */
  maxBroadcastQueue: 1_024,
  /** Indirect probes this node runs for others at once (ping-req forwards); more are dropped and counted. */
  maxPendingForwards: 100,
  /** Seed addresses kept for (re)joining. */
  maxSeeds: 16,
  /** Gossip updates in one message, whatever their size. */
  maxUpdatesPerMessage: 100,
  /** Largest SWIM datagram: fits a 1500-byte Ethernet MTU with IP/UDP headers to spare. */
  maxDatagramBytes: 1_400,
  /** UTF-8 size of a member id or host name accepted from the wire. */
  maxIdBytes: 128,
} as const;

export interface MembershipConfig {
  /** Length of one protocol period: one member is probed per period (before LHM stretching). */
  readonly probeIntervalMs: number;
  /** How long a direct ping waits for its ack before indirect probes are sent (before LHM stretching). Must be < probeIntervalMs. */
  readonly probeTimeoutMs: number;
  /** k: members asked to ping-req a target that missed its direct ack. */
  readonly indirectChecks: number;
  /** Fraction of probeTimeoutMs after which an indirect prober that heard nothing sends a nack (Lifeguard). */
  readonly nackFraction: number;
  /** Suspicion minimum = suspicionMult × max(1, log10 n) × probeIntervalMs; also K = suspicionMult − 2 confirmations drive it to the minimum. */
  readonly suspicionMult: number;
  /** Suspicion maximum = suspicionMaxTimeoutMult × minimum (the timeout with no independent confirmation). */
  readonly suspicionMaxTimeoutMult: number;
  /** λ: each update is piggybacked retransmitMult × ceil(log10(n + 1)) times. */
  readonly retransmitMult: number;
  /** Local health multiplier ceiling: timeouts and the probe interval stretch up to this factor. */
  readonly awarenessMaxMultiplier: number;
  /** Dead members are forgotten (every per-peer structure purged) this long after being declared dead. */
  readonly reapIntervalMs: number;
  /** A random dead (not yet reaped) member is pinged this often, so healed partitions find each other. */
  readonly reconnectIntervalMs: number;
  /** Seeds that are not known alive members are pinged again this often. */
  readonly seedRetryIntervalMs: number;
  /** A member never heard directly may be dropped once this old … */
  readonly unconfirmedTimeoutMs: number;
  /** … and after this many of our direct probes went unanswered (it is never declared dead). */
  readonly unconfirmedMaxFailedProbes: number;
  /** Budget for piggybacked gossip in one datagram (the rest of LIMITS.maxDatagramBytes is header and coordinate). */
  readonly maxPiggybackBytes: number;
  /** Members tracked at most (≤ LIMITS.maxMembers). */
  readonly maxMembers: number;
}

/**
 * LAN (the default): one datacenter, sub-millisecond to few-ms RTTs. Probe every 1 s, ack within
 * 500 ms, k = 3 helpers. n = 8 gives suspicion 4 s … 24 s and 4 retransmissions per update; a dead
 * member is kept 120 s before it is reaped.
 */
export const LAN_CONFIG: MembershipConfig = {
  probeIntervalMs: 1_000,
  probeTimeoutMs: 500,
  indirectChecks: 3,
  nackFraction: 0.8,
  suspicionMult: 4,
  suspicionMaxTimeoutMult: 6,
  retransmitMult: 4,
  awarenessMaxMultiplier: 8,
  reapIntervalMs: 120_000,
  reconnectIntervalMs: 5_000,
  seedRetryIntervalMs: 10_000,
  unconfirmedTimeoutMs: 120_000,
  unconfirmedMaxFailedProbes: 3,
  maxPiggybackBytes: 1_200,
  maxMembers: LIMITS.maxMembers,
};

/**
 * WAN: members across datacenters, RTTs of 10–300 ms and more loss. Probe every 5 s, ack within
 * 3 s, longer suspicion (6× multiplier) so a slow continent is not declared dead; reconnect and
 * seed retries every 30 s. Reaping stays at 120 s.
 */
export const WAN_CONFIG: MembershipConfig = {
  ...LAN_CONFIG,
  probeIntervalMs: 5_000,
  probeTimeoutMs: 3_000,
  suspicionMult: 6,
  reconnectIntervalMs: 30_000,
  seedRetryIntervalMs: 30_000,
};

/**
 * Local: every member on one host (tests, laptops). Ack within 200 ms, one indirect helper,
 * shorter suspicion (3×, max 3× that), fewer retransmissions, reaping after 30 s.
 */
export const LOCAL_CONFIG: MembershipConfig = {
  ...LAN_CONFIG,
  probeTimeoutMs: 200,
  indirectChecks: 1,
  suspicionMult: 3,
  suspicionMaxTimeoutMult: 3,
  retransmitMult: 2,
  reapIntervalMs: 30_000,
  reconnectIntervalMs: 2_000,
  seedRetryIntervalMs: 5_000,
  unconfirmedTimeoutMs: 30_000,
};

export const MEMBERSHIP_PROFILES = {
  local: LOCAL_CONFIG,
  lan: LAN_CONFIG,
  wan: WAN_CONFIG,
} as const;
export type MembershipProfile = keyof typeof MEMBERSHIP_PROFILES;

/** A profile with some fields overridden, checked. */
export function membershipConfig(
  profile: MembershipProfile = 'lan',
  overrides: Partial<MembershipConfig> = {},
): MembershipConfig {
  const config = { ...MEMBERSHIP_PROFILES[profile], ...overrides };
  assertValidConfig(config);
  return config;
}

/** Throws on a config the protocol cannot run with (a caller bug, not bad input). */
export function assertValidConfig(c: MembershipConfig): void {
  const positive: (keyof MembershipConfig)[] = [
    'probeIntervalMs',
    'probeTimeoutMs',
    'suspicionMult',
    'suspicionMaxTimeoutMult',
    'retransmitMult',
    'awarenessMaxMultiplier',
    'reconnectIntervalMs',
    'seedRetryIntervalMs',
    'maxPiggybackBytes',
  ];
  for (const key of positive) {
    if (!(c[key] > 0) || !Number.isFinite(c[key]))
      throw new OptionError(`membership config: ${key} must be > 0`);
  }
  if (c.probeTimeoutMs >= c.probeIntervalMs) {
    throw new OptionError('membership config: probeTimeoutMs must be shorter than probeIntervalMs');
  }
  if (!(c.nackFraction > 0 && c.nackFraction < 1))
    throw new OptionError('membership config: nackFraction in (0, 1)');
  if (!Number.isInteger(c.indirectChecks) || c.indirectChecks < 0) {
    throw new OptionError('membership config: indirectChecks must be a non-negative integer');
  }
  if (c.suspicionMaxTimeoutMult < 1)
    throw new OptionError('membership config: suspicionMaxTimeoutMult must be ≥ 1');
  if (c.reapIntervalMs < 0 || c.unconfirmedTimeoutMs < 0 || c.unconfirmedMaxFailedProbes < 1) {
    throw new OptionError('membership config: reap/unconfirmed bounds out of range');
  }
  if (c.maxPiggybackBytes > LIMITS.maxDatagramBytes - 150) {
    throw new OptionError(
      'membership config: maxPiggybackBytes leaves no room for the message header',
    );
  }
  if (!Number.isInteger(c.maxMembers) || c.maxMembers < 1 || c.maxMembers > LIMITS.maxMembers) {
    throw new OptionError(`membership config: maxMembers in [1, ${LIMITS.maxMembers}]`);
  }
}

/** Suspicion minimum for a cluster of n members (self included): suspicionMult × max(1, log10 n) × interval. */
export function suspicionMinMs(c: MembershipConfig, n: number): number {
  return c.suspicionMult * Math.max(1, Math.log10(Math.max(1, n))) * c.probeIntervalMs;
}

/** Suspicion maximum (no confirmations): suspicionMaxTimeoutMult × minimum. */
export function suspicionMaxMs(c: MembershipConfig, n: number): number {
  return c.suspicionMaxTimeoutMult * suspicionMinMs(c, n);
}

/** Independent confirmations that drive a suspicion to its minimum: suspicionMult − 2, or 0 when too few others could confirm. */
export function suspicionConfirmationsWanted(c: MembershipConfig, n: number): number {
  const k = Math.max(0, c.suspicionMult - 2);
  return n - 2 < k ? 0 : k;
}

/** Piggyback count per update for n members: retransmitMult × ceil(log10(n + 1)). */
export function retransmitLimit(c: MembershipConfig, n: number): number {
  return c.retransmitMult * Math.max(1, Math.ceil(Math.log10(n + 1)));
}

/**
 * Worst-case time for every live member to declare a crashed member dead on its own, in ms, with
 * a healthy local node (LHM 1): a member is probed at least once in any window of 2(n−1) periods
 * (randomized round-robin over n−1 others, reshuffled per cycle), the probe concludes within one
 * more period, and the member's own suspicion then expires within the maximum. Gossip only makes
 * it faster. n counts every member, self included.
 */
export function detectionBoundMs(c: MembershipConfig, n: number): number {
  return (2 * (n - 1) + 1) * c.probeIntervalMs + suspicionMaxMs(c, n);
}
