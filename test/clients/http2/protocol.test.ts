// The HTTP/2 client against a peer that writes frames by hand on a real TCP socket: what no
// well-behaved server sends (oversized frames, bad HPACK, a non-SETTINGS preface, window
// overflow, a head without :status, unknown reset codes) fails with a named kind and the right
// GOAWAY or RST_STREAM on the wire; legal but rare framing (PING, CONTINUATION, padding,
// trailers) is handled.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Http2Client } from '../../../src/clients/http2/index.js';
import { ClientError } from '../../../src/clients/client.js';

interface Frame {
  type: number;
  flags: number;
  id: number;
  payload: Buffer;
}

const T = { DATA: 0, HEADERS: 1, RST: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW: 8, CONT: 9 };
/** HPACK: `:status: 200` (static index 8), and a raw literal `x-a: <v>` without indexing. */
const STATUS_200 = Buffer.from([0x88]);
const literal = (name: string, value: string): Buffer =>
  Buffer.concat([
    Buffer.from([0x00, name.length]),
    Buffer.from(name),
    Buffer.from([value.length]),
    Buffer.from(value),
  ]);

function frame(type: number, flags: number, id: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(id, 5);
  return Buffer.concat([h, payload]);
}

const u32 = (...values: number[]): Buffer => {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, i * 4));
  return b;
};

/** One accepted connection: the frames the client sent, and a way to answer. */
class RawConn {
  readonly frames: Frame[] = [];
  private buf = Buffer.alloc(0);
  private prefaceSeen = false;
  constructor(
    readonly socket: net.Socket,
    onHeaders: (c: RawConn, streamId: number) => void,
    greet: boolean,
  ) {
    if (greet) socket.write(frame(T.SETTINGS, 0, 0));
    socket.on('error', () => undefined);
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      if (!this.prefaceSeen) {
        if (this.buf.length < 24) return;
        assert.equal(
          this.buf.subarray(0, 24).toString('latin1'),
          'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
        );
        this.buf = this.buf.subarray(24);
        this.prefaceSeen = true;
      }
      while (this.buf.length >= 9) {
        const len = this.buf.readUIntBE(0, 3);
        if (this.buf.length < 9 + len) break;
        const f: Frame = {
          type: this.buf[3] ?? 0,
          flags: this.buf[4] ?? 0,
          id: this.buf.readUInt32BE(5) & 0x7fffffff,
          payload: Buffer.from(this.buf.subarray(9, 9 + len)),
        };
        this.buf = this.buf.subarray(9 + len);
        this.frames.push(f);
        if (f.type === T.HEADERS) onHeaders(this, f.id);
      }
    });
  }
  send(...frames: Buffer[]): void {
    this.socket.write(Buffer.concat(frames));
  }
  /** Resolves with the first client frame matching `pred` (bounded wait). */
  async sent(pred: (f: Frame) => boolean, what: string): Promise<Frame> {
    for (let i = 0; i < 300; i++) {
      const f = this.frames.find(pred);
      if (f) return f;
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.fail(`the client never sent ${what}`);
  }
}

const servers: net.Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

/** A server whose connections answer a request's HEADERS with `onHeaders`. */
async function rawPeer(
  onHeaders: (c: RawConn, streamId: number) => void,
  greet = true,
): Promise<{ url: string; conns: RawConn[] }> {
  const conns: RawConn[] = [];
  const server = net.createServer((socket) => conns.push(new RawConn(socket, onHeaders, greet)));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, conns };
}

/** The `i`th accepted connection, once it exists (bounded wait). */
async function connection(conns: RawConn[], i: number): Promise<RawConn> {
  for (let n = 0; n < 300 && conns[i] === undefined; n++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  const conn = conns[i];
  assert.ok(conn, `connection ${i + 1} was accepted`);
  return conn;
}

async function failsWith(p: Promise<unknown>, kind: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ClientError, String(e));
    assert.equal(e.kind, kind, e.message);
    return true;
  });
}

