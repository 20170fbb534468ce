// Owns one protocol conversation over a StreamConnection (real or simulated): the hello
// exchange, request ids and timeouts, replies, notifications, dispatch to handlers, and
// structured error replies to anything bad a peer sends — counted, never thrown; a peer whose
// byte stream breaks (bad frame, budget refused, garbage) or that keeps sending bad messages gets
// an error and a close, and an idle inbound link is closed. Never opens sockets or reads the
// clock directly (only the Runtime's Timers).

import type { NodeAddress, StreamConnection, TimerHandle, FrameError } from '../runtime/types.js';
import { ProtocolCounters } from './counters.js';
import {
  errorMessage,
  isProtocolErrorCode,
  type ErrorMessage,
  type ProtocolErrorCode,
} from './errors.js';
import { MAX_FRAME_BYTES } from './framing.js';
import { evaluateHello, HANDSHAKE_TIMEOUT_MS, helloFor, type Session } from './handshake.js';
import {
  HelloDef,
  MAX_REQUEST_ID,
  type AnyMessage,
  type HelloMessage,
  type MessageDef,
  type MessageOf,
} from './messages.js';
import {
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_CONCURRENT_HANDLERS,
  DEFAULT_MAX_IN_FLIGHT,
  DEFAULT_MAX_PEER_ERRORS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_RETRY_AFTER_MS,
  type Handler,
  type HandlerResult,
  type HandlerTable,
  type HandshakeOutcome,
  type OutgoingMessage,
  type RequestContext,
  type RpcOptions,
  type RpcReply,
} from './rpc-types.js';
export * from './rpc-types.js';

interface Pending {
  readonly type: string;
  readonly resolve: (reply: RpcReply) => void;
  readonly timer: TimerHandle;
}

type State = 'handshaking' | 'open' | 'closed';

/**
 * Both sides send `hello` first: the initiator ('outbound') at once, the acceptor ('inbound')
 * after it has accepted the initiator's hello (or an `error` and close if not). Until the
 * handshake completes, anything but `hello` is answered with `handshake_required` and a close.
 * After it, a bad message is answered and the connection keeps serving (up to maxPeerErrors);
 * a broken frame stream is answered and closed.
 */
export class RpcConnection {
  readonly connection: StreamConnection;
  readonly direction: 'inbound' | 'outbound';
  readonly counters: ProtocolCounters;
  /** Resolves once: with the agreed session, or with the error that ended the handshake. */
  readonly ready: Promise<HandshakeOutcome>;

  private state: State = 'handshaking';
  private sessionValue: Session | null = null;
  private resolveReady!: (o: HandshakeOutcome) => void;
  private handshakeTimer: TimerHandle | null = null;
  /** Why the handshake failed, reported to later requests. */
  private handshakeFailure: ErrorMessage | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private activeHandlers = 0;
  /** Frames received since the idle timer was last armed. */
  private framesSinceIdleCheck = 0;
  private idleTimer: TimerHandle | null = null;
  /** Bad messages this peer has sent (malformed, unknown type, schema, before hello). */
  private peerErrors = 0;
  private readonly localHandlers: HandlerTable = new Map();
  private readonly sharedHandlers: HandlerTable | undefined;
  private readonly closeHandlers: ((reason: Error | undefined) => void)[] = [];
  private readonly peerErrorHandlers: ((error: ErrorMessage) => void)[] = [];
  private readonly opts: Required<
    Pick<
      RpcOptions,
      | 'maxInFlight'
      | 'maxConcurrentHandlers'
      | 'defaultTimeoutMs'
      | 'maxFrameBytes'
      | 'retryAfterMs'
      | 'idleTimeoutMs'
      | 'maxPeerErrors'
    >
  >;

  constructor(
    connection: StreamConnection,
    direction: 'inbound' | 'outbound',
    private readonly options: RpcOptions,
  ) {
    this.connection = connection;
    this.direction = direction;
    this.counters = options.counters ?? new ProtocolCounters();
    this.sharedHandlers = options.handlers;
    this.opts = {
      maxInFlight: options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT,
      maxConcurrentHandlers: options.maxConcurrentHandlers ?? DEFAULT_MAX_CONCURRENT_HANDLERS,
      defaultTimeoutMs: options.defaultTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      maxFrameBytes: options.maxFrameBytes ?? MAX_FRAME_BYTES,
      retryAfterMs: options.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS,
      idleTimeoutMs: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
      maxPeerErrors: options.maxPeerErrors ?? DEFAULT_MAX_PEER_ERRORS,
    };
    this.ready = new Promise<HandshakeOutcome>((resolve) => {
      this.resolveReady = resolve;
    });
    connection.onFrame((frame) => this.onFrame(frame));
    connection.onFrameError((error) => this.onFrameError(error));
    connection.onClose((reason) => this.onTransportClose(reason));
    if (connection.closed) {
      // Handed an already-closed link: settle `ready` and pending state once callers are wired.
      queueMicrotask(() => this.finalize(new Error('connection was already closed')));
      return;
    }
    this.handshakeTimer = options.timers.after(
      options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS,
      () => {
        this.handshakeTimer = null;
        if (this.state !== 'handshaking') return;
        this.counters.error('handshake_timeouts');
        this.failHandshake(
          errorMessage(
            'timeout',
            `handshake not completed within ${options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS} ms`,
            {
              timeoutMs: options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS,
            },
          ),
          true,
        );
      },
    );
    if (direction === 'outbound') this.sendRaw(helloFor(options.identity));
  }

