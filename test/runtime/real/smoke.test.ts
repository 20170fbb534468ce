// Smoke: two real runtimes on 127.0.0.1, a ProtocolServer and connectPeer, one ping.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { connectPeer, MessageRegistry, ProtocolServer } from '../../../src/protocol/index.js';
import { createRealRuntime } from '../../../src/runtime/real/index.js';

void test('smoke: ping over the real runtime', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'salvo-smoke-'));
  const a = createRealRuntime({
    nodeId: 'a',
    streamAddress: { host: '127.0.0.1', port: 0 },
    dataDir: dir,
    seed: 1,
  });
  const b = createRealRuntime({
    nodeId: 'b',
    streamAddress: { host: '127.0.0.1', port: 0 },
    dataDir: dir,
    seed: 2,
  });
  const id = { clusterId: 'c', environment: 'test', capabilities: ['x'] };
  const server = new ProtocolServer({
    stream: a.stream,
    timers: a.timers,
    registry: new MessageRegistry(),
    identity: { ...id, nodeId: 'a', role: 'manager' },
  });
  const listener = await server.start();
  const peer = await connectPeer(b.stream, listener.address, {
    registry: new MessageRegistry(),
    timers: b.timers,
    identity: { ...id, nodeId: 'b', role: 'manager' },
  });
  const reply = await peer.request({ t: 'ping', sentMs: 1 }, { timeoutMs: 1000 });
  assert.equal(reply.ok, true);
  assert.equal(reply.ok && reply.message.t, 'pong');
  peer.close();
  await server.close();
  await a.close();
  await b.close();
});
