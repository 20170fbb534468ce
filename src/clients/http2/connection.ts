// The client side of one HTTP/2 connection as a sans-I/O state machine (RFC 9113): bytes from
// the peer go in (`receive`), frames to send come out through a FrameWriter the shell flushes,
// and stream events go to the stream objects. Owns stream ids, SETTINGS, flow-control windows
// both ways, PING, GOAWAY, RST_STREAM, HPACK state and the connection errors it must raise.
// Never touches a socket, a timer or the clock. Hand-written rather than node:http2 because
// this is the hot path: node:http2 costs a Duplex stream, several closures and emitters per
// request, which caps a Node client far below the peers the bench compares with.
import { HpackDecoder, HpackEncoder, HpackError } from './hpack.js';
import { StreamTable } from './streams.js';
import {
  CLIENT_PREFACE,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_WINDOW_BYTES,
  ErrorCode,
  FRAME_HEADER_BYTES,
  Flag,
  FrameType,
  FrameWriter,
  LARGEST_FRAME_BYTES,
  MAX_WINDOW_BYTES,
  Setting,
} from './frames.js';

/** The receive window this client gives each stream (SETTINGS_INITIAL_WINDOW_SIZE). */
export const STREAM_WINDOW_BYTES = 1 << 20;
/** The connection's receive window (raised by a WINDOW_UPDATE right after the preface). */
export const CONNECTION_WINDOW_BYTES = 16 << 20;
/** A header block (HEADERS + CONTINUATION) above this fails the connection. */
export const MAX_HEADER_BLOCK_BYTES = 256 * 1024;
/** The largest stream id a client may open. */
const MAX_STREAM_ID = 0x7fffffff;

/**
 * What the connection knows of one request stream. The request object extends it, so a
 * stream costs no allocation beyond the request itself.
 */
export abstract class H2Stream {
  streamId = 0;
  /** Bytes this side may still send on the stream (peer's window). */
  sendWindow = 0;
  /** Bytes the peer may still send before this side's WINDOW_UPDATE. */
  recvWindow = 0;
  /** Bytes consumed since the last stream WINDOW_UPDATE. */
  recvConsumed = 0;
  /** Request body still to send, from `bodyAt`. */
  body: Uint8Array | null = null;
  bodyAt = 0;
  localEnded = false;
  remoteEnded = false;
  /** A final (non-1xx) response head arrived. */
  headed = false;

  /** The final response head: `:status`, and its fields [name, value, …] (`:status` first). */
  abstract onHead(status: number, headers: string[]): void;
  /** Body bytes `b[start, end)` of the read buffer, valid only during the call: copy what is kept. */
  abstract onData(b: Buffer, start: number, end: number): void;
  /** The peer ended the stream after a final head. */
  abstract onEnd(): void;
  /** RST_STREAM from the peer, or a stream error this side raised (`local`). */
  abstract onReset(code: number, local: boolean): void;
  /** The connection failed or closed under the stream. */
  abstract onConnectionLost(kind: string, message: string): void;
}

export interface ConnectionEvents {
  /** Output is waiting in `writer`: flush it soon (once per batch). */
  onOutput(): void;
  /** The peer's SETTINGS arrived (its stream limit may have changed). */
  onSettings(maxConcurrentStreams: number | undefined): void;
  /** A stream closed: a slot is free. */
  onStreamClosed(): void;
  /** GOAWAY received: no new streams here. */
  onGoaway(code: number): void;
  /** A connection error: GOAWAY was queued, every stream failed; close the socket after flushing. */
  onFatal(kind: string, message: string): void;
}

/** A connection error this side detected: its GOAWAY code, the kind streams fail with. */
const FATAL_KIND: Record<number, string> = {
  [ErrorCode.PROTOCOL_ERROR]: 'protocol_error',
  [ErrorCode.FLOW_CONTROL_ERROR]: 'flow_control',
  [ErrorCode.FRAME_SIZE_ERROR]: 'frame_size_error',
  [ErrorCode.COMPRESSION_ERROR]: 'compression_error',
};

