// The simulated network's model: link characteristics per directed node pair, per datacenter
// pair and by default, and which directions are cut (partitions, isolation). Pure state; it
// never schedules anything and never draws randomness itself except through the rng it is given.

import type { SimRng } from './rng.js';
import { InternalError } from '../../errors.js';

/**
 * How latency spreads over [min, max]: `uniform` (default); `normal`, centred with σ = range/6
 * and clamped; `tail`, mostly near min with an exponential tail (mean min + range/5) clamped at max.
 */
export type LatencyDistribution = 'uniform' | 'normal' | 'tail';

/**
 * How one direction of a link behaves. Latency is drawn from [min, max] (see
 * LatencyDistribution) plus uniform jitter in [0, jitterMs). Probabilities are per datagram
 * (or per stream frame where stated).
 */
export interface LinkModel {
  latencyMs: { min: number; max: number; distribution?: LatencyDistribution };
  jitterMs?: number;
  /** Datagrams: dropped. Streams: the connection resets (unless `streamBreak` says otherwise). */
  loss?: number;
  /** Datagrams only: a second copy is delivered with its own latency. */
  duplicate?: number;
  /** Datagrams only: extra delay in [0, reorderDelayMs) that lets later datagrams overtake. */
  reorder?: number;
  /** Extra delay bound for `reorder`; default max(1, 2 × latencyMs.max). */
  reorderDelayMs?: number;
  /** Streams: per-frame probability that the connection resets (default: `loss`). */
  streamBreak?: number;
  /** Per datagram: one byte flipped. Per stream frame: delivered as a `checksum` frame error. */
  corrupt?: number;
}

/** A LAN-like default: 1–3 ms, nothing lost. */
export const DEFAULT_LINK: LinkModel = {
  latencyMs: { min: 1, max: 3 },
  jitterMs: 0,
  loss: 0,
  duplicate: 0,
  reorder: 0,
  corrupt: 0,
};

/** The latency used between a node and itself. */
export const LOOPBACK_LATENCY_MS = 0.01;

const PROBABILITY_FIELDS = ['loss', 'duplicate', 'reorder', 'streamBreak', 'corrupt'] as const;

/** Throws a RangeError naming the bad field; returns the model for chaining. */
export function validateLinkModel(model: Partial<LinkModel>, where: string): Partial<LinkModel> {
  const latency = model.latencyMs;
  if (latency !== undefined) {
    if (
      !Number.isFinite(latency.min) ||
      !Number.isFinite(latency.max) ||
      latency.min < 0 ||
      latency.max < latency.min
    ) {
      throw new InternalError(
        `${where}: latencyMs needs 0 <= min <= max, got ${latency.min}..${latency.max}`,
      );
    }
    const d = latency.distribution;
    if (d !== undefined && d !== 'uniform' && d !== 'normal' && d !== 'tail') {
      throw new InternalError(`${where}: unknown latency distribution ${String(d)}`);
    }
  }
  for (const field of PROBABILITY_FIELDS) {
    const p = model[field];
    if (p !== undefined && (!Number.isFinite(p) || p < 0 || p > 1)) {
      throw new InternalError(`${where}: ${field} must be in [0, 1], got ${p}`);
    }
  }
  for (const field of ['jitterMs', 'reorderDelayMs'] as const) {
    const v = model[field];
    if (v !== undefined && (!Number.isFinite(v) || v < 0)) {
      throw new InternalError(`${where}: ${field} must be >= 0, got ${v}`);
    }
  }
  return model;
}

function pairKey(a: string, b: string): string {
  return `${a}\u0000${b}`;
}

export class NetworkModel {
  private defaultLink: LinkModel;
  private readonly dcLinks = new Map<string, Partial<LinkModel>>();
  private readonly links = new Map<string, Partial<LinkModel>>();
  /** Resolved models by sender, then receiver (cleared on every change). */
  private readonly resolved = new Map<string, Map<string, LinkModel>>();
  private readonly blockedPairs = new Set<string>();
  private readonly blockedDcPairs = new Set<string>();
  private readonly isolated = new Set<string>();

  constructor(
    defaultLink: LinkModel,
    private readonly dcOf: (nodeId: string) => string,
  ) {
    this.defaultLink = { ...DEFAULT_LINK, ...validateLinkModel(defaultLink, 'defaultLink') };
  }

