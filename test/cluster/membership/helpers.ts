// Test helpers for the membership core: a seeded Rng, addresses, a core factory and a tiny
// synchronous "wire" that carries one core's outputs to another. Never used by src/.

import type { Rng } from '../../../src/runtime/types.js';
import {
  SwimMembership,
  membershipConfig,
  type MembershipConfig,
} from '../../../src/cluster/membership/index.js';
import type {
  MemberAddress,
  MembershipOutput,
  OutboundMessage,
  SwimMessage,
} from '../../../src/cluster/membership/index.js';

/** mulberry32: small, seeded, good enough for tests. */
export function testRng(seed: number): Rng {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (max) => Math.floor(next() * max),
    fork: (label) => {
      let h = seed >>> 0;
      for (let i = 0; i < label.length; i++)
        h = Math.imul(h ^ label.charCodeAt(i), 0x01000193) >>> 0;
      return testRng(h);
    },
  };
}

export const addr = (id: string): MemberAddress => ({ host: id, port: 7946 });

/** A core on the LAN profile (overridable); its first probe is at `firstProbeAt(core)`. */
export function makeCore(
  id: string,
  overrides: Partial<MembershipConfig> = {},
  options: { seed?: number; nowMs?: number; incarnation?: number } = {},
): SwimMembership {
  const rng = testRng(options.seed ?? hash(id));
  return new SwimMembership({
    id,
    address: addr(id),
    config: membershipConfig('lan', overrides),
    rng,
    nowMs: options.nowMs ?? 0,
    ...(options.incarnation !== undefined ? { incarnation: options.incarnation } : {}),
  });
}

export function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h;
}

/** Makes `a` know `b` as a confirmed alive member by delivering one ping from b to a. */
export function introduce(a: SwimMembership, b: SwimMembership, nowMs: number): MembershipOutput {
  return a.step(
    {
      type: 'receive',
      from: b.address,
      message: {
        type: 'ping',
        seq: 999_999,
        sender: {
          id: b.id,
          host: b.address.host,
          port: b.address.port,
          incarnation: b.incarnation,
        },
        targetId: a.id,
        updates: [],
      },
    },
    nowMs,
  );
}

/** All-pairs introductions: every core knows every other as alive. */
export function mesh(cores: SwimMembership[], nowMs = 0): void {
  for (const a of cores) for (const b of cores) if (a !== b) introduce(a, b, nowMs);
}

/** Messages in `out` addressed to `to` (by host). */
export function to(
  out: MembershipOutput,
  id: string,
  type?: SwimMessage['type'],
): OutboundMessage[] {
  return out.messages.filter(
    (m) => m.to.host === id && (type === undefined || m.message.type === type),
  );
}

/** Delivers `messages` to the matching cores at `nowMs`; returns every output produced. */
export function deliver(
  cores: SwimMembership[],
  messages: readonly OutboundMessage[],
  nowMs: number,
): MembershipOutput[] {
  const outs: MembershipOutput[] = [];
  for (const m of messages) {
    const core = cores.find((c) => c.address.host === m.to.host && c.address.port === m.to.port);
    if (core)
      outs.push(core.step({ type: 'receive', from: m.message.sender, message: m.message }, nowMs));
  }
  return outs;
}

/**
 * A lossless synchronous network for small scenarios: `run(untilMs)` ticks every core at every
 * wake time, delivers each message after `latencyMs`, and drops anything for/from `down` cores.
 */
export class TinyNet {
  now = 0;
  readonly down = new Set<string>();
  readonly log: { atMs: number; node: string; event: MembershipOutput['events'][number] }[] = [];
  private inflight: { atMs: number; m: OutboundMessage }[] = [];
  private wake = new Map<string, number>();

  constructor(
    readonly cores: SwimMembership[],
    readonly latencyMs = 1,
    /** Return true to drop a message. */
    readonly drop: (m: OutboundMessage, from: string) => boolean = () => false,
  ) {}

  private absorb(node: string, out: MembershipOutput): void {
    this.wake.set(node, out.wakeAtMs);
    for (const e of out.events) this.log.push({ atMs: this.now, node, event: e });
    if (this.down.has(node)) return;
    for (const m of out.messages) {
      if (this.drop(m, node)) continue;
      this.inflight.push({ atMs: this.now + this.latencyMs, m });
    }
  }

  /** Records an output produced outside `run` (e.g. a join). */
  absorbOutput(core: SwimMembership, out: MembershipOutput): void {
    this.absorb(core.id, out);
  }

  run(untilMs: number): void {
    for (const c of this.cores)
      if (!this.wake.has(c.id)) this.absorb(c.id, c.step({ type: 'tick' }, this.now));
    for (;;) {
      let next = untilMs + 1;
      for (const c of this.cores)
        if (!this.down.has(c.id)) next = Math.min(next, this.wake.get(c.id) ?? next);
      for (const f of this.inflight) next = Math.min(next, f.atMs);
      if (next > untilMs) break;
      this.now = Math.max(this.now, next);
      const due = this.inflight.filter((f) => f.atMs <= this.now);
      this.inflight = this.inflight.filter((f) => f.atMs > this.now);
      for (const f of due) {
        const core = this.cores.find((c) => c.address.host === f.m.to.host);
        if (!core || this.down.has(core.id)) continue;
        this.absorb(
          core.id,
          core.step({ type: 'receive', from: f.m.message.sender, message: f.m.message }, this.now),
        );
      }
      for (const c of this.cores) {
        if (this.down.has(c.id)) continue;
        if ((this.wake.get(c.id) ?? Infinity) <= this.now)
          this.absorb(c.id, c.step({ type: 'tick' }, this.now));
      }
    }
    this.now = untilMs;
  }

  events(node: string, type?: string): MembershipOutput['events'][number][] {
    return this.log
      .filter((l) => l.node === node && (type === undefined || l.event.type === type))
      .map((l) => l.event);
  }
}

/** When the core's first probe fires (its earliest wake-up after creation). */
export function firstProbeAt(core: SwimMembership, nowMs = 0): number {
  return core.step({ type: 'tick' }, nowMs).wakeAtMs;
}
