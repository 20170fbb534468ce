// HTTP/2 failure naming: RST_STREAM and GOAWAY error codes and Node's http2 error codes mapped
// to stable kinds the statistics count. Pure: never touches a session.
import { constants } from 'node:http2';
import { ClientError, socketErrorKind } from '../client.js';

/** RST_STREAM / GOAWAY codes by number → the kind a reset stream is counted as. */
const RST_KINDS: ReadonlyMap<number, string> = new Map([
  [constants.NGHTTP2_PROTOCOL_ERROR, 'rst_protocol_error'],
  [constants.NGHTTP2_INTERNAL_ERROR, 'rst_internal_error'],
  [constants.NGHTTP2_FLOW_CONTROL_ERROR, 'flow_control'],
  [constants.NGHTTP2_SETTINGS_TIMEOUT, 'rst_settings_timeout'],
  [constants.NGHTTP2_STREAM_CLOSED, 'rst_stream_closed'],
  [constants.NGHTTP2_FRAME_SIZE_ERROR, 'rst_frame_size_error'],
  [constants.NGHTTP2_REFUSED_STREAM, 'rst_refused_stream'],
  [constants.NGHTTP2_CANCEL, 'rst_cancel'],
  [constants.NGHTTP2_COMPRESSION_ERROR, 'rst_compression_error'],
  [constants.NGHTTP2_CONNECT_ERROR, 'rst_connect_error'],
  [constants.NGHTTP2_ENHANCE_YOUR_CALM, 'rst_enhance_your_calm'],
  [constants.NGHTTP2_INADEQUATE_SECURITY, 'rst_inadequate_security'],
  [constants.NGHTTP2_HTTP_1_1_REQUIRED, 'rst_http_1_1_required'],
]);

/** The kind of a stream reset with `code` (never called with NO_ERROR). */
export function kindForRstCode(code: number): string {
  return RST_KINDS.get(code) ?? 'rst_unknown';
}

/** Maps an error a stream or session emitted to a kind; `goaway` when the session was drained. */
export function kindForH2Error(error: unknown, rstCode: number | undefined): string {
  const code =
    typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
  if (code === 'ERR_HTTP2_GOAWAY_SESSION') return 'goaway';
  // A stream cancelled before its session came up carries the connect failure as its cause.
  if (code === 'ERR_HTTP2_STREAM_CANCEL' && error instanceof Error && error.cause !== undefined) {
    const kind = socketErrorKind(error.cause);
    return kind === 'network' ? 'connect_failed' : kind;
  }
  if (code === 'ERR_HTTP2_STREAM_ERROR' || code === 'ERR_HTTP2_STREAM_CANCEL') {
    if (rstCode !== undefined && rstCode !== constants.NGHTTP2_NO_ERROR) {
      return kindForRstCode(rstCode);
    }
    return 'stream_reset';
  }
  if (code === 'ERR_HTTP2_SESSION_ERROR') return 'session_error';
  if (code === 'ERR_HTTP2_ERROR' || code === 'ERR_HTTP2_INVALID_SESSION') return 'session_error';
  if (code === 'ERR_HTTP2_STREAM_SELF_DEPENDENCY' || code.startsWith('ERR_HTTP2_INVALID_')) {
    return 'bad_request';
  }
  return socketErrorKind(error);
}

export function h2Error(
  kind: string,
  message: string,
  target: string,
  cause?: unknown,
): ClientError {
  return new ClientError(
    'http2',
    kind,
    message,
    target,
    cause === undefined ? undefined : { cause },
  );
}