  setDefault(model: Partial<LinkModel>): void {
    this.defaultLink = { ...this.defaultLink, ...validateLinkModel(model, 'setDefaultLink') };
    this.resolved.clear();
  }

  setOneWay(from: string, to: string, model: Partial<LinkModel>): void {
    validateLinkModel(model, `link ${from}->${to}`);
    const key = pairKey(from, to);
    this.links.set(key, { ...this.links.get(key), ...model });
    this.resolved.clear();
  }

  setDcOneWay(fromDc: string, toDc: string, model: Partial<LinkModel>): void {
    validateLinkModel(model, `dc link ${fromDc}->${toDc}`);
    const key = pairKey(fromDc, toDc);
    this.dcLinks.set(key, { ...this.dcLinks.get(key), ...model });
    this.resolved.clear();
  }

  /** Forgets every per-link and per-DC override (the default stays). */
  clearLinks(): void {
    this.links.clear();
    this.dcLinks.clear();
    this.resolved.clear();
  }

  /** default ← DC pair override ← node pair override; loopback is fast and lossless. */
  link(from: string, to: string): LinkModel {
    let row = this.resolved.get(from);
    if (row === undefined) {
      row = new Map();
      this.resolved.set(from, row);
    }
    const cached = row.get(to);
    if (cached !== undefined) {
      return cached;
    }
    let model: LinkModel;
    if (from === to) {
      model = {
        latencyMs: { min: LOOPBACK_LATENCY_MS, max: LOOPBACK_LATENCY_MS },
        jitterMs: 0,
        loss: 0,
        duplicate: 0,
        reorder: 0,
        corrupt: 0,
      };
    } else {
      model = {
        ...this.defaultLink,
        ...this.dcLinks.get(pairKey(this.dcOf(from), this.dcOf(to))),
        ...this.links.get(pairKey(from, to)),
      };
    }
    row.set(to, model);
    return model;
  }

  block(from: string, to: string): void {
    if (from !== to) {
      this.blockedPairs.add(pairKey(from, to));
    }
  }

  blockDc(fromDc: string, toDc: string): void {
    if (fromDc !== toDc) {
      this.blockedDcPairs.add(pairKey(fromDc, toDc));
    }
  }

  isolate(id: string): void {
    this.isolated.add(id);
  }

  heal(): void {
    this.blockedPairs.clear();
    this.blockedDcPairs.clear();
    this.isolated.clear();
  }

  /** True when nothing sent from `from` reaches `to` right now. */
  blocked(from: string, to: string): boolean {
    if (from === to) {
      return false;
    }
    if (this.isolated.size > 0 && (this.isolated.has(from) || this.isolated.has(to))) {
      return true;
    }
    if (this.blockedPairs.size > 0 && this.blockedPairs.has(pairKey(from, to))) {
      return true;
    }
    return (
      this.blockedDcPairs.size > 0 &&
      this.blockedDcPairs.has(pairKey(this.dcOf(from), this.dcOf(to)))
    );
  }

  /** One-way delay for a packet on `model` (uniform latency + jitter; reordering only if asked). */
  sampleDelayMs(model: LinkModel, rng: SimRng, allowReorder: boolean): number {
    let delay = sampleLatencyMs(model.latencyMs, rng);
    if (model.jitterMs !== undefined && model.jitterMs > 0) {
      delay += rng.between(0, model.jitterMs);
    }
    if (allowReorder && rng.chance(model.reorder)) {
      const bound = model.reorderDelayMs ?? Math.max(1, 2 * model.latencyMs.max);
      delay += rng.between(0, bound);
    }
    return delay;
  }
}

/** Box–Muller: one standard normal value from two uniforms. */
function standardNormal(rng: SimRng): number {
  const u = 1 - rng.next();
  const v = rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

function sampleLatencyMs(latency: LinkModel['latencyMs'], rng: SimRng): number {
  const { min, max } = latency;
  const range = max - min;
  if (range <= 0) {
    return min;
  }
  switch (latency.distribution ?? 'uniform') {
    case 'uniform':
      return rng.between(min, max);
    case 'normal':
      return Math.min(max, Math.max(min, min + range / 2 + (range / 6) * standardNormal(rng)));
    case 'tail':
      return Math.min(max, min - (range / 5) * Math.log(1 - rng.next()));
  }
}