  get session(): Session | null {
    return this.sessionValue;
  }
  get isOpen(): boolean {
    return this.state === 'open';
  }
  get isClosed(): boolean {
    return this.state === 'closed';
  }
  get inFlight(): number {
    return this.pending.size;
  }
  get remote(): NodeAddress {
    return this.connection.remote;
  }

  /** Serves `type` on this connection only (a server's table serves all its connections). */
  handle<D extends MessageDef>(def: D | string, handler: Handler<MessageOf<D>>): this {
    this.localHandlers.set(typeof def === 'string' ? def : def.type, handler as Handler);
    return this;
  }

  onClose(handler: (reason: Error | undefined) => void): void {
    this.closeHandlers.push(handler);
  }

  /** Errors a peer reported that answer no pending request (e.g. about a frame we sent). */
  onPeerError(handler: (error: ErrorMessage) => void): void {
    this.peerErrorHandlers.push(handler);
  }

  /**
   * Sends `message` as a request and resolves with the reply, or with a structured error:
   * `timeout`, `connection_closed`, `over_capacity` (too many in flight here), `frame_too_large`,
   * the peer's own error reply, or the handshake's failure. Never rejects.
   */
  async request(message: OutgoingMessage, options: { timeoutMs?: number } = {}): Promise<RpcReply> {
    if (this.state === 'handshaking') {
      const outcome = await this.ready;
      if (!outcome.ok) return { ok: false, error: outcome.error };
    }
    if (this.state === 'closed') {
      if (this.handshakeFailure !== null) return { ok: false, error: this.handshakeFailure };
      return {
        ok: false,
        error: errorMessage('connection_closed', `connection to ${this.peerName()} is closed`, {
          type: message.t,
        }),
      };
    }
    if (this.pending.size >= this.opts.maxInFlight) {
      this.counters.error('in_flight_rejected');
      return {
        ok: false,
        error: errorMessage(
          'over_capacity',
          `${this.pending.size} requests already in flight to ${this.peerName()}`,
          {
            limit: this.opts.maxInFlight,
            retryAfterMs: this.opts.retryAfterMs,
          },
        ),
      };
    }
    const id = this.allocateId();
    const timeoutMs = options.timeoutMs ?? this.opts.defaultTimeoutMs;
    const bytes = this.encode({ ...message, id, re: undefined });
    if (!bytes.ok) return { ok: false, error: bytes.error };
    return new Promise<RpcReply>((resolve) => {
      const timer = this.options.timers.after(timeoutMs, () => {
        if (this.pending.get(id)?.timer !== timer) return;
        this.pending.delete(id);
        this.counters.error('timeouts');
        resolve({
          ok: false,
          error: errorMessage(
            'timeout',
            `no reply to "${message.t}" from ${this.peerName()} within ${timeoutMs} ms`,
            {
              type: message.t,
              timeoutMs,
            },
          ),
        });
      });
      this.pending.set(id, { type: message.t, resolve, timer });
      this.counters.inc('requests_sent');
      if (!this.sendBytes(bytes.bytes)) {
        this.pending.delete(id);
        timer.cancel();
        resolve({
          ok: false,
          error: errorMessage('connection_closed', `connection to ${this.peerName()} is closed`, {
            type: message.t,
          }),
        });
      }
    });
  }

  /** Sends a notification (no reply expected). False if not open or not sendable. */
  notify(message: OutgoingMessage): boolean {
    if (this.state !== 'open') return false;
    const bytes = this.encode({ ...message, id: undefined, re: undefined });
    if (!bytes.ok) return false;
    this.counters.inc('notifications_sent');
    return this.sendBytes(bytes.bytes);
  }

