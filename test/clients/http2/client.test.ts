// The HTTP/2 client against real peers: Node's http2 server (h2c and TLS with ALPN) and
// Debian's nghttpd, both on loopback: multiplexing, per-stream timings, named failures.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import https from 'node:https';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { Http2Client } from '../../../src/clients/http2/index.js';
import { ClientError } from '../../../src/clients/client.js';
import {
  TLS_CERT,
  TLS_CERT_PATH,
  TLS_KEY,
  TLS_KEY_PATH,
  freePort,
  requireBinary,
  startPeer,
  type PeerProcess,
} from '../../support/peers.js';

const { NGHTTP2_REFUSED_STREAM, NGHTTP2_FLOW_CONTROL_ERROR, NGHTTP2_ENHANCE_YOUR_CALM } =
  http2.constants;

function handler(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
  const path = String(headers[':path']);
  // Closing a server stream with an error code emits that error on it: kept, not thrown.
  stream.on('error', (e: Error) => serverStreamErrors.push(e.message));
  if (path === '/refuse') return void stream.close(NGHTTP2_REFUSED_STREAM);
  if (path === '/flow') return void stream.close(NGHTTP2_FLOW_CONTROL_ERROR);
  if (path === '/goaway') return void stream.session?.goaway(NGHTTP2_ENHANCE_YOUR_CALM);
  if (path === '/slow') {
    const t = setTimeout(() => {
      if (!stream.closed) stream.respond({ ':status': 200 }, { endStream: true });
    }, 400);
    stream.on('close', () => clearTimeout(t));
    return;
  }
  if (path === '/echo') {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      stream.respond({ ':status': 201, 'content-type': String(headers['content-type']) });
      stream.end(Buffer.concat(chunks));
    });
    return;
  }
  stream.respond({
    ':status': 200,
    'content-type': 'application/json',
    'set-cookie': ['a=1', 'b=2'],
  });
  stream.end(
    JSON.stringify({ path, method: headers[':method'], sid: sessionIds.get(stream.session!) }),
  );
}

const serverStreamErrors: string[] = [];
const sessionIds = new WeakMap<http2.Http2Session, number>();
let sessions = 0;
function track(server: http2.Http2Server | http2.Http2SecureServer): void {
  server.on('session', (s) => sessionIds.set(s, ++sessions));
}

let plain: http2.Http2Server;
let secure: http2.Http2SecureServer;
let limited: http2.Http2Server;
let plainUrl = '';
let secureUrl = '';
let limitedUrl = '';

async function listen(server: http2.Http2Server | http2.Http2SecureServer): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return String((server.address() as AddressInfo).port);
}

before(async () => {
  plain = http2.createServer();
  plain.on('stream', handler);
  track(plain);
  plainUrl = `http://127.0.0.1:${await listen(plain)}`;
  secure = http2.createSecureServer({ key: TLS_KEY, cert: TLS_CERT });
  secure.on('stream', handler);
  track(secure);
  secureUrl = `https://localhost:${await listen(secure)}`;
  limited = http2.createServer({ settings: { maxConcurrentStreams: 2 } });
  limited.on('stream', (stream, headers) => {
    setTimeout(() => handler(stream, headers), 20);
  });
  track(limited);
  limitedUrl = `http://127.0.0.1:${await listen(limited)}`;
});

after(() => {
  plain.close();
  secure.close();
  limited.close();
});

