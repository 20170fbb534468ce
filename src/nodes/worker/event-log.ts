// Owns a worker's event log: the node's lifecycle events (started, part received/started/ended,
// each window of a part at trace level, stopping/stopped) kept in a bounded ring for forensics
// and forwarded to the node's logger (trace events stay in the ring). Recording is O(1) and
// never waits: when the ring is full the oldest event is dropped and counted.

import { SalvoError } from '../../errors.js';
import type { Logger, LogLevel } from '../../runtime/types.js';

export type EventLevel = 'trace' | LogLevel;

export interface WorkerEvent {
  /** 1, 2, 3, … in recording order (a gap before the oldest kept event: dropped events). */
  readonly seq: number;
  readonly atMs: number;
  readonly level: EventLevel;
  readonly message: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

export const DEFAULT_EVENT_CAPACITY = 1_000;
export const MAX_EVENT_CAPACITY = 1_000_000;

export class WorkerEventLog implements Logger {
  private readonly ring: (WorkerEvent | undefined)[];
  private next = 0;
  private kept = 0;
  private seq = 0;
  readonly counters = { recorded: 0, dropped: 0 };

  constructor(
    private readonly sink: Logger,
    private readonly now: () => number,
    readonly capacity: number = DEFAULT_EVENT_CAPACITY,
    private readonly base: Readonly<Record<string, unknown>> = {},
  ) {
    if (!Number.isSafeInteger(capacity) || capacity < 1 || capacity > MAX_EVENT_CAPACITY)
      throw new SalvoError(
        'E_OPTION',
        `event log capacity must be 1..${MAX_EVENT_CAPACITY}, got ${capacity}`,
      );
    this.ring = new Array<WorkerEvent | undefined>(capacity);
  }

  /** Records the event and forwards it to the node's logger. */
  log(level: LogLevel, message: string, fields: Record<string, unknown> = {}): void {
    this.record(level, message, fields);
    this.sink.log(level, message, fields);
  }

  /** Records a trace event (kept in the ring only: too frequent for the node's log). */
  trace(message: string, fields: Record<string, unknown> = {}): void {
    this.record('trace', message, fields);
  }

  child(fields: Record<string, unknown>): Logger {
    return {
      log: (level, message, more) => this.log(level, message, { ...fields, ...more }),
      child: (f) => this.child({ ...fields, ...f }),
    };
  }

  /** The last `n` events kept, oldest first. */
  recent(n: number = this.capacity): WorkerEvent[] {
    const count = Math.max(0, Math.min(n, this.kept));
    const out: WorkerEvent[] = [];
    for (let i = count; i > 0; i--) {
      const e = this.ring[(this.next - i + this.capacity) % this.capacity];
      if (e !== undefined) out.push(e);
    }
    return out;
  }

  get size(): number {
    return this.kept;
  }

  private record(level: EventLevel, message: string, fields: Record<string, unknown>): void {
    this.counters.recorded++;
    if (this.kept === this.capacity) this.counters.dropped++;
    else this.kept++;
    this.ring[this.next] = {
      seq: ++this.seq,
      atMs: this.now(),
      level,
      message,
      fields: { ...this.base, ...fields },
    };
    this.next = (this.next + 1) % this.capacity;
  }
}
