// The real datagram transport claims its socket before bind() awaits: a second concurrent
// bind() is refused instead of binding (and orphaning) another socket, and a close() while
// bind() is in flight closes that socket and fails the bind. Counted with Node's own list of
// open UDP handles, on real loopback sockets.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DatagramStateError, RealDatagramTransport } from '../../../src/runtime/real/datagram.js';
import { JsonLineLogger } from '../../../src/runtime/real/logger.js';
import { LOOPBACK } from './support.js';

const log = new JsonLineLogger('error', {}, () => undefined);

function openUdpHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap').length;
}

/** Handles go away a few turns after their close callback: poll (bounded) for `want`. */
async function udpHandlesBecome(want: number): Promise<number> {
  for (let i = 0; i < 50 && openUdpHandles() !== want; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  return openUdpHandles();
}

test('two concurrent bind() calls: one socket is bound, the other call is refused', async () => {
  const base = await udpHandlesBecome(0);
  const t = new RealDatagramTransport(LOOPBACK, log);
  const results = await Promise.allSettled([t.bind(() => undefined), t.bind(() => undefined)]);
  assert.equal(results[0].status, 'fulfilled');
  assert.equal(results[1].status, 'rejected');
  assert.ok(
    results[1].status === 'rejected' && results[1].reason instanceof DatagramStateError,
    'a typed error',
  );
  assert.equal(openUdpHandles(), base + 1, 'exactly one socket open');
  await t.close();
  assert.equal(await udpHandlesBecome(base), base, 'nothing left open');
});

test('close() while bind() is in flight closes the socket and fails the bind', async () => {
  const base = await udpHandlesBecome(0);
  const t = new RealDatagramTransport(LOOPBACK, log);
  const binding = t.bind(() => undefined);
  await t.close();
  await assert.rejects(binding, DatagramStateError);
  assert.equal(await udpHandlesBecome(base), base, 'the socket was closed, not left open');
  // The transport can be bound again afterwards, and a send then goes out.
  const addr = await t.bind(() => undefined);
  assert.ok(addr.port > 0);
  t.send(addr, Uint8Array.of(1));
  await t.close();
});
