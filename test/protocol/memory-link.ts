// Test support: an in-memory StreamConnection pair (frames delivered in order on a microtask)
// and manual timers, so RPC behaviour is tested without sockets or wall time.
import type {
  FrameError,
  NodeAddress,
  StreamConnection,
  TimerHandle,
  Timers,
} from '../../src/runtime/types.js';

let nextId = 1;

export class MemoryConnection implements StreamConnection {
  readonly id = nextId++;
  peer: MemoryConnection | null = null;
  readonly sent: Uint8Array[] = [];
  private frameHandlers: ((f: Uint8Array) => void)[] = [];
  private errorHandlers: ((e: FrameError) => void)[] = [];
  private closeHandlers: ((r: Error | undefined) => void)[] = [];
  closed = false;

  constructor(
    readonly local: NodeAddress,
    readonly remote: NodeAddress,
  ) {}

  send(frame: Uint8Array): boolean {
    if (this.closed) return false;
    this.sent.push(frame);
    const peer = this.peer;
    const copy = frame.slice();
    queueMicrotask(() => peer?.deliver(copy));
    return true;
  }
  deliver(frame: Uint8Array): void {
    if (this.closed) return;
    for (const h of this.frameHandlers) h(frame);
  }
  injectFrameError(e: FrameError): void {
    for (const h of this.errorHandlers) h(e);
  }
  onFrame(h: (f: Uint8Array) => void): void {
    this.frameHandlers.push(h);
  }
  onFrameError(h: (e: FrameError) => void): void {
    this.errorHandlers.push(h);
  }
  onClose(h: (r: Error | undefined) => void): void {
    this.closeHandlers.push(h);
  }
  close(): void {
    if (this.closed) return;
    // Frames already sent are still delivered (graceful close), then both ends close.
    queueMicrotask(() => {
      this.finish(undefined);
      this.peer?.finish(undefined);
    });
    this.closed = true;
  }
  private finished = false;
  finish(reason: Error | undefined): void {
    if (this.finished) return;
    this.finished = true;
    this.closed = true;
    for (const h of this.closeHandlers) h(reason);
  }
}

export function memoryPair(): [MemoryConnection, MemoryConnection] {
  const a = new MemoryConnection({ host: 'a', port: 1 }, { host: 'b', port: 2 });
  const b = new MemoryConnection({ host: 'b', port: 2 }, { host: 'a', port: 1 });
  a.peer = b;
  b.peer = a;
  return [a, b];
}

export class ManualTimers implements Timers {
  nowMs = 0;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void; period?: number }>();

  after(delayMs: number, fn: () => void): TimerHandle {
    const id = ++this.seq;
    this.timers.set(id, { at: this.nowMs + delayMs, fn });
    return { cancel: () => this.timers.delete(id) };
  }
  every(periodMs: number, fn: () => void): TimerHandle {
    const id = ++this.seq;
    this.timers.set(id, { at: this.nowMs + periodMs, fn, period: periodMs });
    return { cancel: () => this.timers.delete(id) };
  }
  get armed(): number {
    return this.timers.size;
  }
  advance(ms: number): void {
    const end = this.nowMs + ms;
    for (;;) {
      let nextId = -1;
      let nextAt = Infinity;
      for (const [id, t] of this.timers) {
        if (t.at <= end && t.at < nextAt) {
          nextAt = t.at;
          nextId = id;
        }
      }
      if (nextId < 0) break;
      const t = this.timers.get(nextId)!;
      this.nowMs = t.at;
      if (t.period !== undefined) t.at += t.period;
      else this.timers.delete(nextId);
      t.fn();
    }
    this.nowMs = end;
  }
}

/** Lets queued microtasks (message deliveries) run. */
export async function flush(rounds = 10): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}