export class H2Connection {
  readonly writer = new FrameWriter();
  readonly encoder = new HpackEncoder();
  private readonly decoder = new HpackDecoder();
  private readonly streams = new StreamTable();
  /** Streams with body bytes waiting for window. */
  private readonly blocked = new Set<H2Stream>();
  private nextStreamId = 1;
  private sendWindow = DEFAULT_WINDOW_BYTES;
  private recvWindow = CONNECTION_WINDOW_BYTES;
  private recvConsumed = 0;
  private peerInitialWindow = DEFAULT_WINDOW_BYTES;
  private peerMaxFrame = DEFAULT_MAX_FRAME_BYTES;
  private sawSettings = false;
  /** Unparsed bytes from the last `receive`. */
  private pending: Buffer | null = null;
  /** A header block spread over CONTINUATION frames. */
  private contStream = 0;
  private contParts: Buffer[] = [];
  private contBytes = 0;
  private contEndStream = false;
  goaway = false;
  dead = false;

  constructor(private readonly events: ConnectionEvents) {
    this.writer.raw(CLIENT_PREFACE);
    this.writer.settings([
      [Setting.ENABLE_PUSH, 0],
      [Setting.INITIAL_WINDOW_SIZE, STREAM_WINDOW_BYTES],
    ]);
    this.writer.windowUpdate(0, CONNECTION_WINDOW_BYTES - DEFAULT_WINDOW_BYTES);
  }

  get activeStreams(): number {
    return this.streams.size;
  }

  /** No more stream ids on this connection. */
  get exhausted(): boolean {
    return this.nextStreamId > MAX_STREAM_ID;
  }

  /**
   * Opens `stream` with `block`, or else the header block the caller wrote into `encoder`
   * (then reset), and
   * its body, if any, under flow control.
   */
  open(stream: H2Stream, body: Uint8Array | null, block?: Buffer): void {
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    stream.streamId = id;
    stream.sendWindow = this.peerInitialWindow;
    stream.recvWindow = STREAM_WINDOW_BYTES;
    stream.recvConsumed = 0;
    stream.remoteEnded = false;
    stream.headed = false;
    const hasBody = body !== null && body.length > 0;
    stream.localEnded = !hasBody;
    stream.body = hasBody ? body : null;
    stream.bodyAt = 0;
    this.streams.set(id, stream);
    if (block !== undefined) {
      this.writer.headers(id, block, block.length, !hasBody, this.peerMaxFrame);
    } else {
      this.writer.headers(id, this.encoder.buf, this.encoder.len, !hasBody, this.peerMaxFrame);
      this.encoder.reset();
    }
    if (hasBody) this.pump(stream);
    this.events.onOutput();
  }

  /** Resets a stream this side gives up on (timeout, body too large, client closed). */
  cancel(stream: H2Stream, code: number = ErrorCode.CANCEL): void {
    if (this.streams.get(stream.streamId) !== stream) return;
    this.forget(stream);
    if (!this.dead) {
      this.writer.rstStream(stream.streamId, code);
      this.events.onOutput();
    }
  }

  /** The socket closed or failed: every open stream fails with `kind`. */
  lost(kind: string, message: string): void {
    this.dead = true;
    const open = this.streams.values();
    this.streams.clear();
    this.blocked.clear();
    for (const s of open) s.onConnectionLost(kind, message);
  }

  /** Bytes from the peer; `chunk` is only read during the call (the shell may reuse it). */
  receive(chunk: Buffer): void {
    if (this.dead) return;
    let p = 0;
    if (this.pending !== null) {
      // Complete the one partial frame with as few bytes of `chunk` as it needs, so a large
      // read is never copied whole.
      p = this.completePending(chunk);
      if (p < 0) return;
    }
    this.parse(chunk, p);
    if (!this.writer.empty) this.events.onOutput();
  }

  /** Bytes of `chunk` used to finish the pending frame (parsed), or -1 when still partial. */
  private completePending(chunk: Buffer): number {
    let head = this.pending as Buffer;
    let used = 0;
    if (head.length < FRAME_HEADER_BYTES) {
      used = Math.min(FRAME_HEADER_BYTES - head.length, chunk.length);
      head = Buffer.concat([head, chunk.subarray(0, used)]);
      if (head.length < FRAME_HEADER_BYTES) {
        this.pending = head;
        return -1;
      }
    }
    const total =
      FRAME_HEADER_BYTES + (((head[0] ?? 0) << 16) | ((head[1] ?? 0) << 8) | (head[2] ?? 0));
    if (total - FRAME_HEADER_BYTES > DEFAULT_MAX_FRAME_BYTES) {
      this.fatal(ErrorCode.FRAME_SIZE_ERROR, `a frame of ${total - FRAME_HEADER_BYTES} bytes`);
      return -1;
    }
    const take = Math.min(total - head.length, chunk.length - used);
    const frame = Buffer.concat([head, chunk.subarray(used, used + take)]);
    used += take;
    if (frame.length < total) {
      this.pending = frame;
      return -1;
    }
    this.pending = null;
    this.parse(frame, 0);
    return used;
  }

