// Owns the vocabulary of an RPC conversation: its default limits, the shapes of replies,
// handler contexts and results, and the options a connection is made with. Types and constants only.

import type { Logger, Timers } from '../runtime/types.js';
import { ProtocolCounters } from './counters.js';
import type { ErrorMessage } from './errors.js';
import type { RateLimitedLog } from './log-limit.js';
import type { LocalIdentity, Session } from './handshake.js';
import type { AnyMessage, MessageRegistry } from './messages.js';
import type { RpcConnection } from './rpc.js';

/** REFERENCE §2.2: request timeout 30 s. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** REFERENCE §2.2: max concurrency 4096 — outstanding requests this side may have open. */
export const DEFAULT_MAX_IN_FLIGHT = 4096;
/** Peer requests being handled at once on one connection; more get `over_capacity`. */
export const DEFAULT_MAX_CONCURRENT_HANDLERS = 1024;
/** Hint sent with `over_capacity` replies. */
export const DEFAULT_RETRY_AFTER_MS = 1_000;
/**
 * An inbound connection that delivers no complete frame for this long is closed with
 * `idle_timeout` (checked each period: silence is noticed within 1×–2× of it). Peers that keep a
 * link open send something (Raft heartbeats, pings) well within it.
 */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
/** Bad messages (malformed, unknown type, schema) one connection may send before it is closed. */
export const DEFAULT_MAX_PEER_ERRORS = 16;

/** A message as a sender builds it; `id`/`re` are filled in by the connection. */
export type OutgoingMessage = { readonly t: string } & Readonly<Record<string, unknown>>;

/** What `request` resolves to — never rejects. */
export type RpcReply =
  | { readonly ok: true; readonly message: AnyMessage }
  | { readonly ok: false; readonly error: ErrorMessage };

export type HandshakeOutcome =
  | { readonly ok: true; readonly session: Session }
  | { readonly ok: false; readonly error: ErrorMessage };

export interface RequestContext {
  readonly peer: RpcConnection;
  readonly session: Session;
  /** True when the sender expects a reply (the message had an `id`). */
  readonly isRequest: boolean;
}

/** A handler's answer: a reply message (or an ErrorMessage) for requests; ignored for notifications. */
export type HandlerResult = OutgoingMessage | ErrorMessage | undefined | void;
export type Handler<M extends AnyMessage = AnyMessage> = (
  message: M,
  ctx: RequestContext,
) => HandlerResult | Promise<HandlerResult>;
/** Handlers by message type; a server shares one table across its connections. */
export type HandlerTable = Map<string, Handler>;

export interface RpcOptions {
  readonly registry: MessageRegistry;
  readonly identity: LocalIdentity;
  readonly timers: Timers;
  readonly log?: Logger;
  /** Shared counters (a server passes its own so they aggregate per node). */
  readonly counters?: ProtocolCounters;
  /** Shared handler table; per-connection `handle` registrations take precedence. */
  readonly handlers?: HandlerTable;
  readonly maxInFlight?: number;
  readonly maxConcurrentHandlers?: number;
  readonly defaultTimeoutMs?: number;
  readonly handshakeTimeoutMs?: number;
  /** Largest body this side will send (the peer's decoder limit; same default everywhere). */
  readonly maxFrameBytes?: number;
  readonly retryAfterMs?: number;
  /** Validate outgoing messages against their schema before sending (default true). */
  readonly validateOutgoing?: boolean;
  /** Refuse a link that is not mutually authenticated (nodes not started with --insecure). */
  readonly requireAuthentication?: boolean;
  /** Dialling a known member: the node id its certificate (or, insecure, hello) must name. */
  readonly expectNodeId?: string;
  /** Inbound only: close after this long without a complete frame (0 = never). */
  readonly idleTimeoutMs?: number;
  readonly maxPeerErrors?: number;
  /** Where refusals of peers are logged (rate-limited); default: `log` unlimited. */
  readonly rejectionLog?: RateLimitedLog;
}