  /** Closes the connection; pending requests resolve with `connection_closed`. */
  close(): void {
    if (this.state === 'closed') return;
    this.connection.close();
    this.finalize(undefined);
  }

  // ─── Receiving ────────────────────────────────────────────────────────────────────────────

  /**
   * A broken byte stream cannot be trusted to resynchronise (garbage after the hello looks like
   * a frame header declaring gigabytes): answer with a structured error, then close.
   */
  private onFrameError(error: FrameError): void {
    this.counters.error(`frame_errors.${error.kind}`);
    if (this.state === 'closed') return;
    let reply: ErrorMessage;
    if (error.kind === 'oversized') {
      reply = errorMessage('frame_too_large', error.message, {
        sizeBytes: error.sizeBytes,
        limitBytes: error.limitBytes,
      });
    } else if (error.kind === 'checksum') {
      reply = errorMessage('bad_checksum', error.message, { sizeBytes: error.sizeBytes });
    } else if (error.kind === 'over_budget') {
      reply = errorMessage('over_capacity', error.message, {
        sizeBytes: error.sizeBytes,
        retryAfterMs: this.opts.retryAfterMs,
      });
    } else {
      // 'truncated' arrives as the stream ends: nobody is left to answer.
      return;
    }
    this.refusePeer(reply, 'broken frame stream');
  }

  /** Logs (rate-limited), answers with `e`, ends a handshake in progress, and closes. */
  private refusePeer(e: ErrorMessage, why: string): void {
    this.logRejection(why, e);
    if (this.state === 'handshaking') {
      this.failHandshake(e, true);
      return;
    }
    this.sendError(e);
    this.close();
  }

  private logRejection(why: string, e: ErrorMessage): void {
    const fields = {
      peer: this.peerName(),
      remote: `${this.connection.remote.host}:${this.connection.remote.port}`,
      code: e.code,
      message: e.message,
    };
    if (this.options.rejectionLog !== undefined)
      this.options.rejectionLog.write('warn', why, fields);
    else this.options.log?.log('warn', why, fields);
  }

  private onFrame(frame: Uint8Array): void {
    if (this.state === 'closed') return;
    this.counters.inc('frames_in');
    this.framesSinceIdleCheck++;
    const decoded = this.options.registry.decode(frame);
    if (!decoded.ok) {
      const e = decoded.error;
      this.counters.error(`decode_errors.${e.code}`);
      if (this.state === 'handshaking' || ++this.peerErrors > this.opts.maxPeerErrors) {
        // Garbage instead of a hello, or a peer that keeps sending bad messages.
        this.counters.error('peers_closed_for_errors');
        this.refusePeer(e, 'closing a connection that sent bad messages');
        return;
      }
      // Never answer a broken error message with another error (no ping-pong of errors).
      if (e.details?.type !== 'error') this.sendError(e);
      return;
    }
    const m = decoded.message;
    if (m.t === 'error') {
      this.onPeerErrorMessage(m as unknown as ErrorMessage);
      return;
    }
    if (m.t === HelloDef.type) {
      this.onHello(m as HelloMessage);
      return;
    }
    if (this.state === 'handshaking') {
      this.counters.error('before_handshake');
      this.refusePeer(
        errorMessage(
          'handshake_required',
          `"${m.t}" before hello: send hello first`,
          { type: m.t },
          m.id,
        ),
        'message before hello',
      );
      return;
    }
    if (m.re !== undefined) {
      this.onReply(m.re, { ok: true, message: m });
      return;
    }
    this.dispatch(m);
  }

  private onPeerErrorMessage(e: ErrorMessage): void {
    const code = isProtocolErrorCode(e.code) ? e.code : 'other';
    this.counters.error(`errors_received.${code}`);
    if (e.re !== undefined && this.pending.has(e.re)) {
      this.onReply(e.re, { ok: false, error: e });
      return;
    }
    if (this.state === 'handshaking' && this.direction === 'outbound') {
      // The acceptor refused us (version, cluster, role, capacity …): that ends the handshake.
      this.failHandshake(e, false);
      return;
    }
    this.options.log?.log('debug', 'peer reported an error', {
      peer: this.peerName(),
      code: e.code,
      message: e.message,
    });
    for (const h of this.peerErrorHandlers) h(e);
  }