  /** Parses whole frames of `buf` from `p`; keeps a trailing partial frame as `pending`. */
  private parse(buf: Buffer, p: number): void {
    const end = buf.length;
    while (!this.dead && end - p >= FRAME_HEADER_BYTES) {
      const length = ((buf[p] ?? 0) << 16) | ((buf[p + 1] ?? 0) << 8) | (buf[p + 2] ?? 0);
      if (length > DEFAULT_MAX_FRAME_BYTES) {
        return this.fatal(ErrorCode.FRAME_SIZE_ERROR, `a frame of ${length} bytes`);
      }
      if (end - p < FRAME_HEADER_BYTES + length) break;
      const type = buf[p + 3] ?? 0;
      const flags = buf[p + 4] ?? 0;
      const id = buf.readUInt32BE(p + 5) & 0x7fffffff;
      const start = p + FRAME_HEADER_BYTES;
      p = start + length;
      this.frame(type, flags, id, buf, start, p);
    }
    // Copied: `receive` may be handed a read buffer the socket reuses.
    if (!this.dead && p < end) this.pending = Buffer.from(buf.subarray(p));
  }

  private frame(type: number, flags: number, id: number, b: Buffer, s: number, e: number): void {
    if (this.contStream !== 0 && type !== FrameType.CONTINUATION) {
      return this.fatal(ErrorCode.PROTOCOL_ERROR, 'a frame interrupted a header block');
    }
    if (!this.sawSettings && (type !== FrameType.SETTINGS || (flags & Flag.ACK) !== 0)) {
      return this.fatal(ErrorCode.PROTOCOL_ERROR, 'the server preface is not a SETTINGS frame');
    }
    switch (type) {
      case FrameType.DATA:
        return this.onDataFrame(flags, id, b, s, e);
      case FrameType.HEADERS:
        return this.onHeadersFrame(flags, id, b, s, e);
      case FrameType.CONTINUATION:
        return this.onContinuation(flags, id, b, s, e);
      case FrameType.RST_STREAM:
        return this.onRstStream(id, b, s, e);
      case FrameType.SETTINGS:
        return this.onSettingsFrame(flags, id, b, s, e);
      case FrameType.PING:
        if (id !== 0) return this.fatal(ErrorCode.PROTOCOL_ERROR, 'PING on a stream');
        if (e - s !== 8) return this.fatal(ErrorCode.FRAME_SIZE_ERROR, 'PING not 8 bytes');
        if ((flags & Flag.ACK) === 0) this.writer.pingAck(b.subarray(s, e));
        return;
      case FrameType.GOAWAY:
        return this.onGoawayFrame(id, b, s, e);
      case FrameType.WINDOW_UPDATE:
        return this.onWindowUpdate(id, b, s, e);
      case FrameType.PUSH_PROMISE:
        return this.fatal(ErrorCode.PROTOCOL_ERROR, 'PUSH_PROMISE with push disabled');
      case FrameType.PRIORITY:
        if (id === 0) return this.fatal(ErrorCode.PROTOCOL_ERROR, 'PRIORITY on stream 0');
        if (e - s !== 5) this.streamError(id, ErrorCode.FRAME_SIZE_ERROR);
        return;
      default:
        return; // unknown frame types are ignored (RFC 9113 §4.1)
    }
  }

  /** Strips padding: [start, end) of the payload, or -1 when the padding is too long. */
  private unpad(flags: number, b: Buffer, s: number, e: number): number {
    if ((flags & Flag.PADDED) === 0) return e;
    if (e - s < 1) return -1;
    const pad = b[s] ?? 0;
    return e - pad > s ? e - pad : -1;
  }

