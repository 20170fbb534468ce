// The HTTP/2 client's own framing against Node's http2 server (nghttp2 inside): flow control
// both ways beyond the default windows, header values the server Huffman-codes, a graceful
// GOAWAY, a per-session stream cap, and sessions shared by several clients (Http2SessionGroup).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { Http2Client, Http2SessionGroup } from '../../../src/clients/http2/index.js';
import { ClientError } from '../../../src/clients/client.js';

/** Every byte a header value may carry (tab, visible ASCII, obs-text). */
const ALL_VALUE_BYTES = (() => {
  let s = '\t';
  for (let i = 0x20; i <= 0x7e; i++) s += String.fromCharCode(i);
  for (let i = 0x80; i <= 0xff; i++) s += String.fromCharCode(i);
  return s;
})();

/** Resolves when `cond` holds; fails naming `what` after 5 s. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), what);
}

/** Shorter Huffman-coded than raw, so nghttp2 sends it Huffman-coded. */
const TEXT = 'the quick brown fox jumps over the lazy dog 0123456789 /a/b?c=d&e=f';

let server: http2.Http2Server;
let base = '';
let sessionsSeen = 0;
let sessionsClosed = 0;
let openStreams = 0;
let maxOpenStreams = 0;
const sessionIds = new WeakMap<http2.Http2Session, number>();

before(async () => {
  server = http2.createServer();
  server.on('session', (s) => {
    sessionIds.set(s, ++sessionsSeen);
    s.on('close', () => sessionsClosed++);
  });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    openStreams++;
    maxOpenStreams = Math.max(maxOpenStreams, openStreams);
    stream.on('close', () => openStreams--);
    const path = String(headers[':path']);
    const sid = String(sessionIds.get(stream.session!));
    if (path === '/echo') {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        stream.respond({ ':status': 200 });
        stream.end(Buffer.concat(chunks));
      });
      return;
    }
    if (path.startsWith('/big/')) {
      stream.respond({ ':status': 200 });
      stream.end(Buffer.alloc(Number(path.slice(5)), 9));
      return;
    }
    if (path === '/bytes') {
      stream.respond({ ':status': 200, 'x-all': ALL_VALUE_BYTES, 'x-text': TEXT, 'x-sid': sid });
      stream.end();
      return;
    }
    if (path.startsWith('/wait/')) {
      const t = setTimeout(
        () => {
          if (stream.closed) return;
          stream.respond({ ':status': 200 });
          stream.end('waited');
        },
        Number(path.slice(6)),
      );
      stream.on('close', () => clearTimeout(t));
      return;
    }
    if (path === '/close-session') {
      // A graceful GOAWAY (NO_ERROR) while this stream is in flight; it still completes.
      stream.session?.close();
      setTimeout(() => {
        stream.respond({ ':status': 200, 'x-sid': sid });
        stream.end('done');
      }, 30);
      return;
    }
    setTimeout(() => {
      if (stream.closed) return;
      stream.respond({ ':status': 200, 'x-sid': sid });
      stream.end(path);
    }, 10);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => server.close());

