// Every HttpErrorKind the client can produce, each from a real socket situation on 127.0.0.1,
// and the guarantee that requests fail with HttpError (never a throw, never a crash).
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { HttpClient, HttpError, type HttpErrorKind } from '../../../src/clients/http1/index.js';
import { SalvoError } from '../../../src/errors.js';
import { closedPort, nodeServer, rawServer } from './servers.js';

async function expectKind(promise: Promise<unknown>, kind: HttpErrorKind): Promise<HttpError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof HttpError, `expected HttpError ${kind}, got ${String(caught)}`);
  assert.ok(caught instanceof SalvoError);
  assert.equal(caught.code, 'E_HTTP');
  assert.equal(caught.kind, kind, caught.message);
  assert.ok(caught.timings.totalMs >= 0);
  return caught;
}

void describe('HttpClient error kinds', () => {
  void it('connect_refused: nothing listens on the port', async () => {
    const port = await closedPort();
    const client = new HttpClient();
    const error = await expectKind(client.get(`http://127.0.0.1:${port}/x`), 'connect_refused');
    assert.equal(error.url, `http://127.0.0.1:${port}/x`);
    assert.equal(error.method, 'GET');
    client.close();
  });

  void it('connection_reset: the server resets the socket mid-response', async () => {
    const server = await rawServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial', () =>
        setTimeout(() => socket.resetAndDestroy(), 5),
      );
    });
    const client = new HttpClient({ baseUrl: server.url });
    await expectKind(client.get('/'), 'connection_reset');
    client.close();
    await server.close();
  });

  void it('connection_closed: the server closes mid-response', async () => {
    const server = await rawServer((socket) => {
      socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial');
    });
    const client = new HttpClient({ baseUrl: server.url });
    const error = await expectKind(client.get('/'), 'connection_closed');
    assert.ok(error.timings.ttfbMs >= 0);
    await expectKind(client.get('/chunked'), 'connection_closed');
    client.close();
    await server.close();
  });

  void it('connection_closed: the server closes without answering (first use, no retry)', async () => {
    const server = await rawServer((socket) => socket.end());
    const client = new HttpClient({ baseUrl: server.url });
    await expectKind(client.get('/'), 'connection_closed');
    assert.equal(client.stats.connectionsOpened, 1);
    client.close();
    await server.close();
  });

  void it('timeout: the server never answers', async () => {
    const server = await rawServer(() => undefined);
    const client = new HttpClient({ baseUrl: server.url, timeoutMs: 150 });
    const error = await expectKind(client.get('/'), 'timeout');
    assert.ok(error.timings.totalMs >= 100);
    // A per-request timeout overrides the client's.
    await expectKind(client.get('/', { timeoutMs: 50 }), 'timeout');
    client.close();
    await server.close();
  });

  void it('connect_timeout: the TLS handshake never completes', async () => {
    const server = await rawServer(() => undefined); // accepts TCP, never speaks TLS
    const client = new HttpClient({ connectTimeoutMs: 150, timeoutMs: 5_000 });
    await expectKind(client.get(`https://127.0.0.1:${server.port}/`), 'connect_timeout');
    client.close();
    await server.close();
  });

  void it('dns: a .invalid hostname', async () => {
    const client = new HttpClient();
    const error = await expectKind(client.get('http://no-such-host.invalid/'), 'dns');
    assert.equal(error.url, 'http://no-such-host.invalid/');
    client.close();
  });

  void it('bad_response: garbage instead of HTTP', async () => {
    const server = await rawServer((socket) => socket.write('SSH-2.0-OpenSSH_9.6\r\n'));
    const client = new HttpClient({ baseUrl: server.url });
    await expectKind(client.get('/'), 'bad_response');
    client.close();
    await server.close();
  });

  void it('bad_response: a body that is not JSON when json() is asked for', async () => {
    const server = await nodeServer((_req, res) => res.end('not json'));
    const client = new HttpClient({ baseUrl: server.url });
    const res = await client.get('/');
    assert.throws(
      () => res.json(),
      (error: unknown) => error instanceof HttpError && error.kind === 'bad_response',
    );
    client.close();
    await server.close();
  });

  void it('tls: speaking https to a plain HTTP server', async () => {
    const server = await nodeServer((_req, res) => res.end('plain'));
    const client = new HttpClient();
    await expectKind(client.get(`https://127.0.0.1:${server.port}/`), 'tls');
    client.close();
    await server.close();
  });

  void it('bad_request: invalid URL, method, headers or body — asynchronously, never thrown', async () => {
    const client = new HttpClient();
    await expectKind(client.get('/relative-without-base'), 'bad_request');
    await expectKind(client.get('ftp://127.0.0.1/'), 'bad_request');
    await expectKind(client.request('BAD METHOD', 'http://127.0.0.1:1/'), 'bad_request');
    await expectKind(
      client.get('http://127.0.0.1:1/', { headers: { 'x-a': 'a\r\nInjected: 1' } }),
      'bad_request',
    );
    await expectKind(
      client.get('http://127.0.0.1:1/', { headers: { 'bad name': 'x' } }),
      'bad_request',
    );
    await expectKind(client.post('http://127.0.0.1:1/', { json: { n: 1n } }), 'bad_request');
    await expectKind(
      client.post('http://127.0.0.1:1/', { body: 42 as unknown as string }),
      'bad_request',
    );
    await expectKind(client.get('http://127.0.0.1:1/', { timeoutMs: -1 }), 'bad_request');
    assert.equal(client.stats.connectionsOpened, 0);
    assert.throws(() => new HttpClient({ baseUrl: 'not a url' }), HttpError);
    assert.throws(() => new HttpClient({ maxConnectionsPerOrigin: 0 }), HttpError);
    client.close();
  });

  void it('queue_full: more than 1024 requests waiting for one connection', async () => {
    const server = await rawServer(() => undefined);
    const client = new HttpClient({ baseUrl: server.url, maxConnectionsPerOrigin: 1 });
    const pending = Array.from({ length: 1026 }, () =>
      client.get('/').then(
        () => 'ok',
        (error: unknown) => (error instanceof HttpError ? error.kind : 'other'),
      ),
    );
    // One request on the connection, 1024 queued, the last one overflows.
    assert.equal(await pending[1025], 'queue_full');
    client.close();
    const kinds = await Promise.all(pending.slice(0, 1025));
    assert.ok(kinds.every((k) => k === 'connection_closed'));
    await server.close();
  });

  void it('close() fails in-flight requests with connection_closed and the client stays usable', async () => {
    const server = await rawServer((socket, req) => {
      if (req.head.startsWith('GET /ok'))
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    });
    const client = new HttpClient({ baseUrl: server.url });
    const inflight = client.get('/hang');
    await new Promise((resolve) => setTimeout(resolve, 20));
    client.close();
    await expectKind(inflight, 'connection_closed');
    assert.equal((await client.get('/ok')).status, 200);
    client.close();
    await server.close();
  });

  void it('a socket error after the response completed is just that socket ending', async () => {
    let sockets = 0;
    const server = await rawServer((socket) => {
      sockets++;
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', () =>
        setTimeout(() => socket.resetAndDestroy(), 5),
      );
    });
    const client = new HttpClient({ baseUrl: server.url });
    assert.equal((await client.get('/')).text(), 'ok');
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal((await client.get('/')).text(), 'ok');
    assert.equal(sockets, 2);
    client.close();
    await server.close();
  });

  void it('bytes arriving on an idle connection close it', async () => {
    const server = await rawServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      setTimeout(() => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstray'), 10);
    });
    const client = new HttpClient({ baseUrl: server.url });
    assert.equal((await client.get('/')).text(), 'ok');
    await new Promise((resolve) => setTimeout(resolve, 40));
    const second = await client.get('/');
    assert.equal(second.text(), 'ok');
    assert.equal(second.timings.reused, false);
    client.close();
    await server.close();
  });
});

void describe('HttpClient resilience', () => {
  void it('many failing requests at once never crash the process', async () => {
    const port = await closedPort();
    const client = new HttpClient({ maxConnectionsPerOrigin: 50 });
    const results = await Promise.allSettled(
      Array.from({ length: 200 }, () => client.get(`http://127.0.0.1:${port}/`)),
    );
    assert.ok(results.every((r) => r.status === 'rejected' && r.reason instanceof HttpError));
    client.close();
    const sink = net.createServer();
    sink.close();
  });
});
