// The open streams of one connection by id, without a Map: client stream ids are odd and
// increasing, and most streams close before a few hundred newer ones open, so a ring indexed
// by id holds nearly all of them and a Map takes the rare long-lived rest. A Map of its own
// would rehash as a shared session's hundred streams drain and refill every round trip.
import type { H2Stream } from './connection.js';

/** Ring slots: more than the streams a session runs at once in the usual case. */
const RING_SLOTS = 256;
const MASK = RING_SLOTS - 1;

export class StreamTable {
  private readonly ring: (H2Stream | undefined)[] = new Array<H2Stream | undefined>(RING_SLOTS);
  /** Streams whose ring slot was taken by an older stream still open. */
  private readonly overflow = new Map<number, H2Stream>();
  size = 0;

  get(id: number): H2Stream | undefined {
    const s = this.ring[(id >>> 1) & MASK];
    if (s !== undefined && s.streamId === id) return s;
    return this.overflow.size === 0 ? undefined : this.overflow.get(id);
  }

  /** Adds a stream whose id is new to the table. */
  set(id: number, stream: H2Stream): void {
    const slot = (id >>> 1) & MASK;
    if (this.ring[slot] === undefined) this.ring[slot] = stream;
    else this.overflow.set(id, stream);
    this.size++;
  }

  delete(id: number): boolean {
    const slot = (id >>> 1) & MASK;
    const s = this.ring[slot];
    if (s !== undefined && s.streamId === id) this.ring[slot] = undefined;
    else if (!this.overflow.delete(id)) return false;
    this.size--;
    return true;
  }

  /** A snapshot of every open stream, oldest ring slot first. */
  values(): H2Stream[] {
    const out: H2Stream[] = [];
    for (const s of this.ring) if (s !== undefined) out.push(s);
    for (const s of this.overflow.values()) out.push(s);
    return out;
  }

  clear(): void {
    this.ring.fill(undefined);
    this.overflow.clear();
    this.size = 0;
  }
}
