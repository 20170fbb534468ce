// The HTTP/1.1 client's single error type and the mapping from socket, DNS and TLS error codes
// to a stable `HttpErrorKind`. Pure: it never touches a socket and never throws.
import { SalvoError } from '../../errors.js';
import type { HttpTimings } from './response.js';

export type HttpErrorKind =
  | 'connect_refused'
  | 'connection_reset'
  | 'connection_closed'
  | 'timeout'
  | 'connect_timeout'
  | 'dns'
  | 'tls'
  | 'bad_response'
  | 'bad_request'
  | 'queue_full'
  | 'too_many_redirects'
  | 'network';

/** The only error `HttpClient` rejects with (code `E_HTTP`). */
export class HttpError extends SalvoError {
  readonly kind: HttpErrorKind;
  readonly url: string;
  readonly method: string;
  /** What was measured before the failure; phases that never happened are 0. */
  readonly timings: HttpTimings;
  constructor(
    kind: HttpErrorKind,
    message: string,
    method: string,
    url: string,
    timings: HttpTimings,
    options?: { cause?: unknown },
  ) {
    super('E_HTTP', `${kind}: ${message} (${method} ${url})`, options);
    this.kind = kind;
    this.url = url;
    this.method = method;
    this.timings = timings;
  }
}

/** Timings of a request that measured nothing (failed before it reached a socket). */
export function zeroTimings(): HttpTimings {
  return {
    dnsMs: 0,
    connectMs: 0,
    tlsMs: 0,
    sendMs: 0,
    waitMs: 0,
    receiveMs: 0,
    ttfbMs: 0,
    totalMs: 0,
    reused: false,
  };
}

/** Where a connection was when its socket failed. */
export type SocketPhase = 'connect' | 'tls' | 'request';

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'EAI_NODATA']);

/** The error code of a thrown socket error, or '' when it has none. */
export function errorCode(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = error.code;
    if (typeof code === 'string') return code;
  }
  return '';
}

function isTlsCode(code: string): boolean {
  return (
    code.startsWith('ERR_SSL_') ||
    code.startsWith('ERR_TLS_') ||
    code.startsWith('CERT_') ||
    code.includes('_CERT') ||
    code === 'EPROTO' ||
    code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' ||
    code === 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' ||
    code === 'HOSTNAME_MISMATCH'
  );
}

/** Maps a socket-level failure (or a clean close when `error` is null) to an error kind. */
export function kindForSocketError(error: unknown, phase: SocketPhase): HttpErrorKind {
  const code = errorCode(error);
  if (DNS_CODES.has(code)) return 'dns';
  if (code === 'ECONNREFUSED') return 'connect_refused';
  // Everything that goes wrong during the TLS handshake is a TLS failure (a plain-HTTP server
  // answering a ClientHello shows up as a reset, a close or "wrong version number").
  if (phase === 'tls' || isTlsCode(code)) return 'tls';
  if (code === 'ETIMEDOUT') return phase === 'connect' ? 'connect_timeout' : 'timeout';
  if (code === 'ECONNRESET' || code === 'EPIPE') return 'connection_reset';
  if (error === null || error === undefined) return 'connection_closed';
  return 'network';
}
