// The simulator's one event queue: a binary min-heap ordered by (time, sequence number), so
// events at the same virtual time run in the order they were scheduled. Never reads a clock.

/** Something that happens at `timeMs`. `seq` breaks ties; the queue assigns it. */
export interface QueuedEvent {
  timeMs: number;
  seq: number;
  /** Lazily deleted: a cancelled event is popped and skipped, never run. */
  cancelled: boolean;
}

function before(a: QueuedEvent, b: QueuedEvent): boolean {
  return a.timeMs < b.timeMs || (a.timeMs === b.timeMs && a.seq < b.seq);
}

export class EventQueue<E extends QueuedEvent> {
  private readonly heap: E[] = [];
  private nextSeq = 0;

  get size(): number {
    return this.heap.length;
  }

  /** Adds `event` with a fresh sequence number (later than every event pushed before). */
  push(event: E): E {
    event.seq = this.nextSeq++;
    const heap = this.heap;
    heap.push(event);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as E;
      if (!before(event, p)) {
        break;
      }
      heap[i] = p;
      i = parent;
    }
    heap[i] = event;
    return event;
  }

  peek(): E | undefined {
    return this.heap[0];
  }

  pop(): E | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) {
      return top;
    }
    let i = 0;
    const n = heap.length;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) {
        break;
      }
      const right = left + 1;
      let child = left;
      if (right < n && before(heap[right] as E, heap[left] as E)) {
        child = right;
      }
      const c = heap[child] as E;
      if (!before(c, last)) {
        break;
      }
      heap[i] = c;
      i = child;
    }
    heap[i] = last;
    return top;
  }
}
