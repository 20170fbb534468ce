// The embedded target server (`salvo serve`), driven with Salvo's own HttpClient: every route,
// every bad input, keep-alive, and the request counter.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HttpClient, HttpError } from '../../src/clients/http1/index.js';
import {
  MAX_BYTES_RESPONSE,
  MAX_ECHO_BODY_BYTES,
  TARGET_JSON,
  TARGET_ROUTES,
  type TargetServer,
  startTargetServer,
} from '../../src/target/server.js';
import { OptionError } from '../../src/errors.js';

void describe('target server', () => {
  let server: TargetServer;
  let client: HttpClient;
  before(async () => {
    server = await startTargetServer({ port: 0 });
    client = new HttpClient({ baseUrl: server.url });
  });
  after(async () => {
    client.close();
    await server.close();
  });

  void it('listens on 127.0.0.1 by default and reports its url and port', () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(server.port > 0);
    assert.equal(server.url, `http://127.0.0.1:${server.port}`);
  });

  void it('GET / → 200 ok', async () => {
    const res = await client.get('/');
    assert.equal(res.status, 200);
    assert.equal(res.text(), 'ok');
    assert.match(res.header('content-type') ?? '', /^text\/plain/);
  });

  void it('/echo returns method, url, headers and body for any method', async () => {
    const post = await client.post('/echo?x=1', {
      json: { hello: 'world' },
      headers: { 'x-test': 't' },
    });
    const doc = post.json<{
      method: string;
      url: string;
      headers: Record<string, string>;
      body: string;
    }>();
    assert.equal(doc.method, 'POST');
    assert.equal(doc.url, '/echo?x=1');
    assert.equal(doc.headers['x-test'], 't');
    assert.equal(doc.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(doc.body), { hello: 'world' });
    for (const method of ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const res = await client.request(method, '/echo');
      assert.equal(res.json<{ method: string }>().method, method);
    }
  });

  void it('POST /login returns a token that POST /orders accepts as a bearer; without it /orders is 401', async () => {
    const login = await client.post('/login', { json: { user: 'demo' } });
    assert.equal(login.status, 200);
    const { token } = login.json<{ token: string }>();
    assert.match(token, /^salvo-demo-/);
    const order = await client.post('/orders', {
      headers: { authorization: `Bearer ${token}` },
      json: { items: 3 },
    });
    assert.equal(order.status, 201);
    assert.equal(order.json<{ items: number }>().items, 3);
    assert.equal((await client.post('/orders', { json: { items: 1 } })).status, 401);
    assert.equal((await client.post('/login', { json: {} })).status, 400);
    assert.equal((await client.get('/login')).status, 405);
  });

  void it('/echo refuses a body over its limit with 413', async () => {
    const res = await client.post('/echo', { body: Buffer.alloc(MAX_ECHO_BODY_BYTES + 1, 'a') });
    assert.equal(res.status, 413);
  });

  void it('/json returns the fixed document', async () => {
    const res = await client.get('/json');
    assert.equal(res.header('content-type'), 'application/json');
    assert.deepEqual(res.json(), TARGET_JSON);
  });

  void it('/bytes/:n returns exactly n bytes', async () => {
    for (const n of [0, 1, 1000, 65536, 200_001]) {
      const res = await client.get(`/bytes/${n}`);
      assert.equal(res.status, 200);
      assert.equal(res.body.length, n);
      assert.equal(res.header('content-length'), String(n));
    }
    const max = await client.get(`/bytes/${MAX_BYTES_RESPONSE}`, { discardBody: true });
    assert.equal(max.bodyBytes, MAX_BYTES_RESPONSE);
  });

  void it('/bytes/:n rejects too large or non-numeric n with 400', async () => {
    for (const arg of [String(MAX_BYTES_RESPONSE + 1), 'abc', '-1', '1.5', '99999999999']) {
      const res = await client.get(`/bytes/${arg}`);
      assert.equal(res.status, 400, arg);
      assert.match(res.text(), /\/bytes\/:n needs an integer/);
    }
  });

  void it('/delay/:ms answers after the delay', async () => {
    const res = await client.get('/delay/30');
    assert.equal(res.status, 200);
    assert.equal(res.text(), 'delayed 30 ms\n');
    assert.ok(res.timings.totalMs >= 25);
    assert.equal((await client.get('/delay/0')).status, 200);
  });

  void it('/delay/:ms rejects more than 60000 or non-numeric with 400', async () => {
    for (const arg of ['60001', 'soon', '-5']) {
      const res = await client.get(`/delay/${arg}`);
      assert.equal(res.status, 400, arg);
      assert.match(res.text(), /\/delay\/:ms needs an integer/);
    }
  });

  void it('/status/:code answers with that status', async () => {
    for (const code of [200, 201, 301, 404, 418, 500, 503, 599]) {
      const res = await client.get(`/status/${code}`);
      assert.equal(res.status, code);
      assert.match(res.text(), new RegExp(`^${code} `));
    }
  });

  void it('/status/204 and /status/304 have no body; a 1xx comes before a final 200', async () => {
    for (const code of [204, 304]) {
      const res = await client.get(`/status/${code}`);
      assert.equal(res.status, code);
      assert.equal(res.body.length, 0);
    }
    for (const code of [100, 102, 103, 150]) {
      const res = await client.get(`/status/${code}`);
      assert.equal(res.status, 200);
      assert.match(res.text(), new RegExp(`informational ${code}`));
    }
    assert.equal((await client.get('/status/101')).status, 400);
  });

  void it('/status/:code rejects codes outside 100–599 with 400', async () => {
    for (const arg of ['99', '600', 'teapot', '2000']) {
      const res = await client.get(`/status/${arg}`);
      assert.equal(res.status, 400, arg);
      assert.match(res.text(), /\/status\/:code needs an integer code from 100 to 599/);
    }
  });

  void it('unknown paths → 404 listing the routes; wrong methods → 405', async () => {
    const res = await client.get('/nope');
    assert.equal(res.status, 404);
    const text = res.text();
    for (const route of TARGET_ROUTES) assert.ok(text.includes(route.path), route.path);
    assert.equal((await client.get('/bytes')).status, 404);
    const wrong = await client.post('/json', { body: 'x' });
    assert.equal(wrong.status, 405);
    assert.equal(wrong.header('allow'), 'GET, HEAD');
    const head = await client.head('/json');
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
  });

  void it('keeps connections alive and counts requests', async () => {
    const fresh = new HttpClient({ baseUrl: server.url });
    const before = server.requests;
    for (let i = 0; i < 10; i++) await fresh.get('/');
    assert.equal(fresh.stats.connectionsOpened, 1);
    assert.equal(server.requests - before, 10);
    fresh.close();
  });

  void it('every route has a path and a one-line description', () => {
    assert.equal(TARGET_ROUTES.length, 8);
    for (const route of TARGET_ROUTES) {
      assert.ok(route.path.startsWith('/'));
      assert.ok(route.description.length > 0 && !route.description.includes('\n'));
    }
  });
});

void describe('target server lifecycle', () => {
  void it('close() ends kept-alive connections and is idempotent; requests stay readable', async () => {
    const server = await startTargetServer({ port: 0 });
    const client = new HttpClient({ baseUrl: server.url });
    await client.get('/');
    await Promise.all([server.close(), server.close()]);
    assert.equal(server.requests, 1);
    await assert.rejects(client.get('/'), (error: unknown) => error instanceof HttpError);
    client.close();
  });

  void it('rejects an invalid or busy port with OptionError', async () => {
    await assert.rejects(startTargetServer({ port: 70000 }), OptionError);
    const first = await startTargetServer({ port: 0 });
    await assert.rejects(startTargetServer({ port: first.port }), (error: unknown) => {
      assert.ok(error instanceof OptionError);
      assert.match(error.message, /cannot listen/);
      return true;
    });
    await first.close();
  });
});
