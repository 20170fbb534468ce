// Owns the core's agenda: a min-heap of (time, what) entries that the core validates against its
// state when they come due (stale entries are dropped, so nothing needs cancelling). Never reads
// a clock; compacts itself so stale entries cannot pile up.

export interface Deadline<T> {
  readonly atMs: number;
  /** Insertion order, so entries due at the same time fire first-in first-out (determinism). */
  readonly order: number;
  readonly what: T;
}

export class DeadlineQueue<T> {
  private heap: Deadline<T>[] = [];
  private counter = 0;

  get size(): number {
    return this.heap.length;
  }

  push(atMs: number, what: T): void {
    this.heap.push({ atMs, order: this.counter++, what });
    this.up(this.heap.length - 1);
  }

  peekAtMs(): number {
    return this.heap[0]?.atMs ?? Number.POSITIVE_INFINITY;
  }

  /** Removes and returns the earliest entry due at or before `nowMs`. */
  popDue(nowMs: number): Deadline<T> | undefined {
    const top = this.heap[0];
    if (!top || top.atMs > nowMs) return undefined;
    const last = this.heap.pop();
    if (last && this.heap.length > 0) {
      this.heap[0] = last;
      this.down(0);
    }
    return top;
  }

  /** Keeps only entries for which `live` holds (called when the heap has grown past its bound). */
  compact(live: (what: T, atMs: number) => boolean): void {
    const kept = this.heap.filter((d) => live(d.what, d.atMs));
    this.heap = [];
    for (const d of kept) {
      this.heap.push(d);
      this.up(this.heap.length - 1);
    }
  }

  /** Every entry (for invariant checks and purge tests). */
  entries(): readonly Deadline<T>[] {
    return this.heap;
  }

  private less(a: Deadline<T>, b: Deadline<T>): boolean {
    return a.atMs < b.atMs || (a.atMs === b.atMs && a.order < b.order);
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const child = h[i]!;
      const parent = h[p]!;
      if (!this.less(child, parent)) break;
      h[i] = parent;
      h[p] = child;
      i = p;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
      if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
      if (m === i) return;
      const t = h[i]!;
      h[i] = h[m]!;
      h[m] = t;
      i = m;
    }
  }
}
