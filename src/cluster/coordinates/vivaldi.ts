// Owns Vivaldi network coordinates (AD-35): this node's coordinate, its update from one RTT
// sample, distance estimates, and a bounded per-member table. Never measures time or sends.

/** Space: 8 Euclidean dimensions plus a height (access-link latency). */
export const VIVALDI_DIMENSIONS = 8;
/** cc: fraction of the (error-weighted) residual a sample moves us by. */
export const VIVALDI_STEP_GAIN = 0.25;
/** ce: EWMA weight of a new relative-error sample. */
export const VIVALDI_ERROR_GAIN = 0.25;
/** Pull toward the origin per update, as a fraction of the step, so the system does not drift. */
export const VIVALDI_GRAVITY = 0.01;
/** EWMA rate of the adjustment term (systematic over/under-prediction). */
export const VIVALDI_ADJUSTMENT_RATE = 0.05;
/** The adjustment is bounded to ±1 s (AD-35 says ±1; the reference works in seconds). */
export const VIVALDI_ADJUSTMENT_MAX_MS = 1_000;
/** Relative error bounds; a fresh coordinate starts at the maximum (knows nothing). */
export const VIVALDI_ERROR_MIN = 0.05;
export const VIVALDI_ERROR_MAX = 10;
export const VIVALDI_ERROR_INITIAL = 1.5;
/** Heights never fall below this (ms). */
export const VIVALDI_HEIGHT_MIN_MS = 0.01;
/** RTT samples outside [1 ms, 10 s] are clamped into it. */
export const VIVALDI_RTT_MIN_MS = 1;
export const VIVALDI_RTT_MAX_MS = 10_000;
/** Without a coordinate for a peer: predicted RTT and spread used for the upper bound. */
export const DEFAULT_RTT_MS = 100;
export const DEFAULT_RTT_SIGMA_MS = 50;
export const RTT_SIGMA_MIN_MS = 1;
export const RTT_SIGMA_MAX_MS = 500;
/** Samples after which a coordinate counts fully; with error ≤ 0.5 it is "converged". */
export const VIVALDI_SAMPLES_FOR_CONFIDENCE = 10;
export const VIVALDI_CONVERGED_ERROR = 0.5;
/** A peer coordinate's quality decays to 0 over this age. */
export const COORDINATE_TTL_MS = 300_000;

export interface Coordinate {
  readonly vec: readonly number[];
  readonly heightMs: number;
  readonly error: number;
  readonly adjustmentMs: number;
}

export function originCoordinate(): Coordinate {
  return {
    vec: new Array<number>(VIVALDI_DIMENSIONS).fill(0),
    heightMs: VIVALDI_HEIGHT_MIN_MS,
    error: VIVALDI_ERROR_INITIAL,
    adjustmentMs: 0,
  };
}

/** Is `c` a usable coordinate (right dimension, finite, in range)? Checks bytes from the wire. */
export function isValidCoordinate(c: Coordinate): boolean {
  if (c.vec.length !== VIVALDI_DIMENSIONS) return false;
  for (const x of c.vec) if (!Number.isFinite(x) || Math.abs(x) > 1e7) return false;
  return (
    Number.isFinite(c.heightMs) &&
    c.heightMs >= 0 &&
    c.heightMs < 1e7 &&
    Number.isFinite(c.error) &&
    c.error >= 0 &&
    c.error <= VIVALDI_ERROR_MAX &&
    Number.isFinite(c.adjustmentMs) &&
    Math.abs(c.adjustmentMs) <= VIVALDI_ADJUSTMENT_MAX_MS
  );
}

function euclidean(a: readonly number[], b: readonly number[]): number {
  let sum = 0;
  for (let i = 0; i < VIVALDI_DIMENSIONS; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    sum += d * d;
  }
  return Math.sqrt(sum);
}

/** Raw model distance in ms (vector distance plus both heights), without adjustments. */
export function rawDistanceMs(a: Coordinate, b: Coordinate): number {
  return euclidean(a.vec, b.vec) + a.heightMs + b.heightMs;
}

/** Estimated RTT between two coordinates in ms (adjustments applied when they keep it positive). */
export function estimateRttMs(a: Coordinate, b: Coordinate): number {
  const raw = rawDistanceMs(a, b);
  const adjusted = raw + a.adjustmentMs + b.adjustmentMs;
  return adjusted > 0 ? adjusted : raw;
}

const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));

/**
 * This node's coordinate and the Vivaldi update rule. `random` (uniform [0,1)) only picks a
 * direction when two coordinates coincide; it comes from the runtime's seeded RNG.
 */
export class VivaldiClient {
  private current: Coordinate = originCoordinate();
  private samples = 0;

  constructor(private readonly random: () => number) {}

  get coordinate(): Coordinate {
    return this.current;
  }

  get sampleCount(): number {
    return this.samples;
  }

