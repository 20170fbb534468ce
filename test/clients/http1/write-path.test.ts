// The request write path: a write the kernel takes at once gets no completion callback (each
// one costs the stream a tick object and ~0.5 KB of garbage per request), and the request's
// send phase is still timed, with or without a body.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { HttpClient } from '../../../src/clients/http1/index.js';
import { nodeServer } from './servers.js';

void test('requests are written without a per-write callback and their send phase is timed', async () => {
  const server = await nodeServer((_req, res) => res.end('ok'));
  const proto = net.Socket.prototype as unknown as Record<'write', (...a: unknown[]) => boolean>;
  const original = proto.write;
  let clientWrites = 0;
  let withCallback = 0;
  // Counts the client's writes (server-side sockets have `server` set).
  proto.write = function (this: { server?: unknown }, ...args: unknown[]): boolean {
    if (!this.server) {
      clientWrites++;
      if (typeof args[args.length - 1] === 'function') withCallback++;
    }
    return original.apply(this, args);
  };
  const client = new HttpClient({ baseUrl: server.url });
  try {
    for (let i = 0; i < 50; i++) {
      const res = await (i % 2 === 0 ? client.get('/') : client.post('/', { body: 'x' }));
      assert.equal(res.status, 200);
      const t = res.timings;
      assert.ok(t.sendMs >= 0 && t.waitMs >= 0, JSON.stringify(t));
      assert.ok(t.totalMs >= t.sendMs + t.waitMs - 1e-9, JSON.stringify(t));
    }
  } finally {
    proto.write = original;
    client.close();
    await server.close();
  }
  assert.ok(clientWrites >= 50, `${clientWrites} client writes`);
  // Loopback takes a small request at once; only a write left buffered gets a callback.
  assert.ok(withCallback <= 2, `${withCallback} of ${clientWrites} writes had a callback`);
});