describe('Http2Client against a hand-written peer', () => {
  const connectionErrors: [string, (c: RawConn, id: number) => void, string, number][] = [
    [
      'a frame above SETTINGS_MAX_FRAME_SIZE',
      (c, id) => c.send(frame(T.DATA, 0, id, Buffer.alloc(20_000))),
      'frame_size_error',
      0x6,
    ],
    [
      'an HPACK index past the tables',
      (c, id) => c.send(frame(T.HEADERS, 0x5, id, Buffer.from([0xbe]))),
      'compression_error',
      0x9,
    ],
    [
      'a connection WINDOW_UPDATE past 2^31-1',
      (c) => c.send(frame(T.WINDOW, 0, 0, u32(0x7fffffff))),
      'flow_control',
      0x3,
    ],
  ];
  for (const [what, answer, kind, code] of connectionErrors) {
    test(`${what}: kind ${kind} and a GOAWAY with code ${code} on the wire`, async () => {
      const peer = await rawPeer(answer);
      const client = new Http2Client();
      try {
        await failsWith(client.get(`${peer.url}/`), kind);
        const goaway = await peer.conns[0]!.sent((f) => f.type === T.GOAWAY, 'a GOAWAY');
        assert.equal(goaway.payload.readUInt32BE(4), code);
      } finally {
        client.close();
      }
    });
  }

  test('a server preface that is not SETTINGS: protocol_error', async () => {
    const peer = await rawPeer(() => undefined, false);
    const client = new Http2Client();
    try {
      const res = client.get(`${peer.url}/`);
      const conn = await connection(peer.conns, 0);
      conn.send(frame(T.PING, 0, 0, Buffer.alloc(8)));
      await failsWith(res, 'protocol_error');
    } finally {
      client.close();
    }
  });

  test('a head without :status resets the stream with PROTOCOL_ERROR; the session lives on', async () => {
    let n = 0;
    const peer = await rawPeer((c, id) => {
      if (n++ === 0) c.send(frame(T.HEADERS, 0x5, id, literal('x-a', 'b')));
      else c.send(frame(T.HEADERS, 0x5, id, STATUS_200));
    });
    const client = new Http2Client();
    try {
      await failsWith(client.get(`${peer.url}/`), 'rst_protocol_error');
      const rst = await peer.conns[0]!.sent((f) => f.type === T.RST, 'a RST_STREAM');
      assert.equal(rst.payload.readUInt32BE(0), 0x1);
      const ok = await client.get(`${peer.url}/again`);
      assert.equal(ok.status, 200);
      assert.equal(client.stats.sessionsOpened, 1);
    } finally {
      client.close();
    }
  });

  test('RST_STREAM with a code RFC 9113 does not define: rst_unknown', async () => {
    const peer = await rawPeer((c, id) => c.send(frame(T.RST, 0, id, u32(0xff))));
    const client = new Http2Client();
    try {
      await failsWith(client.get(`${peer.url}/`), 'rst_unknown');
    } finally {
      client.close();
    }
  });

  test('PING is answered with its payload; CONTINUATION, padding and trailers are read', async () => {
    const peer = await rawPeer((c, id) => {
      c.send(
        frame(T.PING, 0, 0, Buffer.from('salvo-h2')),
        // The head split over HEADERS (padded, no END_HEADERS) and CONTINUATION.
        frame(T.HEADERS, 0x8, id, Buffer.concat([Buffer.from([3]), STATUS_200, Buffer.alloc(3)])),
        frame(T.CONT, 0x4, id, literal('x-a', 'split')),
        // Padded DATA, then trailers ending the stream.
        frame(
          T.DATA,
          0x8,
          id,
          Buffer.concat([Buffer.from([2]), Buffer.from('hi'), Buffer.alloc(2)]),
        ),
        frame(T.DATA, 0, id, Buffer.from(' there')),
        frame(T.HEADERS, 0x5, id, literal('x-t', 'trailer')),
      );
    });
    const client = new Http2Client();
    try {
      const res = await client.get(`${peer.url}/`);
      assert.equal(res.status, 200);
      assert.equal(res.header('x-a'), 'split');
      assert.equal(res.text(), 'hi there');
      const ack = await peer.conns[0]!.sent((f) => f.type === T.PING, 'a PING ACK');
      assert.equal(ack.flags & 0x1, 0x1);
      assert.equal(ack.payload.toString(), 'salvo-h2');
    } finally {
      client.close();
    }
  });

  test('GOAWAY below an in-flight stream fails it with goaway; the peer closing mid-response is connection_closed', async () => {
    let first = true;
    const peer = await rawPeer((c, id) => {
      if (first) {
        first = false;
        c.send(frame(T.GOAWAY, 0, 0, u32(0, 0)));
      } else c.send(frame(T.HEADERS, 0x4, id, STATUS_200), frame(T.DATA, 0, id, Buffer.from('x')));
    });
    const client = new Http2Client();
    try {
      await failsWith(client.get(`${peer.url}/`), 'goaway');
      const half = client.get(`${peer.url}/half`);
      const second = await connection(peer.conns, 1);
      await second.sent((f) => f.type === T.DATA || f.type === T.HEADERS, 'the request');
      await new Promise((r) => setImmediate(r));
      second.socket.destroy();
      await failsWith(half, 'connection_closed');
    } finally {
      client.close();
    }
  });
});