  private onHello(hello: HelloMessage): void {
    if (this.state !== 'handshaking') {
      this.counters.error('duplicate_hello');
      this.sendError(
        errorMessage(
          'malformed',
          'duplicate hello after the handshake completed',
          { type: 'hello' },
          hello.id,
        ),
      );
      return;
    }
    const verdict = evaluateHello(this.options.identity, hello, this.direction, {
      secure: this.connection.secure === true,
      certified: this.connection.peerIdentity ?? null,
      required: this.options.requireAuthentication === true,
      ...(this.options.expectNodeId !== undefined
        ? { expectNodeId: this.options.expectNodeId }
        : {}),
    });
    if (!verdict.ok) {
      this.counters.error(`handshake_rejected.${verdict.error.code}`);
      this.logRejection(`handshake rejected (hello declared ${hello.nodeId})`, verdict.error);
      this.failHandshake(verdict.error, true);
      return;
    }
    if (this.direction === 'inbound') this.sendRaw(helloFor(this.options.identity));
    this.state = 'open';
    this.sessionValue = verdict.session;
    this.handshakeTimer?.cancel();
    this.handshakeTimer = null;
    if (this.direction === 'inbound') this.armIdleTimer();
    this.counters.inc('handshakes');
    this.resolveReady({ ok: true, session: verdict.session });
  }

  private onReply(re: number, reply: RpcReply): void {
    const p = this.pending.get(re);
    if (p === undefined) {
      this.counters.error('late_replies');
      return;
    }
    this.pending.delete(re);
    p.timer.cancel();
    this.counters.inc('replies_received');
    p.resolve(reply);
  }

  private dispatch(m: AnyMessage): void {
    const isRequest = m.id !== undefined;
    const handler =
      this.localHandlers.get(m.t) ??
      this.sharedHandlers?.get(m.t) ??
      (m.t === 'ping' ? this.pingHandler : undefined);
    if (handler === undefined) {
      if (isRequest) {
        this.counters.error('no_handler');
        this.sendError(
          errorMessage('no_handler', `this node does not serve "${m.t}"`, { type: m.t }, m.id),
        );
      } else {
        this.counters.error('unhandled_notifications');
      }
      return;
    }
    if (this.activeHandlers >= this.opts.maxConcurrentHandlers) {
      if (isRequest) {
        this.counters.error('handlers_over_capacity');
        this.sendError(
          errorMessage(
            'over_capacity',
            `${this.activeHandlers} requests already being handled`,
            {
              limit: this.opts.maxConcurrentHandlers,
              retryAfterMs: this.opts.retryAfterMs,
            },
            m.id,
          ),
        );
      } else {
        this.counters.error('notifications_shed');
      }
      return;
    }
    const ctx: RequestContext = { peer: this, session: this.sessionValue!, isRequest };
    this.counters.inc(isRequest ? 'requests_received' : 'notifications_received');
    let result: HandlerResult | Promise<HandlerResult>;
    try {
      result = handler(m, ctx);
    } catch (err) {
      this.onHandlerFailure(m, err);
      return;
    }
    if (result instanceof Promise) {
      this.activeHandlers++;
      result.then(
        (r) => {
          this.activeHandlers--;
          this.finishHandler(m, r);
        },
        (err: unknown) => {
          this.activeHandlers--;
          this.onHandlerFailure(m, err);
        },
      );
    } else {
      this.finishHandler(m, result);
    }
  }

  private readonly pingHandler: Handler = () => ({
    t: 'pong',
    nodeId: this.options.identity.nodeId,
  });

  private finishHandler(m: AnyMessage, result: HandlerResult): void {
    if (m.id === undefined || this.state === 'closed') return;
    if (result === undefined) {
      this.counters.error('handler_no_reply');
      this.sendError(
        errorMessage('internal', `handler for "${m.t}" produced no reply`, { type: m.t }, m.id),
      );
      return;
    }
    if (result.t === 'error') {
      this.sendError({ ...(result as ErrorMessage), re: m.id });
      return;
    }
    const bytes = this.encode({ ...result, id: undefined, re: m.id });
    if (!bytes.ok) {
      // Our own reply is broken or too big: tell the peer instead of leaving it to time out.
      this.sendError({ ...bytes.error, re: m.id });
      return;
    }
    this.sendBytes(bytes.bytes);
  }

  private onHandlerFailure(m: AnyMessage, err: unknown): void {
    this.counters.error('handler_failures');
    this.options.log?.log('error', 'handler failed', {
      type: m.t,
      peer: this.peerName(),
      error: err instanceof Error ? (err.stack ?? err.message) : String(err),
    });
    if (m.id !== undefined)
      this.sendError(errorMessage('internal', `handler for "${m.t}" failed`, { type: m.t }, m.id));
  }

  // ─── Sending ──────────────────────────────────────────────────────────────────────────────