  private onDataFrame(flags: number, id: number, b: Buffer, s: number, e: number): void {
    if (id === 0) return this.fatal(ErrorCode.PROTOCOL_ERROR, 'DATA on stream 0');
    const length = e - s;
    if (length > this.recvWindow) {
      return this.fatal(ErrorCode.FLOW_CONTROL_ERROR, 'DATA beyond the connection window');
    }
    this.recvWindow -= length;
    this.recvConsumed += length;
    if (this.recvConsumed >= CONNECTION_WINDOW_BYTES / 2) {
      this.writer.windowUpdate(0, this.recvConsumed);
      this.recvWindow += this.recvConsumed;
      this.recvConsumed = 0;
    }
    const stream = this.streams.get(id);
    if (stream === undefined) {
      if (id >= this.nextStreamId) {
        return this.fatal(ErrorCode.PROTOCOL_ERROR, `DATA on idle stream ${id}`);
      }
      return; // a stream this side reset: already accounted on the connection
    }
    if (!stream.headed || stream.remoteEnded) return this.streamError(id, ErrorCode.PROTOCOL_ERROR);
    if (length > stream.recvWindow) return this.streamError(id, ErrorCode.FLOW_CONTROL_ERROR);
    stream.recvWindow -= length;
    const endStream = (flags & Flag.END_STREAM) !== 0;
    const dataEnd = this.unpad(flags, b, s, e);
    if (dataEnd < 0) return this.fatal(ErrorCode.PROTOCOL_ERROR, 'DATA padding too long');
    const dataStart = (flags & Flag.PADDED) !== 0 ? s + 1 : s;
    if (dataEnd > dataStart) stream.onData(b, dataStart, dataEnd);
    if (this.streams.get(id) !== stream) return; // the request gave up on it
    if (endStream) return this.remoteEnd(stream);
    stream.recvConsumed += length;
    if (stream.recvConsumed >= STREAM_WINDOW_BYTES / 2) {
      this.writer.windowUpdate(id, stream.recvConsumed);
      stream.recvWindow += stream.recvConsumed;
      stream.recvConsumed = 0;
    }
  }

  private onHeadersFrame(flags: number, id: number, b: Buffer, s: number, e: number): void {
    if (id === 0) return this.fatal(ErrorCode.PROTOCOL_ERROR, 'HEADERS on stream 0');
    if ((id & 1) === 0 || id >= this.nextStreamId) {
      return this.fatal(ErrorCode.PROTOCOL_ERROR, `HEADERS on stream ${id} this side never opened`);
    }
    const end = this.unpad(flags, b, s, e);
    let start = (flags & Flag.PADDED) !== 0 ? s + 1 : s;
    if ((flags & Flag.PRIORITY) !== 0) start += 5;
    if (end < 0 || start > end) return this.fatal(ErrorCode.PROTOCOL_ERROR, 'HEADERS padding');
    const endStream = (flags & Flag.END_STREAM) !== 0;
    if ((flags & Flag.END_HEADERS) !== 0) return this.headerBlock(id, b, start, end, endStream);
    this.contStream = id;
    this.contParts = [Buffer.from(b.subarray(start, end))];
    this.contBytes = end - start;
    this.contEndStream = endStream;
  }

  private onContinuation(flags: number, id: number, b: Buffer, s: number, e: number): void {
    if (this.contStream === 0 || id !== this.contStream) {
      return this.fatal(ErrorCode.PROTOCOL_ERROR, 'CONTINUATION without its HEADERS');
    }
    this.contBytes += e - s;
    if (this.contBytes > MAX_HEADER_BLOCK_BYTES) {
      return this.fatal(
        ErrorCode.ENHANCE_YOUR_CALM,
        `header block above ${MAX_HEADER_BLOCK_BYTES} bytes`,
      );
    }
    this.contParts.push(Buffer.from(b.subarray(s, e)));
    if ((flags & Flag.END_HEADERS) === 0) return;
    const block = Buffer.concat(this.contParts, this.contBytes);
    this.contStream = 0;
    this.contParts = [];
    this.headerBlock(id, block, 0, block.length, this.contEndStream);
  }

