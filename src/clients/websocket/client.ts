// WebSocket client one VU drives (`ctx.ws`): connect, send, receive with a timeout, request
// (send then the next message) with its round trip, close with a code. Built on `ws`, the
// well-kept implementation of RFC 6455 (framing, masking, fragmentation, ping/pong). Incoming
// messages wait in a bounded queue; failures are ClientErrors with kinds such as
// `connect_refused`, `handshake_403`, `timeout`, `close_1011`.
// Imported: the global `performance` is a lazy accessor in Node 20 (a getter call per use).
import { performance } from 'node:perf_hooks';
import { createRequire } from 'node:module';
import type WebSocketType from 'ws';
import {
  ClientError,
  parseJson,
  socketErrorKind,
  type ClientEnv,
  type VuClient,
} from '../client.js';

type WebSocket = WebSocketType;
type WebSocketModule = typeof WebSocketType;
let wsModule: WebSocketModule | undefined;
/** `ws` is loaded on the first connect, so workflows without WebSockets never pay for it. */
function loadWs(): WebSocketModule {
  wsModule ??= createRequire(import.meta.url)('ws') as WebSocketModule;
  return wsModule;
}
const OPEN = 1;

export const DEFAULT_WS_TIMEOUT_MS = 30_000;
/** Messages kept unread per connection; older ones are dropped (counted in `dropped`). */
export const MAX_WS_QUEUED_MESSAGES = 1000;
/** Largest message accepted from the peer (bounded memory); larger closes with 1009. */
export const MAX_WS_MESSAGE_BYTES = 16 * 1024 * 1024;
/** Open connections per client (per VU); beyond it, connect fails with `too_many_connections`. */
export const MAX_WS_CONNECTIONS = 64;

export interface WsConnectOptions {
  headers?: Record<string, string>;
  /** Subprotocols offered in Sec-WebSocket-Protocol. */
  protocols?: string[];
  /** Handshake timeout, and the default for receive() on this connection. */
  timeoutMs?: number;
  tls?: { rejectUnauthorized?: boolean; ca?: string | Buffer };
}

/** One message received, with how long the caller waited for it. */
export class WsMessage {
  constructor(
    readonly data: Buffer,
    readonly isBinary: boolean,
    /** From the receive() (or request()) call to the message's delivery; 0 when it was queued. */
    readonly waitMs: number,
    /** For request(): from the send to this message. */
    readonly roundTripMs: number,
  ) {}
  text(): string {
    return this.data.toString('utf8');
  }
  json<T = unknown>(): T {
    return parseJson<T>(this.text(), 'ws', 'bad_message', 'message');
  }
}

interface Waiter {
  resolve: (m: WsMessage) => void;
  reject: (e: ClientError) => void;
  since: number;
  sentAt: number;
  timer: NodeJS.Timeout;
}

/** An open WebSocket. */
export class WsConnection {
  /** Handshake time (TCP + TLS + HTTP upgrade). */
  readonly connectMs: number;
  /** The subprotocol the server chose ('' for none). */
  readonly protocol: string;
  /** Messages dropped because the queue was full and nobody was receiving. */
  dropped = 0;
  /** Messages received and sent on this connection. */
  received = 0;
  sent = 0;
  private readonly queue: WsMessage[] = [];
  private readonly waiters: Waiter[] = [];
  private closeInfo: { code: number; reason: string } | null = null;
  private readonly closedPromise: Promise<{ code: number; reason: string }>;