  private encode(
    message: Record<string, unknown> & { t: string },
  ): { ok: true; bytes: Uint8Array } | { ok: false; error: ErrorMessage } {
    const clean: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(message)) if (v !== undefined) clean[k] = v;
    const out = this.options.registry.encode(clean as AnyMessage, {
      validate: this.options.validateOutgoing !== false,
    });
    if (!out.ok) {
      this.counters.error('encode_errors');
      this.options.log?.log('error', 'refusing to send an invalid message', {
        type: message.t,
        error: out.error.message,
      });
      return out;
    }
    if (out.bytes.length > this.opts.maxFrameBytes) {
      this.counters.error('send_too_large');
      return {
        ok: false,
        error: errorMessage(
          'frame_too_large',
          `"${message.t}" encodes to ${out.bytes.length} bytes, over the ${this.opts.maxFrameBytes}-byte frame limit`,
          {
            type: message.t,
            sizeBytes: out.bytes.length,
            limitBytes: this.opts.maxFrameBytes,
          },
        ),
      };
    }
    return out;
  }

  private sendBytes(bytes: Uint8Array): boolean {
    const sent = this.connection.send(bytes);
    if (sent) this.counters.inc('frames_out');
    return sent;
  }

  private sendRaw(message: OutgoingMessage): boolean {
    const bytes = this.encode({ ...message });
    return bytes.ok && this.sendBytes(bytes.bytes);
  }

  /** Sends an error reply and counts it under errors_sent.<code> (the cause is counted by the caller). */
  private sendError(e: ErrorMessage): void {
    const code: ProtocolErrorCode | 'other' = isProtocolErrorCode(e.code) ? e.code : 'other';
    this.counters.inc(`errors_sent.${code}`);
    this.sendErrorRaw(e);
  }

  private sendErrorRaw(e: ErrorMessage): void {
    if (this.state === 'closed') return;
    const bytes = this.encode({ ...e });
    if (bytes.ok) {
      this.sendBytes(bytes.bytes);
      return;
    }
    // Too big (tiny frame limit) or unencodable details: the code and request id still go out.
    const minimal: Record<string, unknown> & { t: string } = {
      t: 'error',
      code: e.code,
      message: '',
    };
    if (e.re !== undefined) minimal.re = e.re;
    const fallback = this.encode(minimal);
    if (fallback.ok) this.sendBytes(fallback.bytes);
  }

  // ─── Lifecycle ────────────────────────────────────────────────────────────────────────────

  private armIdleTimer(): void {
    const idleMs = this.opts.idleTimeoutMs;
    if (idleMs <= 0 || this.state !== 'open') return;
    this.framesSinceIdleCheck = 0;
    this.idleTimer = this.options.timers.after(idleMs, () => {
      this.idleTimer = null;
      if (this.state !== 'open') return;
      if (this.framesSinceIdleCheck > 0) {
        this.armIdleTimer();
        return;
      }
      this.counters.error('idle_timeouts');
      this.refusePeer(
        errorMessage('idle_timeout', `no complete frame within ${idleMs} ms; closing`, {
          timeoutMs: idleMs,
        }),
        'closing an idle connection',
      );
    });
  }

  private failHandshake(error: ErrorMessage, tellPeer: boolean): void {
    if (this.state !== 'handshaking') return;
    this.handshakeFailure = error;
    if (tellPeer) this.sendError(error);
    this.resolveReady({ ok: false, error });
    this.close();
  }

  private onTransportClose(reason: Error | undefined): void {
    this.finalize(reason);
  }

  private finalize(reason: Error | undefined): void {
    if (this.state === 'closed') return;
    const wasHandshaking = this.state === 'handshaking';
    this.state = 'closed';
    this.handshakeTimer?.cancel();
    this.handshakeTimer = null;
    this.idleTimer?.cancel();
    this.idleTimer = null;
    if (wasHandshaking) {
      this.resolveReady({
        ok: false,
        error: errorMessage(
          'connection_closed',
          `connection to ${this.peerName()} closed during the handshake${reason ? `: ${reason.message}` : ''}`,
        ),
      });
    }
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) {
      p.timer.cancel();
      p.resolve({
        ok: false,
        error: errorMessage(
          'connection_closed',
          `connection to ${this.peerName()} closed before "${p.type}" was answered${reason ? `: ${reason.message}` : ''}`,
          { type: p.type },
        ),
      });
    }
    for (const h of this.closeHandlers) h(reason);
  }

  private allocateId(): number {
    for (;;) {
      const id = this.nextId;
      this.nextId = id >= MAX_REQUEST_ID ? 1 : id + 1;
      if (!this.pending.has(id)) return id;
    }
  }

  private peerName(): string {
    return (
      this.sessionValue?.remoteNodeId ??
      `${this.connection.remote.host}:${this.connection.remote.port}`
    );
  }
}
