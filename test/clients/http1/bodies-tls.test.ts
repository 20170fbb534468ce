// Request bodies (json, text, bytes), redirects, and TLS against node:https with the
// test-only self-signed certificate in test/fixtures/tls.
import assert from 'node:assert/strict';
import https from 'node:https';
import { describe, it } from 'node:test';
import { HttpClient, HttpError } from '../../../src/clients/http1/index.js';
import { fixture, nodeServer, readBody } from './servers.js';

interface Echo {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

async function echoServer() {
  return nodeServer((req, res) => {
    void readBody(req).then((body) => {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          method: req.method,
          url: req.url,
          headers: req.headers,
          body: body.toString('utf8'),
        }),
      );
    });
  });
}

void describe('HttpClient request bodies', () => {
  void it('sends json with content-type and content-length', async () => {
    const server = await echoServer();
    const client = new HttpClient({ baseUrl: server.url });
    const res = await client.post('/j', { json: { a: 1, s: 'é' } });
    const echo = res.json<Echo>();
    assert.equal(echo.method, 'POST');
    assert.equal(echo.headers['content-type'], 'application/json');
    assert.equal(echo.headers['content-length'], String(Buffer.byteLength('{"a":1,"s":"é"}')));
    assert.deepEqual(JSON.parse(echo.body), { a: 1, s: 'é' });
    client.close();
    await server.close();
  });

  void it('sends text and bytes bodies, small and large, and an empty POST', async () => {
    const server = await echoServer();
    const client = new HttpClient({ baseUrl: server.url });
    const text = await client.put('/t', {
      body: 'hello ✓',
      headers: { 'content-type': 'text/plain' },
    });
    assert.equal(text.json<Echo>().body, 'hello ✓');
    assert.equal(text.json<Echo>().headers['content-length'], String(Buffer.byteLength('hello ✓')));
    const bytes = new Uint8Array([104, 105]);
    assert.equal((await client.patch('/b', { body: bytes })).json<Echo>().body, 'hi');
    const large = 'L'.repeat(300_000);
    const big = (await client.post('/big', { body: large })).json<Echo>();
    assert.equal(big.body.length, large.length);
    const empty = (await client.post('/empty')).json<Echo>();
    assert.equal(empty.headers['content-length'], '0');
    const del = (await client.delete('/d')).json<Echo>();
    assert.equal(del.method, 'DELETE');
    assert.equal(del.headers['content-length'], undefined);
    const opts = (await client.options('/o')).json<Echo>();
    assert.equal(opts.method, 'OPTIONS');
    // All of it on one kept-alive connection.
    assert.equal(client.stats.connectionsOpened, 1);
    client.close();
    await server.close();
  });

  void it('discardBody counts the bytes and keeps none', async () => {
    const server = await nodeServer((_req, res) => res.end('x'.repeat(1000)));
    const client = new HttpClient({ baseUrl: server.url });
    const res = await client.get('/', { discardBody: true });
    assert.equal(res.body.length, 0);
    assert.equal(res.bodyBytes, 1000);
    client.close();
    await server.close();
  });
});