  /** @internal made by WsClient.connect. */
  constructor(
    private readonly socket: WebSocket,
    readonly url: string,
    connectMs: number,
    private readonly timeoutMs: number,
    private readonly owner: Set<WsConnection>,
  ) {
    this.connectMs = connectMs;
    this.protocol = socket.protocol;
    socket.on('message', (data: WebSocketType.RawData, isBinary: boolean) => {
      this.received++;
      const buf = Array.isArray(data)
        ? Buffer.concat(data)
        : Buffer.isBuffer(data)
          ? data
          : Buffer.from(data);
      const waiter = this.waiters.shift();
      if (waiter !== undefined) {
        clearTimeout(waiter.timer);
        const now = performance.now();
        waiter.resolve(
          new WsMessage(buf, isBinary, now - waiter.since, waiter.sentAt ? now - waiter.sentAt : 0),
        );
        return;
      }
      if (this.queue.length >= MAX_WS_QUEUED_MESSAGES) {
        this.queue.shift();
        this.dropped++;
      }
      this.queue.push(new WsMessage(buf, isBinary, 0, 0));
    });
    this.closedPromise = new Promise((resolve) => {
      socket.on('close', (code: number, reason: Buffer) => {
        this.closeInfo = { code, reason: reason.toString('utf8') };
        owner.delete(this);
        for (const w of this.waiters.splice(0)) {
          clearTimeout(w.timer);
          w.reject(this.closedError());
        }
        resolve(this.closeInfo);
      });
    });
    socket.on('error', (error: Error) => {
      // Errors after the handshake end in 'close', which rejects the waiters with its code.
      if (this.closeInfo === null && this.waiters.length > 0) {
        const w = this.waiters.shift();
        if (w !== undefined) {
          clearTimeout(w.timer);
          w.reject(new ClientError('ws', socketErrorKind(error), error.message, this.url));
        }
      }
    });
  }

  /** The close code and reason once closed, else null. */
  get closed(): { code: number; reason: string } | null {
    return this.closeInfo;
  }

  private closedError(): ClientError {
    const info = this.closeInfo ?? { code: 1006, reason: '' };
    const why = info.reason === '' ? '' : ` (${info.reason})`;
    return new ClientError(
      'ws',
      info.code === 1000 ? 'closed' : `close_${info.code}`,
      `connection closed with code ${info.code}${why}`,
      this.url,
    );
  }

  /** Sends a text (string) or binary message; resolves once it is handed to the socket. */
  send(data: string | Uint8Array | object): Promise<void> {
    if (this.closeInfo !== null || this.socket.readyState !== OPEN) {
      return Promise.reject(this.closedError());
    }
    const payload =
      typeof data === 'string' || data instanceof Uint8Array ? data : JSON.stringify(data);
    this.sent++;
    return new Promise((resolve, reject) => {
      this.socket.send(payload, (error) => {
        if (error) reject(new ClientError('ws', socketErrorKind(error), error.message, this.url));
        else resolve();
      });
    });
  }

  /** The next message (a queued one at once), or kind `timeout` after `timeoutMs`. */
  receive(options: { timeoutMs?: number } = {}): Promise<WsMessage> {
    return this.nextMessage(options.timeoutMs ?? this.timeoutMs, 0);
  }

  /** Sends `data` and resolves with the next message; `roundTripMs` is send → message. */
  async request(
    data: string | Uint8Array | object,
    options: { timeoutMs?: number } = {},
  ): Promise<WsMessage> {
    const sentAt = performance.now();
    await this.send(data);
    return this.nextMessage(options.timeoutMs ?? this.timeoutMs, sentAt);
  }

  private nextMessage(timeoutMs: number, sentAt: number): Promise<WsMessage> {
    const queued = this.queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.closeInfo !== null) return Promise.reject(this.closedError());
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        since: performance.now(),
        sentAt,
        timer: setTimeout(() => {
          const i = this.waiters.indexOf(waiter);
          if (i !== -1) this.waiters.splice(i, 1);
          reject(new ClientError('ws', 'timeout', `no message within ${timeoutMs}ms`, this.url));
        }, timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  /**
   * Closes with `code` (default 1000) and resolves with the code and reason the close ended
   * with; a peer that does not answer the close within the timeout is cut off.
   */
  close(code = 1000, reason = ''): Promise<{ code: number; reason: string }> {
    if (this.closeInfo === null) {
      const s = this.socket;
      if (s.readyState === OPEN) s.close(code, reason);
      const timer = setTimeout(() => s.terminate(), this.timeoutMs);
      void this.closedPromise.then(() => clearTimeout(timer));
    }
    return this.closedPromise;
  }

  /** @internal drops the connection at once (VU end). */
  terminate(): void {
    this.socket.terminate();
  }
}

function toWsUrl(url: string, base: string | undefined): URL {
  const u = new URL(url, base);
  if (u.protocol === 'http:') u.protocol = 'ws:';
  else if (u.protocol === 'https:') u.protocol = 'wss:';
  return u;
}

/**
 * The WebSocket client of one VU (`ctx.ws`): opens connections that the VU's end closes.
 *
 * @example
 * .step('echo', async ({ ws }) => {
 *   const conn = await ws.connect('ws://localhost:8080/ws');
 *   const reply = await conn.request('ping');
 *   await conn.close();
 *   return reply.text();
 * })
 */
export class WsClient implements VuClient {
  private readonly open = new Set<WsConnection>();
  private closedFlag = false;

