// HttpClient against real sockets on 127.0.0.1: framing over arbitrary reads, pipelined bytes,
// keep-alive reuse and connection-close handling, large heads, timings, concurrency limits.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { HttpClient, HttpError, MAX_HEADER_BYTES } from '../../../src/clients/http1/index.js';
import { nodeServer, rawServer, writeSlowly, type RawServer } from './servers.js';

function assertTimings(t: {
  dnsMs: number;
  connectMs: number;
  tlsMs: number;
  sendMs: number;
  waitMs: number;
  receiveMs: number;
  ttfbMs: number;
  totalMs: number;
}): void {
  for (const [name, value] of Object.entries(t)) {
    if (typeof value !== 'number') continue;
    assert.ok(Number.isFinite(value) && value >= 0, `${name} = ${value}`);
  }
  assert.ok(t.totalMs >= t.ttfbMs, `totalMs ${t.totalMs} < ttfbMs ${t.ttfbMs}`);
  assert.ok(t.ttfbMs >= t.waitMs, `ttfbMs ${t.ttfbMs} < waitMs ${t.waitMs}`);
}

const CHUNKED_RESPONSE =
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n' +
  '4;ext=1\r\nWiki\r\n6\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n0\r\nExpires: never\r\n\r\n';
const CHUNKED_BODY = 'Wikipedia in \r\n\r\nchunks.';