  private headerBlock(id: number, b: Buffer, s: number, e: number, endStream: boolean): void {
    const list: string[] = [];
    try {
      // Decoded even for a stream this side reset: the HPACK table must stay in step.
      this.decoder.decode(b, s, e, list);
    } catch (error) {
      if (error instanceof HpackError)
        return this.fatal(ErrorCode.COMPRESSION_ERROR, error.message);
      throw error;
    }
    const stream = this.streams.get(id);
    if (stream === undefined) return;
    if (stream.headed) {
      // Trailers: must end the stream; their fields are not kept.
      if (!endStream) return this.streamError(id, ErrorCode.PROTOCOL_ERROR);
      return this.remoteEnd(stream);
    }
    const status = list[0] === ':status' ? Number(list[1]) : NaN;
    if (!Number.isInteger(status) || status < 100 || status > 999) {
      return this.streamError(id, ErrorCode.PROTOCOL_ERROR);
    }
    if (status < 200) {
      // 1xx informational heads precede the final one and cannot end the stream.
      if (endStream) this.streamError(id, ErrorCode.PROTOCOL_ERROR);
      return;
    }
    stream.headed = true;
    stream.onHead(status, list);
    if (endStream && this.streams.get(id) === stream) this.remoteEnd(stream);
  }

  private remoteEnd(stream: H2Stream): void {
    stream.remoteEnded = true;
    if (!stream.localEnded) {
      // The peer answered before reading the whole body: stop sending it (RFC 9113 §8.1).
      this.forget(stream);
      this.writer.rstStream(stream.streamId, ErrorCode.NO_ERROR);
    } else this.forget(stream);
    stream.onEnd();
    this.events.onStreamClosed();
  }

  private onRstStream(id: number, b: Buffer, s: number, e: number): void {
    if (id === 0) return this.fatal(ErrorCode.PROTOCOL_ERROR, 'RST_STREAM on stream 0');
    if (e - s !== 4) return this.fatal(ErrorCode.FRAME_SIZE_ERROR, 'RST_STREAM not 4 bytes');
    if (id >= this.nextStreamId) {
      return this.fatal(ErrorCode.PROTOCOL_ERROR, `RST_STREAM on idle stream ${id}`);
    }
    const stream = this.streams.get(id);
    if (stream === undefined) return;
    this.forget(stream);
    stream.onReset(b.readUInt32BE(s), false);
    this.events.onStreamClosed();
  }