  constructor(private readonly env: Pick<ClientEnv, 'baseUrl' | 'headers' | 'timeoutMs'>) {}

  /** Opens a connection; rejects with kinds connect_refused, handshake_<status>, timeout, tls … */
  connect(url: string, options: WsConnectOptions = {}): Promise<WsConnection> {
    let target: URL;
    try {
      target = toWsUrl(url, this.env.baseUrl);
    } catch (error) {
      return Promise.reject(
        new ClientError('ws', 'bad_request', `invalid URL ${JSON.stringify(url)}`, url, {
          cause: error,
        }),
      );
    }
    const href = target.href;
    if (target.protocol !== 'ws:' && target.protocol !== 'wss:') {
      return Promise.reject(
        new ClientError('ws', 'bad_request', `unsupported scheme ${target.protocol}`, href),
      );
    }
    if (this.closedFlag) {
      return Promise.reject(new ClientError('ws', 'closed', 'the client was closed', href));
    }
    if (this.open.size >= MAX_WS_CONNECTIONS) {
      return Promise.reject(
        new ClientError(
          'ws',
          'too_many_connections',
          `more than ${MAX_WS_CONNECTIONS} open connections in one VU`,
          href,
        ),
      );
    }
    const timeoutMs = options.timeoutMs ?? this.env.timeoutMs;
    const start = performance.now();
    const socket = new (loadWs())(href, options.protocols ?? [], {
      headers: { ...this.env.headers, ...options.headers },
      handshakeTimeout: timeoutMs,
      maxPayload: MAX_WS_MESSAGE_BYTES,
      perMessageDeflate: false,
      ...(options.tls?.ca !== undefined ? { ca: options.tls.ca } : {}),
      ...(options.tls?.rejectUnauthorized !== undefined
        ? { rejectUnauthorized: options.tls.rejectUnauthorized }
        : {}),
    });
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (kind: string, message: string, cause?: unknown): void => {
        if (settled) return;
        settled = true;
        socket.terminate();
        reject(new ClientError('ws', kind, message, href, cause ? { cause } : undefined));
      };
      socket.once('unexpected-response', (_req, res) => {
        const status = res.statusCode ?? 0;
        res.resume();
        fail(`handshake_${status}`, `the server answered the upgrade with ${status}`);
      });
      socket.once('error', (error: Error) => {
        const kind = /timed out/i.test(error.message) ? 'timeout' : socketErrorKind(error);
        fail(kind, error.message, error);
      });
      socket.once('open', () => {
        if (settled) return;
        settled = true;
        if (this.closedFlag) {
          socket.terminate();
          reject(new ClientError('ws', 'closed', 'the client was closed', href));
          return;
        }
        const conn = new WsConnection(
          socket,
          href,
          performance.now() - start,
          timeoutMs,
          this.open,
        );
        this.open.add(conn);
        resolve(conn);
      });
    });
  }

  /** Terminates every open connection (the VU ended). */
  close(): void {
    this.closedFlag = true;
    for (const conn of this.open) conn.terminate();
    this.open.clear();
  }
}

/** Offered to steps as `ctx.ws`. */
export const wsKind = {
  name: 'ws' as const,
  create(env: ClientEnv): WsClient {
    return new WsClient(env);
  },
};