void describe('HttpClient framing over real sockets', () => {
  let server: RawServer;
  before(async () => {
    server = await rawServer((socket, req) => {
      const path = req.head.split(' ')[1] ?? '/';
      switch (path) {
        case '/chunked':
          socket.write(CHUNKED_RESPONSE);
          break;
        case '/chunked-bytewise':
          writeSlowly(socket, [...CHUNKED_RESPONSE]);
          break;
        case '/chunked-split': {
          // Cut at awkward places: inside the head terminator, the size line and the CRLFs.
          const r = CHUNKED_RESPONSE;
          const cuts = [10, 50, 74, 75, 80, 84, 86, 99, 100, r.length - 3];
          const parts: string[] = [];
          let last = 0;
          for (const cut of cuts) {
            parts.push(r.slice(last, cut));
            last = cut;
          }
          parts.push(r.slice(last));
          writeSlowly(socket, parts);
          break;
        }
        case '/partial':
          writeSlowly(socket, [
            'HTTP/1.1 20',
            '0 OK\r\nContent-Le',
            'ngth: 11\r\n\r',
            '\nhello',
            ' world',
          ]);
          break;
        case '/two-in-one':
          socket.write(
            'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst' +
              'HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond',
          );
          break;
        case '/plain':
          socket.write(
            `HTTP/1.1 200 OK\r\nContent-Length: ${req.connection}\r\n\r\n${'c'.repeat(req.connection)}`,
          );
          break;
        case '/http10':
          socket.write('HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok');
          socket.end();
          break;
        case '/http10-keepalive':
          socket.write('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok');
          break;
        case '/conn-close':
          socket.write('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok');
          socket.end();
          break;
        case '/close-delimited':
          writeSlowly(
            socket,
            ['HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n', 'until ', 'the end'],
            () => socket.end(),
          );
          break;
        case '/length-zero':
          socket.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
          break;
        case '/204':
          socket.write('HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n');
          break;
        case '/304':
          socket.write('HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\nETag: "e"\r\n\r\n');
          break;
        case '/head':
          socket.write('HTTP/1.1 200 OK\r\nContent-Length: 12345\r\n\r\n');
          break;
        case '/continue':
          writeSlowly(socket, [
            'HTTP/1.1 100 Continue\r\n\r\n',
            'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
          ]);
          break;
        case '/big-head-ok':
        case '/big-head-over': {
          const start = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Big: ';
          const total = path === '/big-head-ok' ? MAX_HEADER_BYTES : MAX_HEADER_BYTES + 1;
          const head = start + 'v'.repeat(total - start.length - 4) + '\r\n\r\n';
          socket.write(head + 'ok');
          break;
        }
        case '/set-cookie':
          socket.write(
            'HTTP/1.1 201 Created\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nX-Case: Yes\r\nContent-Length: 0\r\n\r\n',
          );
          break;
        default:
          socket.write('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
      }
    });
  });
  after(async () => server.close());

  void it('reads a chunked body with extensions and trailers in one read', async () => {
    const client = new HttpClient({ baseUrl: server.url });
    const res = await client.get('/chunked');
    assert.equal(res.status, 200);
    assert.equal(res.text(), CHUNKED_BODY);
    assert.equal(res.header('Content-Type'), 'text/plain');
    client.close();
  });

  void it('reads a chunked body arriving one byte per read', async () => {
    const client = new HttpClient({ baseUrl: server.url });
    const res = await client.get('/chunked-bytewise');
    assert.equal(res.text(), CHUNKED_BODY);
    // …and the connection is still good afterwards.
    const again = await client.get('/chunked-split');
    assert.equal(again.text(), CHUNKED_BODY);
    assert.equal(again.timings.reused, true);
    assert.equal(client.stats.connectionsOpened, 1);
    client.close();
  });

  void it('reads a response whose head and body are split across reads', async () => {
    const client = new HttpClient({ baseUrl: server.url });
    const res = await client.get('/partial');
    assert.equal(res.status, 200);
    assert.equal(res.text(), 'hello world');
    assertTimings(res.timings);
    client.close();
  });

  void it('keeps the first of two responses written at once and drops the connection', async () => {
    const client = new HttpClient({ baseUrl: server.url });
    const first = await client.get('/two-in-one');
    assert.equal(first.text(), 'first');
    const next = await client.get('/length-zero');
    assert.equal(next.status, 200);
    assert.equal(next.timings.reused, false, 'unsolicited bytes must close the connection');
    assert.equal(client.stats.connectionsOpened, 2);
    client.close();
  });

  void it('closes after an HTTP/1.0 response, reuses a kept-alive HTTP/1.0 one', async () => {
    const client = new HttpClient({ baseUrl: server.url });
    assert.equal((await client.get('/http10')).text(), 'ok');
    assert.equal((await client.get('/http10')).timings.reused, false);
    assert.equal(client.stats.connectionsOpened, 2);
    assert.equal((await client.get('/http10-keepalive')).text(), 'ok');
    assert.equal((await client.get('/http10-keepalive')).timings.reused, true);
    assert.equal(client.stats.connectionsOpened, 3);
    client.close();
  });

  void it('opens a new connection after Connection: close', async () => {
    const client = new HttpClient({ baseUrl: server.url });
    assert.equal((await client.get('/conn-close')).text(), 'ok');
    const second = await client.get('/conn-close');
    assert.equal(second.timings.reused, false);
    assert.equal(client.stats.connectionsOpened, 2);
    client.close();
  });

  void it('reads a body delimited by the connection closing', async () => {
    const client = new HttpClient({ baseUrl: server.url });
    const res = await client.get('/close-delimited');
    assert.equal(res.text(), 'until the end');
    assert.equal((await client.get('/length-zero')).timings.reused, false);
    client.close();
  });

  void it('handles Content-Length: 0, 204, 304 and HEAD without a body, then reuses', async () => {
    const client = new HttpClient({ baseUrl: server.url });
    const zero = await client.get('/length-zero');
    assert.equal(zero.body.length, 0);
    const noContent = await client.get('/204');
    assert.equal(noContent.status, 204);
    assert.equal(noContent.header('x-a'), '1');
    const notModified = await client.get('/304');
    assert.equal(notModified.status, 304);
    assert.equal(notModified.body.length, 0);
    const head = await client.head('/head');
    assert.equal(head.header('content-length'), '12345');
    assert.equal(head.body.length, 0);
    const after = await client.get('/length-zero');
    assert.equal(after.timings.reused, true);
    assert.equal(client.stats.connectionsOpened, 1);
    client.close();
  });

  void it('skips 100 Continue', async () => {
    const client = new HttpClient({ baseUrl: server.url });
    const res = await client.get('/continue');
    assert.equal(res.status, 200);
    assert.equal(res.text(), 'ok');
    client.close();
  });

  void it('accepts a head of exactly the limit and rejects a bigger one as bad_response', async () => {
    const client = new HttpClient({ baseUrl: server.url });
    const ok = await client.get('/big-head-ok');
    assert.equal(ok.text(), 'ok');
    assert.equal(ok.header('x-big')?.length, MAX_HEADER_BYTES - 43 - 4);
    await assert.rejects(client.get('/big-head-over'), (error: unknown) => {
      assert.ok(error instanceof HttpError);
      assert.equal(error.kind, 'bad_response');
      assert.match(error.message, /exceeds/);
      return true;
    });
    client.close();
  });

  void it('exposes status text, lowercased joined headers and raw headers', async () => {
    const client = new HttpClient({ baseUrl: server.url });
    const res = await client.get('/set-cookie');
    assert.equal(res.status, 201);
    assert.equal(res.statusText, 'Created');
    assert.equal(res.ok, true);
    assert.equal(res.headers['set-cookie'], 'a=1, b=2');
    assert.equal(res.header('X-CASE'), 'Yes');
    assert.deepEqual(res.rawHeaders.slice(0, 4), ['Set-Cookie', 'a=1', 'Set-Cookie', 'b=2']);
    assert.equal(res.method, 'GET');
    assert.equal(res.url, `${server.url}/set-cookie`);
    assert.equal(res.redirects, 0);
    const missing = await client.get('/nope');
    assert.equal(missing.ok, false);
    client.close();
  });

  void it('sends the default headers and a request line with path and query', async () => {
    const client = new HttpClient({ baseUrl: server.url, headers: { 'X-Default': 'd' } });
    await client.get('/length-zero?q=1&r=%20#frag', {
      headers: { 'x-extra': 'e', 'user-agent': 'mine' },
    });
    const req = server.requests[server.requests.length - 1];
    assert.ok(req !== undefined);
    const lines = req.head.split('\r\n');
    assert.equal(lines[0], 'GET /length-zero?q=1&r=%20 HTTP/1.1');
    assert.ok(lines.includes(`host: 127.0.0.1:${server.port}`));
    assert.ok(lines.includes('accept: */*'));
    assert.ok(lines.includes('user-agent: mine'));
    assert.ok(lines.includes('X-Default: d'));
    assert.ok(lines.includes('x-extra: e'));
    client.close();
  });
});

void describe('HttpClient hot-path caches and lazy timers', () => {
  void it('a repeated request reuses its head; requests with options still send their own', async () => {
    const server = await rawServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
    const client = new HttpClient({ baseUrl: server.url });
    await client.get('/a');
    await client.get('/a');
    await client.get('/a', { headers: { 'x-once': '1' } });
    await client.get('/a');
    await client.head('/a');
    await client.get('/b');
    await client.get('/a');
    const heads = server.requests.map((r) => r.head.split('\r\n'));
    assert.deepEqual(
      heads.map((lines) => lines[0]),
      [
        'GET /a HTTP/1.1',
        'GET /a HTTP/1.1',
        'GET /a HTTP/1.1',
        'GET /a HTTP/1.1',
        'HEAD /a HTTP/1.1',
        'GET /b HTTP/1.1',
        'GET /a HTTP/1.1',
      ],
    );
    assert.deepEqual(
      heads.map((lines) => lines.includes('x-once: 1')),
      [false, false, true, false, false, false, false],
    );
    client.close();
    await server.close();
  });

  void it('a short timeout after long-timeout requests on the same connection still fires', async () => {
    const server = await rawServer((socket, req) => {
      if (req.head.startsWith('GET /hang')) return;
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
    const client = new HttpClient({ baseUrl: server.url, timeoutMs: 60_000 });
    for (let i = 0; i < 3; i++) assert.equal((await client.get('/')).text(), 'ok');
    const caught = await client.get('/hang', { timeoutMs: 80 }).then(
      () => assert.fail('expected a timeout'),
      (error: unknown) => error,
    );
    assert.ok(caught instanceof HttpError && caught.kind === 'timeout', String(caught));
    assert.equal(
      client.stats.connectionsOpened,
      1,
      'the timed-out request used the kept-alive socket',
    );
    // The client stays usable after the timeout (a new connection).
    assert.equal((await client.get('/')).text(), 'ok');
    client.close();
    await server.close();
  });

  void it('a response keeps its body, headers and timings after later responses reuse the read buffer', async () => {
    const server = await rawServer((socket, req) => {
      const n = String(req.indexOnSocket);
      socket.write(`HTTP/1.1 200 OK\r\nX-N: ${n}\r\nContent-Length: ${n.length}\r\n\r\n${n}`);
    });
    const client = new HttpClient({ baseUrl: server.url });
    const kept = [];
    for (let i = 0; i < 5; i++) kept.push(await client.get('/'));
    assert.deepEqual(
      kept.map((r) => [r.text(), r.header('x-n'), r.bodyBytes]),
      [0, 1, 2, 3, 4].map((i) => [String(i), String(i), 1]),
    );
    for (const r of kept) assertTimings(r.timings);
    assert.equal(kept[0]?.timings, kept[0]?.timings, 'timings are computed once');
    client.close();
    await server.close();
  });
});

void describe('HttpClient and process lifetime', () => {
  void it('an in-flight request keeps the process alive; idle kept-alive sockets do not', async () => {
    const server = await nodeServer((_req, res) => setTimeout(() => res.end('late'), 150));
    const clientModule = new URL('../../../src/clients/http1/index.js', import.meta.url).href;
    const script = `
      const { HttpClient } = await import(${JSON.stringify(clientModule)});
      const client = new HttpClient({ baseUrl: ${JSON.stringify(server.url)} });
      const res = await client.get('/');
      process.stdout.write(res.text());
      // Nothing else to do: the idle kept-alive socket must not hold the process.
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 0);
    assert.equal(out, 'late');
    await server.close();
  });
});

void describe('HttpClient connection reuse and limits', () => {
  void it('uses one connection for N sequential requests', async () => {
    const server = await nodeServer((_req, res) => res.end('hi'));
    const client = new HttpClient({ baseUrl: server.url });
    const N = 20;
    for (let i = 0; i < N; i++) {
      const res = await client.get('/');
      assert.equal(res.text(), 'hi');
      assert.equal(res.timings.reused, i > 0);
      assertTimings(res.timings);
      if (i === 0) assert.ok(res.timings.connectMs >= 0);
      else assert.equal(res.timings.connectMs, 0);
    }
    assert.equal(client.stats.connectionsOpened, 1);
    assert.equal(client.stats.requestsSent, N);
    assert.equal(server.connections, 1);
    client.close();
    await server.close();
  });

  void it('opens at most maxConnectionsPerOrigin connections and queues the rest', async () => {
    const server = await nodeServer((_req, res) => setTimeout(() => res.end('x'), 5));
    const client = new HttpClient({ baseUrl: server.url, maxConnectionsPerOrigin: 2 });
    const results = await Promise.all(Array.from({ length: 25 }, () => client.get('/')));
    assert.equal(results.length, 25);
    for (const r of results) assert.equal(r.text(), 'x');
    assert.equal(client.stats.connectionsOpened, 2);
    assert.equal(server.connections, 2);
    client.close();
    await server.close();
  });

  void it('the callback API delivers each response exactly once, asynchronously', async () => {
    const server = await nodeServer((_req, res) => res.end('cb'));
    const client = new HttpClient({ baseUrl: server.url });
    let sync = true;
    const body = await new Promise<string>((resolve, reject) => {
      client.requestCb('GET', '/', undefined, (err, res) => {
        assert.equal(sync, false);
        if (err !== null) reject(err);
        else resolve(res?.text() ?? '');
      });
      sync = false;
    });
    assert.equal(body, 'cb');
    client.close();
    await server.close();
  });

  void it('keepAlive: false sends connection: close and never reuses', async () => {
    const seen: string[] = [];
    const server = await nodeServer((req, res) => {
      seen.push(String(req.headers.connection));
      res.end('k');
    });
    const client = new HttpClient({ baseUrl: server.url, keepAlive: false });
    await client.get('/');
    const second = await client.get('/');
    assert.equal(second.timings.reused, false);
    assert.deepEqual(seen, ['close', 'close']);
    assert.equal(client.stats.connectionsOpened, 2);
    client.close();
    await server.close();
  });

  void it('retries an idempotent request once when a reused socket closes before any byte', async () => {
    const server = await rawServer((socket, req) => {
      if (req.indexOnSocket === 0 && req.connection === 0) {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst');
      } else if (req.indexOnSocket === 1) {
        socket.destroy(); // a server that timed the idle socket out just as we reused it
      } else {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nretry');
      }
    });
    const client = new HttpClient({ baseUrl: server.url });
    assert.equal((await client.get('/')).text(), 'first');
    const res = await client.get('/');
    assert.equal(res.text(), 'retry');
    assert.equal(res.timings.reused, false);
    assert.equal(client.stats.connectionsOpened, 2);

    // POST is not idempotent: the same situation is an error, not a retry.
    const client2 = new HttpClient({ baseUrl: server.url });
    const postServer = await rawServer((socket, req) => {
      if (req.indexOnSocket === 0) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
      else socket.destroy();
    });
    await client2.post(`${postServer.url}/a`);
    await assert.rejects(client2.post(`${postServer.url}/b`, { body: 'x' }), (error: unknown) => {
      assert.ok(error instanceof HttpError);
      assert.equal(error.kind, 'connection_closed');
      return true;
    });
    client.close();
    client2.close();
    await server.close();
    await postServer.close();
  });
});