describe('Http2Client framing against node:http2', () => {
  test('flow control: a 1 MB upload and 3 MB downloads cross every default window', async () => {
    const client = new Http2Client({ baseUrl: base });
    try {
      const up = Buffer.alloc(1_000_000);
      for (let i = 0; i < up.length; i++) up[i] = i % 251;
      const echoed = await client.post('/echo', { body: up });
      assert.equal(echoed.bodyBytes, up.length);
      assert.ok(echoed.body.equals(up), 'the body came back byte for byte');
      const downs = await Promise.all([1, 2, 3].map(() => client.get('/big/3000000')));
      for (const d of downs) {
        assert.equal(d.bodyBytes, 3_000_000);
        assert.ok(d.body.every((b) => b === 9));
      }
      assert.equal(client.stats.sessionsOpened, 1);
    } finally {
      client.close();
    }
  });

  test('a stream outlives 600 newer ones on its session and still completes', async () => {
    const client = new Http2Client({ baseUrl: base });
    try {
      const slow = client.get('/wait/300');
      for (let round = 0; round < 6; round++) {
        const quick = await Promise.all(
          Array.from({ length: 100 }, (_, i) => client.get(`/q/${round}/${i}`)),
        );
        assert.ok(quick.every((r, i) => r.text() === `/q/${round}/${i}`));
      }
      const res = await slow;
      assert.equal(res.text(), 'waited');
      assert.equal(client.stats.sessionsOpened, 1);
      assert.equal(client.stats.streamsStarted, 601);
    } finally {
      client.close();
    }
  });

  test('header values the server Huffman-codes decode to the bytes it sent', async () => {
    const client = new Http2Client({ baseUrl: base });
    try {
      for (let i = 0; i < 3; i++) {
        // The second and third responses use the server's dynamic table.
        const res = await client.get('/bytes');
        assert.equal(res.headers['x-all'], ALL_VALUE_BYTES);
        assert.equal(res.headers['x-text'], TEXT);
        const json = JSON.parse(JSON.stringify(res)) as { headers: Record<string, string> };
        assert.equal(json.headers['x-text'], TEXT, 'JSON carries the headers');
      }
    } finally {
      client.close();
    }
  });

  test('a graceful GOAWAY lets the stream in flight finish; the next request opens a session', async () => {
    const client = new Http2Client({ baseUrl: base });
    try {
      const first = await client.get('/close-session');
      assert.equal(first.status, 200);
      assert.equal(first.text(), 'done');
      const next = await client.get('/after');
      assert.equal(next.status, 200);
      assert.notEqual(next.header('x-sid'), first.header('x-sid'));
      assert.equal(client.stats.sessionsOpened, 2);
    } finally {
      client.close();
    }
  });

  test('maxStreamsPerSession caps concurrent streams below the server limit', async () => {
    const client = new Http2Client({ baseUrl: base, maxStreamsPerSession: 3 });
    try {
      await client.get('/warm');
      maxOpenStreams = 0;
      const all = await Promise.all(Array.from({ length: 12 }, (_, i) => client.get(`/c/${i}`)));
      assert.ok(all.every((r) => r.status === 200));
      assert.ok(maxOpenStreams <= 3, `at most 3 streams at once, saw ${maxOpenStreams}`);
      assert.equal(client.stats.sessionsOpened, 1);
    } finally {
      client.close();
    }
  });

  test('bad options and header fields HTTP/2 forbids are bad_request', async () => {
    assert.throws(() => new Http2Client({ maxStreamsPerSession: 0 }), /maxStreamsPerSession/);
    assert.throws(
      () => new Http2SessionGroup({ connections: 1.5 }, { connectTimeoutMs: 1000 }),
      /http2.connections must be an integer/,
    );
    const client = new Http2Client({ baseUrl: base });
    try {
      await assert.rejects(client.get('/', { headers: { Connection: 'keep-alive' } }), {
        kind: 'bad_request',
      });
      await assert.rejects(client.get('/', { headers: { 'x-a': 'line\r\nbreak' } }), {
        kind: 'bad_request',
      });
    } finally {
      client.close();
    }
  });
});

describe('Http2SessionGroup: sessions shared by clients', () => {
  test('clients spread streams over the group’s sessions; the last close closes them', async () => {
    const group = new Http2SessionGroup({ connections: 2 }, { connectTimeoutMs: 5000 });
    const clients = [1, 2, 3].map(() => new Http2Client({ baseUrl: base, sessions: group }));
    const before = sessionsSeen;
    const all = await Promise.all(
      clients.flatMap((c, ci) => Array.from({ length: 10 }, (_, i) => c.get(`/s/${ci}/${i}`))),
    );
    assert.ok(all.every((r) => r.status === 200));
    assert.equal(group.stats.sessionsOpened, 2);
    assert.equal(sessionsSeen - before, 2, 'the server saw two sessions');
    assert.equal(new Set(all.map((r) => r.header('x-sid'))).size, 2, 'both carried streams');
    assert.equal(clients[0]?.stats.sessionsOpened, 2);
    assert.equal(clients[0]?.stats.streamsStarted, 10);

    // One client closing fails only its own requests.
    const mine = clients[0].get('/s/slow');
    const theirs = clients[1]!.get('/s/other');
    clients[0].close();
    await assert.rejects(mine, (e: unknown) => e instanceof ClientError && e.kind === 'closed');
    assert.equal((await theirs).status, 200);
    assert.equal(group.clients, 2);

    clients[1]!.close();
    const closedBefore = sessionsClosed;
    clients[2]!.close();
    await until(() => sessionsClosed - closedBefore === 2, 'the server saw both sessions close');
    assert.equal(group.clients, 0);
    // A client joining afterwards opens fresh sessions.
    const late = new Http2Client({ baseUrl: base, sessions: group });
    try {
      assert.equal((await late.get('/late')).status, 200);
      assert.equal(group.stats.sessionsOpened, 3);
    } finally {
      late.close();
    }
  });

  test('maxStreams caps the streams per shared session', async () => {
    const group = new Http2SessionGroup(
      { connections: 1, maxStreams: 2 },
      { connectTimeoutMs: 5000 },
    );
    const clients = [1, 2, 3, 4].map(() => new Http2Client({ baseUrl: base, sessions: group }));
    try {
      await clients[0]!.get('/warm');
      maxOpenStreams = 0;
      const all = await Promise.all(clients.flatMap((c) => [c.get('/m/1'), c.get('/m/2')]));
      assert.ok(all.every((r) => r.status === 200));
      assert.ok(maxOpenStreams <= 2, `at most 2 streams at once, saw ${maxOpenStreams}`);
      assert.equal(group.stats.sessionsOpened, 1);
    } finally {
      for (const c of clients) c.close();
    }
  });
});
