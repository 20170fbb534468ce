// One HTTP/2 request in flight: it is its own stream record (extends H2Stream), so the hot path
// allocates the request, its promise, its timer and the response, and no closures. Turns the
// connection's stream events into an Http2Response or a ClientError of a named kind, and sends
// a request the peer refused unprocessed (REFUSED_STREAM) again.
import { performance } from 'node:perf_hooks';
import type { HttpTimings } from '../http1/index.js';
import type { VuCookieJar } from '../request/cookies.js';
import { H2Stream } from './connection.js';
import { ErrorCode } from './frames.js';
import { h2Error, kindForRstCode } from './errors.js';
import { Http2Response } from './response.js';
import type { H2Session } from './session.js';

/** Response bodies above this fail with kind `body_too_large` (bounded memory per stream). */
export const MAX_H2_BODY_BYTES = 64 * 1024 * 1024;
/** Resends of a request the peer refused unprocessed (REFUSED_STREAM). */
const MAX_REFUSED_RETRIES = 2;
const EMPTY = Buffer.alloc(0);

/**
 * A request's encoded header block, kept by the client for requests whose fields repeat
 * (same method and URL, no per-request headers or cookies): HPACK here keeps no dynamic
 * table, so the same fields always encode to the same bytes.
 */
export interface HeaderBlockCache {
  readonly block: Buffer;
}

/** What a request needs from the client that made it. */
export interface RequestOwner {
  readonly jar: VuCookieJar | null;
  readonly closed: boolean;
  readonly stats: { streamsStarted: number };
  /** The request settled (clients sharing sessions track their own in-flight requests). */
  done(req: H2Request): void;
}

export class H2Request extends H2Stream {
  settled = false;
  session: H2Session | null = null;
  timer: NodeJS.Timeout | null = null;
  /** When the stream's HEADERS were queued on a connected session (0: before it was up). */
  openedAt = 0;
  responseAt = 0;
  status = 0;
  /** The final head's fields as [name, value, …] (`:status` first). */
  responseHeaders: string[] | null = null;
  retries = 0;
  /** The owner's list of in-flight requests, when it keeps one (shared sessions). */
  prevLive: H2Request | null = null;
  nextLive: H2Request | null = null;
  chunks: Buffer[] = [];
  bytes = 0;
  reused = true;

  constructor(
    readonly owner: RequestOwner,
    readonly method: string,
    readonly url: URL,
    /** Header fields, names lowercase, pseudo-headers first: [name, value, …]; or the cache. */
    readonly fields: string[] | HeaderBlockCache,
    readonly payload: Uint8Array | null,
    readonly discard: boolean,
    readonly start: number,
    readonly resolve: (res: Http2Response) => void,
    readonly reject: (err: Error) => void,
  ) {
    super();
  }

  get target(): string {
    return `${this.method} ${this.url.href}`;
  }

  /** Starts the stream on `session` (which has room). */
  open(session: H2Session): void {
    if (this.settled) return;
    this.session = session;
    if (!session.used) {
      session.used = true;
      this.reused = false;
    }
    this.openedAt = session.connected ? performance.now() : 0;
    const conn = session.conn;
    const f = this.fields;
    if (Array.isArray(f)) {
      const enc = conn.encoder;
      for (let i = 0; i < f.length; i += 2) enc.add(f[i] as string, f[i + 1] as string);
      conn.open(this, this.payload);
    } else conn.open(this, this.payload, f.block);
    this.owner.stats.streamsStarted++;
  }

  timings(end: number): HttpTimings {
    const s = this.session;
    const fresh = !this.reused && s !== null;
    const ready = this.openedAt || (s !== null && s.upAt > 0 ? s.upAt : this.start);
    const response = this.responseAt || end;
    return {
      dnsMs: 0,
      connectMs: fresh ? s.connectMs : 0,
      tlsMs: fresh ? s.tlsMs : 0,
      sendMs: Math.max(0, ready - this.start - (fresh ? s.connectMs + s.tlsMs : 0)),
      waitMs: Math.max(0, response - ready),
      receiveMs: Math.max(0, end - response),
      ttfbMs: response - this.start,
      totalMs: end - this.start,
      reused: this.reused,
    };
  }

  // H2Stream events
  onHead(status: number, headers: string[]): void {
    this.responseAt = performance.now();
    this.status = status;
    this.responseHeaders = headers;
  }

  onData(b: Buffer, start: number, end: number): void {
    if (this.settled) return;
    this.bytes += end - start;
    if (this.bytes > MAX_H2_BODY_BYTES) {
      this.failWith('body_too_large', `response body above ${MAX_H2_BODY_BYTES} bytes`);
      return;
    }
    if (!this.discard) {
      const chunk = Buffer.allocUnsafe(end - start);
      b.copy(chunk, 0, start, end);
      this.chunks.push(chunk);
    }
  }

  onEnd(): void {
    this.succeed();
  }

  onReset(code: number, local: boolean): void {
    if (this.settled) return;
    // REFUSED_STREAM before any response means the peer did not process the request (RFC 9113
    // §8.7), e.g. streams sent before its SETTINGS lowered the limit: send it again.
    if (
      code === ErrorCode.REFUSED_STREAM &&
      !this.headed &&
      this.retries < MAX_REFUSED_RETRIES &&
      !this.owner.closed &&
      this.session !== null
    ) {
      this.retries++;
      const pool = this.session.pool;
      this.session = null;
      this.chunks = [];
      this.bytes = 0;
      pool.dispatch(this);
      return;
    }
    if (code === ErrorCode.NO_ERROR) {
      if (this.responseHeaders !== null) this.succeed();
      else this.failWith('connection_closed', 'the stream closed before a response');
      return;
    }
    this.failWith(
      kindForRstCode(code),
      local
        ? `this side reset the stream (code ${code}): the peer broke the protocol`
        : `stream reset by the peer (code ${code})`,
    );
  }

  onConnectionLost(kind: string, message: string): void {
    this.failWith(kind, message);
  }

  succeed(): void {
    if (this.settled) return;
    this.settled = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.owner.done(this);
    const end = performance.now();
    const list = this.responseHeaders ?? [];
    let cookies: string[] | null = null;
    for (let i = 0; i < list.length; i += 2) {
      if (list[i] === 'set-cookie') (cookies ??= []).push(list[i + 1] as string);
    }
    const body =
      this.chunks.length === 0
        ? EMPTY
        : this.chunks.length === 1
          ? (this.chunks[0] as Buffer)
          : Buffer.concat(this.chunks, this.bytes);
    this.chunks = [];
    const jar = this.owner.jar;
    if (jar !== null && cookies !== null) jar.capture(this.url.href, cookies);
    this.resolve(
      new Http2Response(
        this.status,
        list,
        cookies ?? [],
        body,
        this.bytes,
        this.url.href,
        this.method,
        this.timings(end),
        this.session?.protocol ?? 'h2',
      ),
    );
  }

  failWith(kind: string, message: string, cause?: unknown): void {
    if (this.settled) return;
    this.settled = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.owner.done(this);
    this.chunks = [];
    const session = this.session;
    if (session !== null && this.streamId !== 0) {
      session.conn.cancel(this);
      session.pool.drain();
    }
    this.reject(h2Error(kind, message, this.target, cause));
  }
}

export function onRequestTimeout(req: H2Request, ms: number): void {
  req.failWith('timeout', `no complete response within ${ms}ms`);
}
