// Seeded randomness for the simulator: xoshiro128** seeded through splitmix32, hand-written
// because it is twenty lines and must be bit-identical everywhere. Never reads Math.random.

import type { Rng } from '../types.js';
import { InternalError } from '../../errors.js';

const TWO_POW_32 = 0x1_0000_0000;
const TWO_POW_53 = 2 ** 53;
const FNV_OFFSET_32 = 0x811c9dc5;
const FNV_PRIME_32 = 0x01000193;

/** FNV-1a over the UTF-16 code units of `text` (stable, cheap; not cryptographic). */
export function hashString(text: string, basis = FNV_OFFSET_32): number {
  let h = basis >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME_32);
  }
  return h >>> 0;
}

/** FNV-1a over bytes, for trace lines that name a payload without printing it. */
export function hashBytes(data: Uint8Array): number {
  let h = FNV_OFFSET_32;
  for (let i = 0; i < data.length; i++) {
    h ^= data[i] ?? 0;
    h = Math.imul(h, FNV_PRIME_32);
  }
  return h >>> 0;
}

function splitmix32(state: number): { value: number; state: number } {
  const next = (state + 0x9e3779b9) | 0;
  let t = next ^ (next >>> 16);
  t = Math.imul(t, 0x21f0aaad);
  t ^= t >>> 15;
  t = Math.imul(t, 0x735a2d97);
  t ^= t >>> 15;
  return { value: t >>> 0, state: next };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Four 32-bit words of seed material (never all zero). */
type SeedMaterial = readonly [number, number, number, number];

function expand(seed32a: number, seed32b: number): SeedMaterial {
  let state = (seed32a ^ Math.imul(seed32b, 0x9e3779b1)) | 0;
  const words: number[] = [];
  for (let i = 0; i < 4; i++) {
    const r = splitmix32(state);
    state = r.state;
    words.push(r.value);
  }
  const [a = 0, b = 0, c = 0, d = 0] = words;
  if ((a | b | c | d) === 0) {
    return [1, 0, 0, 0];
  }
  return [a, b, c, d];
}

/** xoshiro128** (Blackman & Vigna). `fork(label)` depends only on the seed and the label. */
export class SimRng implements Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private readonly material: SeedMaterial;

  private constructor(material: SeedMaterial) {
    this.material = material;
    [this.s0, this.s1, this.s2, this.s3] = material;
  }

  /** A generator from a user seed (any finite number; integers are the norm). */
  static fromSeed(seed: number): SimRng {
    if (!Number.isFinite(seed)) {
      throw new InternalError(`seed must be a finite number, got ${seed}`);
    }
    const low = seed >>> 0;
    const high = Math.floor(seed / TWO_POW_32) >>> 0;
    return new SimRng(expand(low, hashString(String(high), low)));
  }

  /** Next raw 32-bit output. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  next(): number {
    const high = this.nextUint32() >>> 5; // 27 bits
    const low = this.nextUint32() >>> 6; // 26 bits
    return (high * 67108864 + low) / TWO_POW_53;
  }

  int(maxExclusive: number): number {
    if (!Number.isInteger(maxExclusive) || maxExclusive <= 0 || maxExclusive > TWO_POW_53) {
      throw new InternalError(
        `int(maxExclusive) needs an integer in [1, 2^53], got ${maxExclusive}`,
      );
    }
    return Math.floor(this.next() * maxExclusive);
  }

  /** True with probability `p` (draws nothing when p is 0 or 1, so toggling a fault off costs no draws elsewhere). */
  chance(p: number | undefined): boolean {
    if (p === undefined || p <= 0) {
      return false;
    }
    if (p >= 1) {
      return true;
    }
    return this.next() < p;
  }

  /** Uniform in [min, max). */
  between(min: number, max: number): number {
    return max <= min ? min : min + (max - min) * this.next();
  }

  fork(label: string): SimRng {
    const [a, b, c, d] = this.material;
    const h = hashString(label, a ^ rotl(c, 13));
    const mixedA = (h ^ rotl(b, 7) ^ d) >>> 0;
    return new SimRng(expand(mixedA, hashString(label, b ^ rotl(d, 5))));
  }
}
