// The WebSocket client against a real `ws` server on loopback: echo round trips, queued
// messages, receive timeouts, close codes, handshake refusals, and the VU's end closing all.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { ClientError } from '../../../src/clients/client.js';
import { WsClient } from '../../../src/clients/websocket/index.js';
import { freePort } from '../../support/peers.js';

let server: Server;
let wss: WebSocketServer;
let base = '';
let serverClosed: number[] = [];

before(async () => {
  server = createServer((_req, res) => res.end('plain'));
  wss = new WebSocketServer({
    server,
    verifyClient: (info: { req: { url?: string } }) => info.req.url !== '/forbidden',
  });
  wss.on('connection', (socket, req) => {
    socket.on('close', (code) => serverClosed.push(code));
    const path = req.url ?? '/';
    if (path === '/push') {
      for (const n of [1, 2, 3]) socket.send(JSON.stringify({ n }));
      return;
    }
    if (path === '/silent') return;
    socket.on('message', (data, isBinary) => {
      if (path === '/fail') return socket.close(1011, 'server exploded');
      socket.send(data, { binary: isBinary });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  wss.close();
  server.close();
});

describe('WsClient against a ws server', () => {
  test('request() echoes text and binary with a measured round trip; close(1000) is clean', async () => {
    const client = new WsClient({
      baseUrl: base.replace('ws:', 'http:'),
      headers: {},
      timeoutMs: 2000,
    });
    try {
      const conn = await client.connect('/echo');
      assert.ok(conn.connectMs > 0);
      const a = await conn.request('hello');
      assert.equal(a.text(), 'hello');
      assert.equal(a.isBinary, false);
      assert.ok(a.roundTripMs > 0);
      const b = await conn.request(Buffer.from([1, 2, 3]));
      assert.equal(b.isBinary, true);
      assert.deepEqual([...b.data], [1, 2, 3]);
      const c = await conn.request({ x: 1 });
      assert.deepEqual(c.json(), { x: 1 });
      assert.deepEqual(await conn.close(), { code: 1000, reason: '' });
      assert.equal(conn.sent, 3);
      assert.equal(conn.received, 3);
    } finally {
      client.close();
    }
  });

  test('messages that arrive before receive() wait in the queue, in order', async () => {
    const client = new WsClient({ baseUrl: undefined, headers: {}, timeoutMs: 2000 });
    try {
      const conn = await client.connect(`${base}/push`);
      const got = [];
      for (let i = 0; i < 3; i++) got.push((await conn.receive()).json<{ n: number }>().n);
      assert.deepEqual(got, [1, 2, 3]);
    } finally {
      client.close();
    }
  });

  test('receive times out with kind timeout; a server close code fails waiters with close_<code>', async () => {
    const client = new WsClient({ baseUrl: base, headers: {}, timeoutMs: 2000 });
    try {
      const silent = await client.connect('/silent');
      await assert.rejects(silent.receive({ timeoutMs: 50 }), { kind: 'timeout' });
      const failing = await client.connect('/fail');
      await assert.rejects(failing.request('boom'), (e: unknown) => {
        assert.ok(e instanceof ClientError);
        assert.equal(e.kind, 'close_1011');
        assert.match(e.message, /server exploded/);
        return true;
      });
      assert.deepEqual(failing.closed, { code: 1011, reason: 'server exploded' });
      await assert.rejects(failing.send('again'), { kind: 'close_1011' });
    } finally {
      client.close();
    }
  });

  test('handshake refusals and refused connections are named kinds', async () => {
    const client = new WsClient({ baseUrl: base, headers: {}, timeoutMs: 2000 });
    try {
      await assert.rejects(client.connect('/forbidden'), { kind: 'handshake_401' });
      const port = await freePort();
      await assert.rejects(client.connect(`ws://127.0.0.1:${port}/`), { kind: 'connect_refused' });
      await assert.rejects(client.connect('ftp://x/'), { kind: 'bad_request' });
    } finally {
      client.close();
    }
  });

  test("closing the client (the VU's end) terminates its open connections", async () => {
    serverClosed = [];
    const client = new WsClient({ baseUrl: base, headers: {}, timeoutMs: 2000 });
    const conn = await client.connect('/silent');
    client.close();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(serverClosed.length, 1);
    assert.equal(conn.closed?.code, 1006);
    await assert.rejects(client.connect('/echo'), { kind: 'closed' });
  });
});
