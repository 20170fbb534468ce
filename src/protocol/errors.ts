// Owns the protocol's structured errors: the stable codes, the `error` message a node sends
// back instead of crashing, and the typed Error thrown to local callers (e.g. a failed connect).
// Never decides policy (what to close, what to retry) — callers do.

/** Stable codes carried by `{ t: 'error', code }` messages; tests and peers match on them. */
export const PROTOCOL_ERROR_CODES = [
  /** A frame's declared body size exceeded the receiver's limit (details: sizeBytes, limitBytes). */
  'frame_too_large',
  /** A frame's CRC32C did not match its body. */
  'bad_checksum',
  /** The stream ended inside a frame. */
  'truncated',
  /** The body is not a MessagePack map with a string `t`, or has trailing bytes. */
  'malformed',
  /** `t` names no registered message type (details: type). */
  'unknown_type',
  /** A field has the wrong type or shape (details: type, field, expected). */
  'schema',
  /** Protocol major versions differ (details: local, remote). */
  'version',
  'cluster_mismatch',
  'environment_mismatch',
  /** The role matrix forbids this initiator → acceptor pair (details: from, to). */
  'role_forbidden',
  /** A secure link's peer presented no certificate naming a Salvo identity. */
  'unauthenticated',
  /**
   * The hello declares another identity than the peer's certificate, or a dialled peer is not
   * the member expected at that address (details: field, declared, certified).
   */
  'identity_mismatch',
  /** An authenticated peer is not allowed to send this (e.g. Raft from a non-member). */
  'forbidden',
  /** An open connection sent no complete frame for the idle timeout (details: timeoutMs). */
  'idle_timeout',
  /** A message other than `hello` arrived before the handshake completed. */
  'handshake_required',
  /** A connection, in-flight or handler cap was hit (details: retryAfterMs, limit). */
  'over_capacity',
  'timeout',
  /** The connection closed before a reply arrived. */
  'connection_closed',
  /** A handler failed; the message says only that (no stack leaves the node). */
  'internal',
  /** A request carried a type no handler serves on this node. */
  'no_handler',
] as const;

export type ProtocolErrorCode = (typeof PROTOCOL_ERROR_CODES)[number];

const CODE_SET: ReadonlySet<string> = new Set(PROTOCOL_ERROR_CODES);

export function isProtocolErrorCode(value: unknown): value is ProtocolErrorCode {
  return typeof value === 'string' && CODE_SET.has(value);
}

/** The `error` message on the wire. `re` is the request id it answers, when there was one. */
export interface ErrorMessage {
  readonly t: 'error';
  readonly id?: number;
  readonly re?: number;
  /** A known ProtocolErrorCode, or a newer code from a peer on a later minor version. */
  readonly code: string;
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

export function errorMessage(
  code: ProtocolErrorCode,
  message: string,
  details?: Record<string, unknown>,
  re?: number,
): ErrorMessage {
  const out: {
    t: 'error';
    code: string;
    message: string;
    details?: Record<string, unknown>;
    re?: number;
  } = {
    t: 'error',
    code,
    message,
  };
  if (details !== undefined) out.details = details;
  if (re !== undefined) out.re = re;
  return out;
}

/** The local, throwable form of an ErrorMessage (for promise rejections such as connect). */
export class ProtocolError extends Error {
  readonly code: string;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: string, message: string, details: Readonly<Record<string, unknown>> = {}) {
    super(message);
    this.name = 'ProtocolError';
    this.code = code;
    this.details = details;
  }

  static fromMessage(m: ErrorMessage): ProtocolError {
    return new ProtocolError(m.code, m.message, m.details ?? {});
  }

  toMessage(re?: number): ErrorMessage {
    const out: {
      t: 'error';
      code: string;
      message: string;
      details: Record<string, unknown>;
      re?: number;
    } = {
      t: 'error',
      code: this.code,
      message: this.message,
      details: { ...this.details },
    };
    if (re !== undefined) out.re = re;
    return out;
  }
}
