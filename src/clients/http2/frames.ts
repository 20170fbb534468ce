// HTTP/2 frame constants (RFC 9113 §6, §7, §11) and the writer that appends client frames to
// one growing output buffer the connection's shell flushes. Pure bytes; never touches a socket.

export const FRAME_HEADER_BYTES = 9;
export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;
export const Flag = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;
export const Setting = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;
/** Error codes (RFC 9113 §7). */
export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;

export const CLIENT_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
/** The default and smallest SETTINGS_MAX_FRAME_SIZE; the largest legal one. */
export const DEFAULT_MAX_FRAME_BYTES = 16_384;
export const LARGEST_FRAME_BYTES = 16_777_215;
/** Flow-control windows start at this and never exceed 2^31 − 1 (RFC 9113 §6.9). */
export const DEFAULT_WINDOW_BYTES = 65_535;
export const MAX_WINDOW_BYTES = 0x7fffffff;

/** Copies `src[start, end)` to `dst` at `at` without making a view of `src`. */
function copyInto(src: Uint8Array, start: number, end: number, dst: Buffer, at: number): void {
  if (Buffer.isBuffer(src)) src.copy(dst, at, start, end);
  else dst.set(src.subarray(start, end), at);
}

/** Appends frames to `buf[0, len)`; the shell takes the bytes with `take()`. */
export class FrameWriter {
  buf: Buffer = Buffer.allocUnsafe(16_384);
  len = 0;

  get empty(): boolean {
    return this.len === 0;
  }

  /** The bytes written so far, in a buffer the writer no longer touches. */
  take(): Buffer {
    const out = Buffer.allocUnsafe(this.len);
    this.buf.copy(out, 0, 0, this.len);
    this.len = 0;
    return out;
  }

  raw(bytes: Uint8Array): void {
    this.room(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
  }

  header(length: number, type: number, flags: number, streamId: number): void {
    this.room(FRAME_HEADER_BYTES + length);
    const b = this.buf;
    let p = this.len;
    b[p++] = (length >>> 16) & 0xff;
    b[p++] = (length >>> 8) & 0xff;
    b[p++] = length & 0xff;
    b[p++] = type;
    b[p++] = flags;
    b.writeUInt32BE(streamId & 0x7fffffff, p);
    this.len = p + 4;
  }

  /** HEADERS plus CONTINUATION frames carrying `block[0, blockLen)`. */
  headers(
    streamId: number,
    block: Uint8Array,
    blockLen: number,
    endStream: boolean,
    maxFrame: number,
  ): void {
    let at = 0;
    let type: number = FrameType.HEADERS;
    let flags = endStream ? Flag.END_STREAM : 0;
    for (;;) {
      const n = Math.min(maxFrame, blockLen - at);
      const last = at + n === blockLen;
      this.header(n, type, flags | (last ? Flag.END_HEADERS : 0), streamId);
      copyInto(block, at, at + n, this.buf, this.len);
      this.len += n;
      at += n;
      if (last) return;
      type = FrameType.CONTINUATION;
      flags = 0;
    }
  }

  data(streamId: number, bytes: Uint8Array, start: number, end: number, endStream: boolean): void {
    this.header(end - start, FrameType.DATA, endStream ? Flag.END_STREAM : 0, streamId);
    copyInto(bytes, start, end, this.buf, this.len);
    this.len += end - start;
  }

  settings(values: readonly (readonly [number, number])[]): void {
    this.header(values.length * 6, FrameType.SETTINGS, 0, 0);
    for (const [id, value] of values) {
      this.buf.writeUInt16BE(id, this.len);
      this.buf.writeUInt32BE(value, this.len + 2);
      this.len += 6;
    }
  }

  settingsAck(): void {
    this.header(0, FrameType.SETTINGS, Flag.ACK, 0);
  }

  pingAck(payload: Uint8Array): void {
    this.header(8, FrameType.PING, Flag.ACK, 0);
    this.buf.set(payload, this.len);
    this.len += 8;
  }

  windowUpdate(streamId: number, increment: number): void {
    this.header(4, FrameType.WINDOW_UPDATE, 0, streamId);
    this.buf.writeUInt32BE(increment, this.len);
    this.len += 4;
  }

  rstStream(streamId: number, code: number): void {
    this.header(4, FrameType.RST_STREAM, 0, streamId);
    this.buf.writeUInt32BE(code, this.len);
    this.len += 4;
  }

  goaway(lastStreamId: number, code: number): void {
    this.header(8, FrameType.GOAWAY, 0, 0);
    this.buf.writeUInt32BE(lastStreamId, this.len);
    this.buf.writeUInt32BE(code, this.len + 4);
    this.len += 8;
  }

  private room(bytes: number): void {
    if (this.len + bytes <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + bytes));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }
}
