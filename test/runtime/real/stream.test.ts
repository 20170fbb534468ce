// Real stream transport between two runtimes in one process: framed messages both ways, large
// frames, oversized and corrupt frames skipped while the connection keeps serving, truncation at
// close, write-queue overflow, connect failures, and mutual TLS with the test-only certificate.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encodeFrame, FRAME_HEADER_BYTES, MAX_FRAME_BYTES } from '../../../src/protocol/framing.js';
import type { FrameError, StreamConnection } from '../../../src/runtime/types.js';
import { runtime, tempDir, waitFor } from './support.js';

const fixtures = path.resolve(import.meta.dirname, '../../../../test/fixtures/tls');
const cert = readFileSync(path.join(fixtures, 'localhost-cert.pem'));
const key = readFileSync(path.join(fixtures, 'localhost-key.pem'));

interface Sink {
  frames: Uint8Array[];
  errors: FrameError[];
  closed: (Error | undefined)[];
}
function sink(c: StreamConnection): Sink {
  const s: Sink = { frames: [], errors: [], closed: [] };
  c.onFrame((f) => s.frames.push(new Uint8Array(f)));
  c.onFrameError((e) => s.errors.push(e));
  c.onClose((r) => s.closed.push(r));
  return s;
}

void describe('real stream transport (TCP)', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    dir = await tempDir('stream');
  });
  after(async () => {
    await dir.cleanup();
  });

  void it('carries whole frames both ways, including a 1 MiB body, in order', async () => {
    const a = runtime('a', dir.dir);
    const b = runtime('b', dir.dir);
    const accepted: Sink[] = [];
    let serverConn: StreamConnection | undefined;
    const listener = await a.stream.listen((c) => {
      serverConn = c;
      accepted.push(sink(c));
    });
    assert.ok(listener.address.port > 0);
    const client = await b.stream.connect(listener.address, 1000);
    const fromServer = sink(client);
    const big = new Uint8Array(MAX_FRAME_BYTES).map((_, i) => i % 251);
    for (let i = 0; i < 50; i++) assert.equal(client.send(Uint8Array.from([i])), true);
    assert.equal(client.send(big), true);
    assert.equal(client.send(new Uint8Array(0)), true);
    await waitFor(() => (accepted[0]?.frames.length ?? 0) === 52);
    const got = accepted[0]!.frames;
    assert.deepEqual(
      got.slice(0, 50).map((f) => f[0]),
      [...Array(50).keys()],
    );
    assert.deepEqual(got[50], big);
    assert.equal(got[51]!.length, 0);
    serverConn!.send(Uint8Array.from([7, 7]));
    await waitFor(() => fromServer.frames.length === 1);
    assert.deepEqual(fromServer.frames[0], Uint8Array.from([7, 7]));
    assert.equal(client.remote.port, listener.address.port);
    client.close();
    assert.equal(client.closed, true);
    assert.equal(client.send(Uint8Array.from([1])), false);
    await waitFor(() => accepted[0]!.closed.length === 1 && fromServer.closed.length === 1);
    await listener.close();
    await Promise.all([a.close(), b.close()]);
  });

  void it('skips oversized and corrupt frames, reports them, and keeps serving', async () => {
    const a = runtime('a', dir.dir, { maxFrameBytes: 1024 });
    const accepted: Sink[] = [];
    const listener = await a.stream.listen((c) => accepted.push(sink(c)));
    const raw = await new Promise<net.Socket>((resolve) => {
      const s = net.connect(listener.address.port, '127.0.0.1', () => resolve(s));
    });
    const corrupt = encodeFrame(Uint8Array.from([1, 2, 3]));
    corrupt[FRAME_HEADER_BYTES + 1] = 0;
    raw.write(encodeFrame(Uint8Array.from([1])));
    // An oversized frame dribbled in small pieces: skipped without being buffered.
    const huge = encodeFrame(new Uint8Array(5000).fill(9));
    for (let i = 0; i < huge.length; i += 700) raw.write(huge.subarray(i, i + 700));
    raw.write(corrupt);
    raw.write(encodeFrame(Uint8Array.from([2])));
    await waitFor(() => (accepted[0]?.frames.length ?? 0) === 2);
    const s = accepted[0]!;
    assert.deepEqual(s.frames, [Uint8Array.from([1]), Uint8Array.from([2])]);
    assert.deepEqual(
      s.errors.map((e) => [e.kind, e.sizeBytes, e.limitBytes]),
      [
        ['oversized', 5000, 1024],
        ['checksum', 3, undefined],
      ],
    );
    // A frame cut short by the peer closing is reported as truncated before onClose.
    raw.end(encodeFrame(Uint8Array.from([1, 2, 3, 4])).subarray(0, 10));
    await waitFor(() => s.closed.length === 1);
    assert.equal(s.errors[2]?.kind, 'truncated');
    await listener.close();
    await a.close();
  });

  void it('closes a connection whose write queue exceeds its bound, with a reason', async () => {
    const a = runtime('a', dir.dir, { maxWriteQueueBytes: 64 * 1024 });
    let serverConn: StreamConnection | undefined;
    const listener = await a.stream.listen((c) => {
      serverConn = c;
    });
    // A peer that never reads.
    const raw = await new Promise<net.Socket>((resolve) => {
      const s = net.connect(listener.address.port, '127.0.0.1', () => resolve(s));
    });
    raw.pause();
    await waitFor(() => serverConn !== undefined);
    const closed: (Error | undefined)[] = [];
    serverConn!.onClose((r) => closed.push(r));
    const chunk = new Uint8Array(32 * 1024);
    let sent = 0;
    while (serverConn!.send(chunk) && sent < 10_000) sent++;
    await waitFor(() => closed.length === 1);
    assert.match(closed[0]?.message ?? '', /write queue over its limit/);
    assert.equal(a.stream.stats.writeQueueOverflows, 1);
    raw.destroy();
    await listener.close();
    await a.close();
  });

  void it('rejects connect on refusal and on timeout', async () => {
    const b = runtime('b', dir.dir);
    const closedPort = await new Promise<number>((resolve) => {
      const srv = net.createServer();
      srv.listen(0, '127.0.0.1', () => {
        const port = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(port));
      });
    });
    await assert.rejects(
      b.stream.connect({ host: '127.0.0.1', port: closedPort }, 1000),
      /connect to 127\.0\.0\.1:\d+ failed/,
    );
    // A non-routable address (TEST-NET-1) never answers: the timeout fires.
    await assert.rejects(
      b.stream.connect({ host: '192.0.2.1', port: 9 }, 50),
      /timed out after 50 ms|failed/,
    );
    await b.close();
  });

  void it('closing a listener closes its accepted connections, even with a silent peer', async () => {
    const a = runtime('a', dir.dir);
    const accepted: Sink[] = [];
    const listener = await a.stream.listen((c) => accepted.push(sink(c)));
    const raw = await new Promise<net.Socket>((resolve) => {
      const s = net.connect(listener.address.port, '127.0.0.1', () => resolve(s));
    });
    raw.on('error', () => undefined);
    await waitFor(() => accepted.length === 1);
    const started = Date.now();
    await listener.close();
    assert.equal(accepted[0]!.closed.length, 1);
    assert.ok(Date.now() - started < 2_500, 'bounded by the close linger');
    raw.destroy();
    await a.close();
  });

  void it('delivers frames that arrive before a handler is registered', async () => {
    const a = runtime('a', dir.dir);
    const b = runtime('b', dir.dir);
    let serverConn: StreamConnection | undefined;
    const listener = await a.stream.listen((c) => {
      serverConn = c;
      c.send(Uint8Array.from([5]));
    });
    const client = await b.stream.connect(listener.address, 1000);
    await waitFor(() => serverConn !== undefined);
    await new Promise((r) => setTimeout(r, 30));
    const s = sink(client);
    assert.deepEqual(s.frames, [Uint8Array.from([5])]);
    client.close();
    await listener.close();
    await Promise.all([a.close(), b.close()]);
  });
});

