// Http2SessionGroup: HTTP/2 sessions shared by every client of one worker thread's workflow
// (the workflow option `http2: { connections, maxStreams }`, h2load's -c and -m): N sessions
// per origin, streams spread over them, each VU keeping its own cookies and timeouts. Counted
// references: the sessions close when the last client using the group closes.
import { h2Error } from './errors.js';
import {
  MAX_STREAMS_PER_SESSION,
  OriginPool,
  type PoolOwner,
  type SessionOptions,
} from './session.js';

export interface Http2SharingOptions {
  /** Sessions (TCP connections) per origin shared by the thread's VUs (h2load's -c). */
  connections: number;
  /** Concurrent streams per session at most (h2load's -m); default: the peer's limit. */
  maxStreams?: number;
}

export class Http2SessionGroup implements PoolOwner {
  readonly stats = { sessionsOpened: 0, streamsStarted: 0 };
  readonly maxSessions: number;
  readonly maxStreams: number;
  /** Open a new session (up to maxSessions) rather than add a stream to a busy one. */
  readonly spread = true;
  private readonly pools = new Map<string, OriginPool>();
  private refs = 0;

  constructor(
    sharing: Http2SharingOptions,
    readonly options: SessionOptions,
  ) {
    this.maxSessions = checkCount(sharing.connections, 'http2.connections');
    this.maxStreams =
      sharing.maxStreams === undefined
        ? MAX_STREAMS_PER_SESSION
        : checkCount(sharing.maxStreams, 'http2.maxStreams');
  }

  /** The pool of `origin` (an `URL.origin`); `url` is its parsed form. */
  pool(origin: string, url: URL): OriginPool {
    let pool = this.pools.get(origin);
    if (pool === undefined) {
      pool = new OriginPool(this, url);
      this.pools.set(origin, pool);
    }
    return pool;
  }

  /** A client starts using the group. */
  acquire(): void {
    this.refs++;
  }

  /** A client stopped using the group: the last one closes every session. */
  release(): void {
    if (this.refs === 0) return;
    if (--this.refs > 0) return;
    for (const pool of this.pools.values()) pool.close();
    this.pools.clear();
  }

  get clients(): number {
    return this.refs;
  }
}

/** An integer ≥ 1 or a bad_request naming the option. */
export function checkCount(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw h2Error('bad_request', `${name} must be an integer ≥ 1 (got ${String(value)})`, '-');
  }
  return value;
}