  private onSettingsFrame(flags: number, id: number, b: Buffer, s: number, e: number): void {
    if (id !== 0) return this.fatal(ErrorCode.PROTOCOL_ERROR, 'SETTINGS on a stream');
    if ((flags & Flag.ACK) !== 0) {
      if (e !== s) return this.fatal(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS ACK with a payload');
      return;
    }
    if ((e - s) % 6 !== 0) return this.fatal(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS length');
    this.sawSettings = true;
    let maxStreams: number | undefined;
    for (let p = s; p < e; p += 6) {
      const key = b.readUInt16BE(p);
      const value = b.readUInt32BE(p + 2);
      if (key === Setting.MAX_CONCURRENT_STREAMS) maxStreams = value;
      else if (key === Setting.ENABLE_PUSH && value > 1) {
        return this.fatal(ErrorCode.PROTOCOL_ERROR, `SETTINGS_ENABLE_PUSH ${value}`);
      } else if (key === Setting.INITIAL_WINDOW_SIZE) {
        if (value > MAX_WINDOW_BYTES) {
          return this.fatal(ErrorCode.FLOW_CONTROL_ERROR, `SETTINGS_INITIAL_WINDOW_SIZE ${value}`);
        }
        const delta = value - this.peerInitialWindow;
        this.peerInitialWindow = value;
        for (const stream of this.streams.values()) {
          stream.sendWindow += delta;
          if (stream.sendWindow > MAX_WINDOW_BYTES) {
            return this.fatal(ErrorCode.FLOW_CONTROL_ERROR, 'a stream window above 2^31 - 1');
          }
        }
      } else if (key === Setting.MAX_FRAME_SIZE) {
        if (value < DEFAULT_MAX_FRAME_BYTES || value > LARGEST_FRAME_BYTES) {
          return this.fatal(ErrorCode.PROTOCOL_ERROR, `SETTINGS_MAX_FRAME_SIZE ${value}`);
        }
        this.peerMaxFrame = value;
      }
      // HEADER_TABLE_SIZE: the encoder keeps no dynamic table. Unknown settings: ignored.
    }
    this.writer.settingsAck();
    this.events.onSettings(maxStreams);
    this.pumpBlocked();
  }

  private onGoawayFrame(id: number, b: Buffer, s: number, e: number): void {
    if (id !== 0) return this.fatal(ErrorCode.PROTOCOL_ERROR, 'GOAWAY on a stream');
    if (e - s < 8) return this.fatal(ErrorCode.FRAME_SIZE_ERROR, 'GOAWAY shorter than 8 bytes');
    const lastStreamId = b.readUInt32BE(s) & 0x7fffffff;
    const code = b.readUInt32BE(s + 4);
    this.goaway = true;
    if (code !== ErrorCode.NO_ERROR) {
      // A GOAWAY with an error code ends the connection (RFC 9113 §5.4.1): every stream fails.
      this.lost('goaway', `GOAWAY with error code ${code}`);
      this.events.onGoaway(code);
      return;
    }
    this.events.onGoaway(code);
    // Streams above lastStreamId were never processed: they fail now; the rest may finish.
    for (const stream of this.streams.values()) {
      if (stream.streamId > lastStreamId) {
        this.forget(stream);
        stream.onConnectionLost('goaway', `GOAWAY (code ${code}) before the stream was processed`);
      }
    }
  }

  private onWindowUpdate(id: number, b: Buffer, s: number, e: number): void {
    if (e - s !== 4) return this.fatal(ErrorCode.FRAME_SIZE_ERROR, 'WINDOW_UPDATE not 4 bytes');
    const increment = b.readUInt32BE(s) & 0x7fffffff;
    if (id === 0) {
      if (increment === 0) return this.fatal(ErrorCode.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
      this.sendWindow += increment;
      if (this.sendWindow > MAX_WINDOW_BYTES) {
        return this.fatal(ErrorCode.FLOW_CONTROL_ERROR, 'connection window above 2^31 - 1');
      }
      return this.pumpBlocked();
    }
    const stream = this.streams.get(id);
    if (stream === undefined) return;
    if (increment === 0) return this.streamError(id, ErrorCode.PROTOCOL_ERROR);
    stream.sendWindow += increment;
    if (stream.sendWindow > MAX_WINDOW_BYTES) {
      return this.streamError(id, ErrorCode.FLOW_CONTROL_ERROR);
    }
    if (this.blocked.has(stream)) this.pump(stream);
  }

  /** Sends as much of the stream's body as both windows allow; parks it when blocked. */
  private pump(stream: H2Stream): void {
    const body = stream.body;
    if (body === null) return;
    while (stream.bodyAt < body.length) {
      const n = Math.min(
        body.length - stream.bodyAt,
        stream.sendWindow,
        this.sendWindow,
        this.peerMaxFrame,
      );
      if (n <= 0) {
        this.blocked.add(stream);
        return;
      }
      const last = stream.bodyAt + n === body.length;
      this.writer.data(stream.streamId, body, stream.bodyAt, stream.bodyAt + n, last);
      stream.bodyAt += n;
      stream.sendWindow -= n;
      this.sendWindow -= n;
    }
    this.blocked.delete(stream);
    stream.body = null;
    stream.localEnded = true;
    this.events.onOutput();
  }

  private pumpBlocked(): void {
    for (const stream of [...this.blocked]) {
      if (this.sendWindow <= 0) return;
      this.pump(stream);
    }
  }

  private forget(stream: H2Stream): void {
    this.streams.delete(stream.streamId);
    if (stream.body !== null) this.blocked.delete(stream);
  }

  /** A stream error: RST_STREAM to the peer, the stream fails with that code. */
  private streamError(id: number, code: number): void {
    this.writer.rstStream(id, code);
    const stream = this.streams.get(id);
    if (stream === undefined) return;
    this.forget(stream);
    stream.onReset(code, true);
    this.events.onStreamClosed();
  }

  /** A connection error: GOAWAY with `code`, every stream fails, the shell closes. */
  private fatal(code: number, message: string): void {
    if (this.dead) return;
    this.writer.goaway(this.lastPeerStream(), code);
    const kind = FATAL_KIND[code] ?? 'protocol_error';
    this.lost(kind, message);
    this.events.onFatal(kind, message);
  }

  /** Server-initiated streams are never accepted, so the last one processed is 0. */
  private lastPeerStream(): number {
    return 0;
  }
}