void describe('real stream transport (mutual TLS)', () => {
  void it('connects with the test certificate and carries frames', async () => {
    const dir = await tempDir('tls');
    const material = { key, cert, ca: cert };
    const a = runtime('a', dir.dir, { tls: material });
    const b = runtime('b', dir.dir, { tls: material });
    const accepted: Sink[] = [];
    let serverConn: StreamConnection | undefined;
    const listener = await a.stream.listen((c) => {
      serverConn = c;
      accepted.push(sink(c));
    });
    const client = await b.stream.connect(listener.address, 2000);
    const back = sink(client);
    client.send(Uint8Array.from([1, 2, 3]));
    await waitFor(() => (accepted[0]?.frames.length ?? 0) === 1);
    assert.deepEqual(accepted[0]!.frames[0], Uint8Array.from([1, 2, 3]));
    serverConn!.send(Uint8Array.from([4]));
    await waitFor(() => back.frames.length === 1);
    client.close();
    // A plain-TCP client cannot talk to the TLS listener; a TLS client without the CA is refused.
    const plain = runtime('p', dir.dir);
    const c2 = await plain.stream.connect(listener.address, 1000);
    const s2 = sink(c2);
    c2.send(Uint8Array.from([1]));
    await waitFor(() => s2.closed.length === 1);
    assert.equal(accepted.length, 1, 'no frame delivered from a non-TLS peer');
    // A TLS client that presents no certificate is refused by the listener (mutual TLS).
    const noCert = runtime('n', dir.dir, { tls: { ...material, key: '', cert: '' } });
    const c3 = await noCert.stream.connect(listener.address, 1000).then(
      (c) => c,
      (e: unknown) => e as Error,
    );
    if (!(c3 instanceof Error)) {
      const s3 = sink(c3);
      await waitFor(() => s3.closed.length === 1);
    }
    assert.equal(accepted.length, 1, 'no connection accepted from a peer without a certificate');
    await listener.close();
    await Promise.all([a.close(), b.close(), plain.close(), noCert.close()]);
    await dir.cleanup();
  });
});