  /** Folds one RTT sample to a peer at `remote` into our coordinate; returns the new coordinate. */
  update(remote: Coordinate, rttSampleMs: number): Coordinate {
    if (!isValidCoordinate(remote) || !Number.isFinite(rttSampleMs)) return this.current;
    const rtt = clamp(rttSampleMs, VIVALDI_RTT_MIN_MS, VIVALDI_RTT_MAX_MS);
    const local = this.current;
    const dist = rawDistanceMs(local, remote);
    const remoteError = Math.max(remote.error, VIVALDI_ERROR_MIN);
    const weight = local.error / (local.error + remoteError);
    const relativeError = Math.abs(dist - rtt) / rtt;
    const error = clamp(
      VIVALDI_ERROR_GAIN * weight * relativeError + local.error * (1 - VIVALDI_ERROR_GAIN * weight),
      VIVALDI_ERROR_MIN,
      VIVALDI_ERROR_MAX,
    );
    const step = VIVALDI_STEP_GAIN * weight;
    const force = step * (rtt - dist);
    // Unit vector from remote to local (random if they coincide).
    let magnitude = euclidean(local.vec, remote.vec);
    let unit: number[];
    if (magnitude > 1e-9) {
      unit = local.vec.map((x, i) => (x - (remote.vec[i] ?? 0)) / magnitude);
    } else {
      unit = Array.from({ length: VIVALDI_DIMENSIONS }, () => this.random() - 0.5);
      const norm = Math.sqrt(unit.reduce((s, x) => s + x * x, 0)) || 1;
      unit = unit.map((x) => x / norm);
      magnitude = 0;
    }
    const vec = local.vec.map(
      (x, i) => (x + (unit[i] ?? 0) * force) * (1 - VIVALDI_GRAVITY * step),
    );
    let heightMs = local.heightMs;
    if (magnitude > 1e-9)
      heightMs = local.heightMs + ((local.heightMs + remote.heightMs) * force) / dist;
    heightMs = Math.max(VIVALDI_HEIGHT_MIN_MS, heightMs);
    const residual = rtt - rawDistanceMs({ ...local, vec, heightMs }, remote);
    const adjustmentMs = clamp(
      local.adjustmentMs + VIVALDI_ADJUSTMENT_RATE * (residual / 2 - local.adjustmentMs),
      -VIVALDI_ADJUSTMENT_MAX_MS,
      VIVALDI_ADJUSTMENT_MAX_MS,
    );
    this.current = { vec, heightMs, error, adjustmentMs };
    this.samples++;
    return this.current;
  }
}

interface PeerCoordinate {
  coordinate: Coordinate;
  updatedMs: number;
  samples: number;
}

/**
 * The latest coordinate heard from each peer, bounded to `maxPeers` (a new peer beyond it is not
 * stored). Membership calls `forget` when it reaps a member.
 */
export class CoordinateTable {
  private readonly peers = new Map<string, PeerCoordinate>();

  constructor(private readonly maxPeers: number) {}

  get size(): number {
    return this.peers.size;
  }

  has(id: string): boolean {
    return this.peers.has(id);
  }

  get(id: string): Coordinate | undefined {
    return this.peers.get(id)?.coordinate;
  }

  set(id: string, coordinate: Coordinate, nowMs: number): void {
    if (!isValidCoordinate(coordinate)) return;
    const existing = this.peers.get(id);
    if (existing) {
      existing.coordinate = coordinate;
      existing.updatedMs = nowMs;
      existing.samples++;
      return;
    }
    if (this.peers.size >= this.maxPeers) return;
    this.peers.set(id, { coordinate, updatedMs: nowMs, samples: 1 });
  }

  forget(id: string): void {
    this.peers.delete(id);
  }

  /** Confidence in [0, 1]: min(1, n/10) · min(1, 0.5/error) · linear staleness over the TTL. */
  quality(id: string, nowMs: number): number {
    const p = this.peers.get(id);
    if (!p) return 0;
    const count = Math.min(1, p.samples / VIVALDI_SAMPLES_FOR_CONFIDENCE);
    const accuracy = Math.min(
      1,
      VIVALDI_CONVERGED_ERROR / Math.max(p.coordinate.error, VIVALDI_ERROR_MIN),
    );
    const staleness = Math.max(0, 1 - (nowMs - p.updatedMs) / COORDINATE_TTL_MS);
    return count * accuracy * staleness;
  }

  /** Upper confidence bound on the RTT to `id` from `local`: prediction + 2σ, σ from both errors. */
  rttUpperBoundMs(local: Coordinate, id: string): number {
    const remote = this.peers.get(id)?.coordinate;
    if (!remote) return DEFAULT_RTT_MS + 2 * DEFAULT_RTT_SIGMA_MS;
    const predicted = estimateRttMs(local, remote);
    const sigma = clamp(
      ((local.error + remote.error) / 2) * predicted,
      RTT_SIGMA_MIN_MS,
      RTT_SIGMA_MAX_MS,
    );
    return predicted + 2 * sigma;
  }
}