describe('Http2Client against node:http2', () => {
  test('h2c: concurrent requests are multiplexed over one session with per-stream timings', async () => {
    const client = new Http2Client({ baseUrl: plainUrl });
    try {
      const responses = await Promise.all(
        Array.from({ length: 20 }, (_, i) => client.get(`/items/${i}`)),
      );
      assert.equal(client.stats.sessionsOpened, 1);
      assert.equal(client.stats.streamsStarted, 20);
      const sids = new Set(responses.map((r) => r.json<{ sid: number }>().sid));
      assert.equal(sids.size, 1, 'one server-side session');
      responses.forEach((r, i) => {
        assert.equal(r.status, 200);
        assert.equal(r.protocol, 'h2c');
        assert.equal(r.json<{ path: string }>().path, `/items/${i}`);
        assert.deepEqual(r.setCookies, ['a=1', 'b=2']);
        assert.ok(r.timings.totalMs >= r.timings.ttfbMs && r.timings.ttfbMs >= 0);
      });
      assert.equal(responses.filter((r) => !r.timings.reused).length, 1, 'one stream paid connect');
      const again = await client.get('/again');
      assert.equal(again.timings.reused, true);
      assert.equal(again.timings.connectMs, 0);
    } finally {
      client.close();
    }
  });

  test('request bodies: json and raw bytes reach the server', async () => {
    const client = new Http2Client({ baseUrl: plainUrl });
    try {
      const a = await client.post('/echo', { json: { x: 1 } });
      assert.equal(a.status, 201);
      assert.deepEqual(a.json(), { x: 1 });
      assert.equal(a.header('content-type'), 'application/json');
      const b = await client.put('/echo', {
        body: 'raw',
        headers: { 'Content-Type': 'text/plain' },
      });
      assert.equal(b.text(), 'raw');
      assert.equal(b.headers['content-type'], 'text/plain');
    } finally {
      client.close();
    }
  });

  test('TLS: h2 negotiated by ALPN, connect and TLS phases measured on the first stream', async () => {
    const client = new Http2Client({ baseUrl: secureUrl, tls: { ca: TLS_CERT } });
    try {
      const res = await client.get('/secure');
      assert.equal(res.status, 200);
      assert.equal(res.protocol, 'h2');
      assert.equal(res.timings.reused, false);
      assert.ok(res.timings.tlsMs > 0, 'TLS handshake measured');
    } finally {
      client.close();
    }
  });

  test('TLS to a server without h2 in ALPN fails with kind alpn', async () => {
    const server = https.createServer({ key: TLS_KEY, cert: TLS_CERT }, (_req, res) =>
      res.end('h1'),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const client = new Http2Client({ tls: { ca: TLS_CERT } });
    try {
      const port = (server.address() as AddressInfo).port;
      await assert.rejects(client.get(`https://localhost:${port}/`), (e: unknown) => {
        assert.ok(e instanceof ClientError);
        assert.equal(e.kind, 'alpn');
        return true;
      });
    } finally {
      client.close();
      server.close();
    }
  });

  test('RST_STREAM codes are named kinds: refused stream, flow control', async () => {
    const client = new Http2Client({ baseUrl: plainUrl });
    try {
      await assert.rejects(client.get('/refuse'), { kind: 'rst_refused_stream' });
      await assert.rejects(client.get('/flow'), { kind: 'flow_control' });
      const ok = await client.get('/after-reset');
      assert.equal(ok.status, 200, 'the session survives stream resets');
      assert.equal(client.stats.sessionsOpened, 1);
    } finally {
      client.close();
    }
  });

  test('GOAWAY fails the stream with kind goaway and the next request opens a new session', async () => {
    const client = new Http2Client({ baseUrl: plainUrl });
    try {
      await client.get('/first');
      await assert.rejects(client.get('/goaway'), (e: unknown) => {
        assert.ok(e instanceof ClientError);
        assert.equal(e.kind, 'goaway');
        return true;
      });
      const res = await client.get('/second');
      assert.equal(res.status, 200);
      assert.equal(client.stats.sessionsOpened, 2);
    } finally {
      client.close();
    }
  });

  test("the peer's MAX_CONCURRENT_STREAMS queues streams; more sessions only when allowed", async () => {
    const one = new Http2Client({ baseUrl: limitedUrl });
    const three = new Http2Client({ baseUrl: limitedUrl, maxSessionsPerOrigin: 3 });
    try {
      const a = await Promise.all(Array.from({ length: 8 }, () => one.get('/q')));
      assert.ok(a.every((r) => r.status === 200));
      assert.equal(one.stats.sessionsOpened, 1);
      await three.get('/warm');
      const b = await Promise.all(Array.from({ length: 8 }, () => three.get('/q')));
      assert.ok(b.every((r) => r.status === 200));
      assert.equal(three.stats.sessionsOpened, 3);
    } finally {
      one.close();
      three.close();
    }
  });

  test('timeouts, refused connections and bad URLs are named failures', async () => {
    const client = new Http2Client({ baseUrl: plainUrl, timeoutMs: 100 });
    try {
      await assert.rejects(client.get('/slow'), { kind: 'timeout' });
      const port = await freePort();
      await assert.rejects(client.get(`http://127.0.0.1:${port}/`), { kind: 'connect_refused' });
      await assert.rejects(client.get('ftp://x/'), { kind: 'bad_request' });
      client.close();
      await assert.rejects(client.get('/'), { kind: 'closed' });
    } finally {
      client.close();
    }
  });
});

describe('Http2Client against nghttpd (Debian nghttp2-server)', () => {
  let dir = '';
  let h2c: PeerProcess | undefined;
  let h2: PeerProcess | undefined;
  let h2cPort = 0;
  let h2Port = 0;
  before(async () => {
    const nghttpd = requireBinary('nghttpd');
    dir = mkdtempSync(join(tmpdir(), 'salvo-nghttpd-'));
    writeFileSync(join(dir, 'index.html'), '<p>hello from nghttpd</p>');
    writeFileSync(join(dir, 'big.bin'), Buffer.alloc(300_000, 7));
    h2cPort = await freePort();
    h2c = await startPeer(
      nghttpd,
      ['--no-tls', '-d', dir, '-a', '127.0.0.1', String(h2cPort)],
      h2cPort,
    );
    h2Port = await freePort();
    h2 = await startPeer(
      nghttpd,
      ['-d', dir, '-a', '127.0.0.1', String(h2Port), TLS_KEY_PATH, TLS_CERT_PATH],
      h2Port,
    );
  });
  after(async () => {
    await h2c?.stop();
    await h2?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('h2c and h2 (ALPN) requests, a body larger than the initial flow-control window', async () => {
    const client = new Http2Client({ tls: { ca: TLS_CERT } });
    try {
      const a = await client.get(`http://127.0.0.1:${h2cPort}/index.html`);
      assert.equal(a.status, 200);
      assert.equal(a.text(), '<p>hello from nghttpd</p>');
      const b = await client.get(`https://localhost:${h2Port}/index.html`);
      assert.equal(b.protocol, 'h2');
      assert.equal(b.text(), '<p>hello from nghttpd</p>');
      const big = await Promise.all(
        [1, 2, 3].map(() => client.get(`http://127.0.0.1:${h2cPort}/big.bin`)),
      );
      for (const r of big) {
        assert.equal(r.bodyBytes, 300_000);
        assert.equal(r.body.length, 300_000);
      }
      const missing = await client.get(`http://127.0.0.1:${h2cPort}/nope`);
      assert.equal(missing.status, 404);
    } finally {
      client.close();
    }
  });
});
