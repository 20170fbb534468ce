// Owns the gossip retransmit queue: at most one pending update per member, each piggybacked a
// bounded number of times, fewest-sent first, packed into a byte budget. Never decides whether an
// update is news (the core does) and never encodes bytes (it only estimates their size).

import type { MemberId, MemberUpdate } from './types.js';

/** UTF-8 length of `s` without allocating. */
export function utf8Bytes(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** MessagePack size of a string: header (1, 2 or 3 bytes) plus its UTF-8 bytes. */
function packedStringBytes(s: string): number {
  const n = utf8Bytes(s);
  return n + (n < 32 ? 1 : n < 256 ? 2 : 3);
}

/**
 * Upper bound on the encoded size of one update as the node shell packs it (a MessagePack array
 * [kind, id, host, port, incarnation, from]): 1 array header + 1 kind + strings + ≤ 3 port + ≤ 9 incarnation.
 */
export function updateWireBytes(u: MemberUpdate): number {
  return (
    1 + 1 + packedStringBytes(u.id) + packedStringBytes(u.host) + 3 + 9 + packedStringBytes(u.from)
  );
}

interface QueuedUpdate {
  update: MemberUpdate;
  transmits: number;
  sizeBytes: number;
}

export class BroadcastQueue {
  /** buckets[t] holds the updates sent t times, in insertion order. */
  private buckets: Map<MemberId, QueuedUpdate>[] = [new Map()];
  private readonly byMember = new Map<MemberId, QueuedUpdate>();
  private evictedCount = 0;

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.byMember.size;
  }

  /** Updates dropped because the queue was full. */
  get evicted(): number {
    return this.evictedCount;
  }

  has(id: MemberId): boolean {
    return this.byMember.has(id);
  }

  /** Queues `update`, replacing any pending update about the same member. */
  enqueue(update: MemberUpdate): void {
    this.remove(update.id);
    if (this.byMember.size >= this.capacity) this.evictMostSent();
    const q: QueuedUpdate = { update, transmits: 0, sizeBytes: updateWireBytes(update) };
    this.byMember.set(update.id, q);
    this.bucket(0).set(update.id, q);
  }

  /** Drops the pending update about `id` (member reaped). */
  remove(id: MemberId): void {
    const q = this.byMember.get(id);
    if (!q) return;
    this.byMember.delete(id);
    this.buckets[q.transmits]?.delete(id);
  }

  /**
   * Takes updates for one message: fewest transmissions first, as many as fit `budgetBytes` and
   * `maxCount`, skipping `exclude`. Each taken update counts one transmission and leaves the
   * queue once sent `limit` times.
   */
  take(budgetBytes: number, maxCount: number, limit: number, exclude?: MemberId): MemberUpdate[] {
    const out: MemberUpdate[] = [];
    const taken: QueuedUpdate[] = [];
    let room = budgetBytes;
    for (let t = 0; t < this.buckets.length && out.length < maxCount && room > 0; t++) {
      const bucket = this.buckets[t];
      if (!bucket) continue;
      for (const [id, q] of bucket) {
        if (out.length >= maxCount) break;
        if (id === exclude || q.sizeBytes > room) continue;
        out.push(q.update);
        taken.push(q);
        room -= q.sizeBytes;
      }
    }
    for (const q of taken) {
      this.buckets[q.transmits]?.delete(q.update.id);
      q.transmits++;
      if (q.transmits >= limit) this.byMember.delete(q.update.id);
      else this.bucket(q.transmits).set(q.update.id, q);
    }
    return out;
  }

  private bucket(t: number): Map<MemberId, QueuedUpdate> {
    while (this.buckets.length <= t) this.buckets.push(new Map());
    return this.buckets[t]!;
  }

  private evictMostSent(): void {
    for (let t = this.buckets.length - 1; t >= 0; t--) {
      const bucket = this.buckets[t];
      const first = bucket?.keys().next();
      if (first && !first.done) {
        this.remove(first.value);
        this.evictedCount++;
        return;
      }
    }
  }
}
