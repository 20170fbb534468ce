// Owns the real runtime's seeded PRNG (xoshiro128**, seeded through splitmix32). Same seed,
// same sequence; fork(label) derives a stream from the seed and the label only, so forks are
// stable no matter how much the parent has been used. Never used for cryptography.

import type { Rng } from '../types.js';
import { InternalError } from '../../errors.js';

function splitmix32(state: number): [number, number] {
  const s = (state + 0x9e3779b9) >>> 0;
  let z = s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return [(z ^ (z >>> 16)) >>> 0, s];
}

/** FNV-1a over the UTF-16 code units of `label`, mixed with `seed`. */
function mixLabel(seed: number, label: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export class SeededRng implements Rng {
  readonly seed: number;
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.seed = seed >>> 0;
    let st = this.seed;
    const out: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [v, next] = splitmix32(st);
      out.push(v);
      st = next;
    }
    [this.a, this.b, this.c, this.d] = out as [number, number, number, number];
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  private nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.b << 9) >>> 0;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    this.a >>>= 0;
    this.b >>>= 0;
    this.c >>>= 0;
    return result;
  }

  next(): number {
    return this.nextUint32() / 0x1_0000_0000;
  }

  int(maxExclusive: number): number {
    if (!(maxExclusive > 0))
      throw new InternalError(`int(maxExclusive) needs a positive bound, got ${maxExclusive}`);
    return Math.floor(this.next() * maxExclusive);
  }

  fork(label: string): Rng {
    return new SeededRng(mixLabel(this.seed, label));
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
