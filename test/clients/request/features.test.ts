// Request features on both HTTP clients against the embedded target (HTTP/1.1) and its h2c
// peer (HTTP/2): cookie jar scope, form and multipart bodies (parsed by the platform's own
// FormData parser), basic and digest auth, gzip/deflate/br decoding, named/tagged statistics.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { HttpClient } from '../../../src/clients/http1/index.js';
import { Http2Client } from '../../../src/clients/http2/index.js';
import type { TargetServer } from '../../../src/target/server.js';
import type { ProtocolPeers } from '../../../src/target/peers.js';
import type { RequestObserver } from '../../../src/clients/client.js';
import { startTargetWithPeers } from '../../support/peers.js';

let target: TargetServer;
let peers: ProtocolPeers;

let stop: () => Promise<void>;

before(async () => {
  ({ target, peers, close: stop } = await startTargetWithPeers());
});
after(() => stop());

type Observed = Parameters<RequestObserver>;
type AnyClient = HttpClient | Http2Client;

function make(
  kind: 'http1' | 'http2',
  options: { cookies?: boolean; observe?: RequestObserver } = {},
): AnyClient {
  return kind === 'http1'
    ? new HttpClient({ baseUrl: target.url, ...options })
    : new Http2Client({ baseUrl: peers.h2cUrl, ...options });
}

for (const kind of ['http1', 'http2'] as const) {
  describe(`request features over ${kind}`, () => {
    test('cookie jar: Set-Cookie is sent back in scope, not to another host, not when disabled', async () => {
      const client = make(kind);
      const off = make(kind, { cookies: false });
      try {
        await client.get('/cookies/set?session=abc&theme=dark');
        const back = await client.get('/cookies');
        assert.deepEqual(back.json(), { session: 'abc', theme: 'dark' });
        const mixed = await client.get('/cookies', { headers: { cookie: 'own=1' } });
        assert.deepEqual(mixed.json(), { own: '1', session: 'abc', theme: 'dark' });
        const otherHost = (kind === 'http1' ? target.url : peers.h2cUrl).replace(
          '127.0.0.1',
          'localhost',
        );
        const elsewhere = await client.get(`${otherHost}/cookies`);
        assert.deepEqual(elsewhere.json(), {}, 'host-only cookies stay on their host');
        await off.get('/cookies/set?session=abc');
        assert.deepEqual((await off.get('/cookies')).json(), {});
        assert.equal(off.cookies, null);
        assert.deepEqual(
          client.cookies?.cookiesFor(`${kind === 'http1' ? target.url : peers.h2cUrl}/`),
          {
            session: 'abc',
            theme: 'dark',
          },
        );
      } finally {
        client.close();
        off.close();
      }
    });

    test('form-urlencoded and multipart bodies with a file', async () => {
      const client = make(kind);
      try {
        const form = await client.post('/upload', { form: { a: 1, tags: ['x', 'y z'] } });
        assert.deepEqual(form.json(), {
          contentType: 'application/x-www-form-urlencoded',
          fields: { a: ['1'], tags: ['x', 'y z'] },
          files: {},
        });
        const bytes = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 251));
        const multi = await client.post('/upload', {
          multipart: {
            title: 'report',
            file: { data: bytes, filename: 'data.bin', contentType: 'application/x-test' },
          },
        });
        assert.deepEqual(multi.json(), {
          contentType: 'multipart/form-data',
          fields: { title: ['report'] },
          files: {
            file: {
              filename: 'data.bin',
              type: 'application/x-test',
              size: 5000,
              sha256: createHash('sha256').update(bytes).digest('hex'),
            },
          },
        });
        await assert.rejects(client.post('/upload', { form: { a: 1 }, json: {} }), {
          kind: 'bad_request',
        });
      } finally {
        client.close();
      }
    });

    test('basic and digest auth', async () => {
      const client = make(kind);
      try {
        assert.equal((await client.get('/auth/basic')).status, 401);
        const basic = await client.get('/auth/basic', {
          auth: { username: 'salvo', password: 'secret' },
        });
        assert.equal(basic.status, 200);
        const wrong = await client.get('/auth/basic', {
          auth: { username: 'salvo', password: 'nope' },
        });
        assert.equal(wrong.status, 401);
        const digest = await client.get('/auth/digest', {
          auth: { username: 'salvo', password: 'secret', type: 'digest' },
        });
        assert.equal(digest.status, 200);
        assert.deepEqual(digest.json(), { user: 'salvo' });
        const badDigest = await client.get('/auth/digest', {
          auth: { username: 'salvo', password: 'nope', type: 'digest' },
        });
        assert.equal(badDigest.status, 401);
      } finally {
        client.close();
      }
    });

    test('gzip, deflate and br bodies are decoded by text()/json(); body stays as received', async () => {
      const client = make(kind);
      try {
        for (const enc of ['gzip', 'deflate', 'br']) {
          const res = await client.get(`/compressed/${enc}`);
          assert.equal(res.header('content-encoding'), enc);
          assert.deepEqual(res.json(), { compressed: true, items: [1, 2, 3] });
          assert.notDeepEqual(res.body, res.decoded);
        }
      } finally {
        client.close();
      }
    });

    test('named and tagged requests report to their group: latency, status, failure kind', async () => {
      const seen: Observed[] = [];
      const client = make(kind, { observe: (...args) => seen.push(args) });
      try {
        await client.get('/json', { name: 'GET /json' });
        await client.get('/status/503', {
          name: 'GET /status/:code',
          tags: { tier: 'b', area: 'x' },
        });
        await client.get('/json');
        assert.deepEqual(
          seen.map(([group, , status, failure]) => [group, status, failure?.kind]),
          [
            ['http{name:GET /json}', 200, undefined],
            ['http{name:GET /status/:code,area:x,tier:b}', 503, 'status_503'],
          ],
        );
        assert.ok(seen.every(([, latencyUs]) => latencyUs > 0));
      } finally {
        client.close();
      }
    });
  });
}