void describe('HttpClient redirects', () => {
  async function redirectServer() {
    return nodeServer((req, res) => {
      void readBody(req).then((body) => {
        const url = req.url ?? '/';
        const hop = /^\/hop\/(\d+)$/.exec(url);
        if (hop !== null) {
          const n = Number(hop[1]);
          res.statusCode = 302;
          res.setHeader('location', n > 1 ? `/hop/${n - 1}` : '/final');
          res.end();
          return;
        }
        const code = /^\/code\/(\d+)$/.exec(url);
        if (code !== null) {
          res.statusCode = Number(code[1]);
          res.setHeader('location', '/final');
          res.end();
          return;
        }
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({ method: req.method, url, body: body.toString(), headers: req.headers }),
        );
      });
    });
  }

  void it('does not follow redirects by default', async () => {
    const server = await redirectServer();
    const client = new HttpClient({ baseUrl: server.url });
    const res = await client.get('/hop/1');
    assert.equal(res.status, 302);
    assert.equal(res.header('location'), '/final');
    assert.equal(res.redirects, 0);
    client.close();
    await server.close();
  });

  void it('follows up to the limit and counts redirects', async () => {
    const server = await redirectServer();
    const client = new HttpClient({ baseUrl: server.url, followRedirects: 3 });
    const res = await client.get('/hop/3');
    assert.equal(res.status, 200);
    assert.equal(res.redirects, 3);
    assert.equal(res.url, `${server.url}/final`);
    await assert.rejects(client.get('/hop/4'), (error: unknown) => {
      assert.ok(error instanceof HttpError);
      assert.equal(error.kind, 'too_many_redirects');
      return true;
    });
    // A per-request limit overrides the client's.
    assert.equal((await client.get('/hop/3', { followRedirects: 0 })).status, 302);
    client.close();
    await server.close();
  });

  void it('turns POST into GET without body on 301/302/303 and keeps it on 307/308', async () => {
    const server = await redirectServer();
    const client = new HttpClient({ baseUrl: server.url, followRedirects: 1 });
    for (const code of [301, 302, 303]) {
      const echo = (await client.post(`/code/${code}`, { json: { x: 1 } })).json<Echo>();
      assert.equal(echo.method, 'GET', String(code));
      assert.equal(echo.body, '');
      assert.equal(echo.headers['content-type'], undefined);
    }
    for (const code of [307, 308]) {
      const echo = (await client.post(`/code/${code}`, { body: 'keep' })).json<Echo>();
      assert.equal(echo.method, 'POST', String(code));
      assert.equal(echo.body, 'keep');
    }
    const put303 = (await client.put('/code/303', { body: 'z' })).json<Echo>();
    assert.equal(put303.method, 'GET');
    client.close();
    await server.close();
  });
});

void describe('HttpClient over TLS', () => {
  const key = fixture('tls/localhost-key.pem');
  const cert = fixture('tls/localhost-cert.pem');

  async function httpsServer() {
    return nodeServer(
      (req, res) => res.end(`secure ${req.url}`),
      (handler) => https.createServer({ key, cert }, handler),
      'https',
    );
  }

  void it('talks to node:https with the test CA, timing connect and TLS separately', async () => {
    const server = await httpsServer();
    const client = new HttpClient({ baseUrl: server.url, tls: { ca: cert } });
    const first = await client.get('/a');
    assert.equal(first.text(), 'secure /a');
    assert.ok(first.timings.tlsMs > 0);
    assert.ok(first.timings.connectMs >= 0);
    assert.ok(first.timings.totalMs >= first.timings.ttfbMs);
    assert.equal(first.timings.reused, false);
    const second = await client.get('/b');
    assert.equal(second.text(), 'secure /b');
    assert.equal(second.timings.reused, true);
    assert.equal(second.timings.tlsMs, 0);
    assert.equal(client.stats.connectionsOpened, 1);
    client.close();
    await server.close();
  });

  void it('verifies the hostname via SNI for https://localhost', async () => {
    const server = await httpsServer();
    const client = new HttpClient({ tls: { ca: cert } });
    const res = await client.get(`https://localhost:${server.port}/dns`);
    assert.equal(res.text(), 'secure /dns');
    assert.ok(res.timings.dnsMs >= 0);
    client.close();
    await server.close();
  });

  void it('rejects an untrusted certificate as tls, unless told not to verify', async () => {
    const server = await httpsServer();
    const strict = new HttpClient({ baseUrl: server.url });
    await assert.rejects(strict.get('/'), (error: unknown) => {
      assert.ok(error instanceof HttpError);
      assert.equal(error.kind, 'tls');
      return true;
    });
    strict.close();
    const lax = new HttpClient({ baseUrl: server.url, tls: { rejectUnauthorized: false } });
    assert.equal((await lax.get('/')).text(), 'secure /');
    lax.close();
    await server.close();
  });

  void it('rejects a certificate for another name as tls', async () => {
    const server = await httpsServer();
    const client = new HttpClient({
      baseUrl: server.url,
      tls: { ca: cert, servername: 'example.com' },
    });
    await assert.rejects(
      client.get('/'),
      (error: unknown) => error instanceof HttpError && error.kind === 'tls',
    );
    client.close();
    await server.close();
  });
});
