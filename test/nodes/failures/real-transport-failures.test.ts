// Failure tests of the real transports (sockets on 127.0.0.1): a membership node whose datagrams
// to one seed cannot be sent (the name does not resolve) counts the failures and carries on, a
// dial whose peer never answers the hello times out and leaves nothing open, and a hundred
// connections and twenty node runtimes opened and closed leave the descriptor count as it was.

import assert from 'node:assert/strict';
import net from 'node:net';
import { readdir } from 'node:fs/promises';
import { test } from 'node:test';
import { MembershipNode } from '../../../src/nodes/membership/index.js';
import type { MembershipEvent } from '../../../src/cluster/membership/index.js';
import { connectPeer } from '../../../src/protocol/connect.js';
import { MessageRegistry } from '../../../src/protocol/messages.js';
import { ProtocolServer } from '../../../src/protocol/server.js';
import type { LocalIdentity } from '../../../src/protocol/handshake.js';
import { runtime, tempDir, waitFor } from '../../runtime/real/support.js';
import { SIM_KEYRING } from '../../cluster/membership/cluster.js';

function ident(nodeId: string, role: LocalIdentity['role']): LocalIdentity {
  return { nodeId, role, clusterId: 'salvo', environment: 'default', capabilities: [] };
}

async function openFds(): Promise<number> {
  return (await readdir('/proc/self/fd')).length;
}

test('GM-20.2.2 a membership node whose datagrams to one seed fail to send (its name does not resolve) counts the send errors, keeps probing the others and confirms them; the unreachable seed is never suspected', async () => {
  const dir = await tempDir('udp-fail');
  const ra = runtime('a', dir.dir);
  const rb = runtime('b', dir.dir);
  const config = { probeIntervalMs: 200, probeTimeoutMs: 100, seedRetryIntervalMs: 300 };
  const b = await MembershipNode.start(rb, {
    profile: 'local',
    config,
    gossip: { keyring: SIM_KEYRING },
  });
  const events: MembershipEvent[] = [];
  const a = await MembershipNode.start(ra, {
    profile: 'local',
    config,
    seeds: [
      { id: 'ghost', address: { host: 'no-such-host.invalid', port: 7946 } },
      { id: 'b', address: b.swim.address },
    ],
    gossip: { keyring: SIM_KEYRING },
  });
  a.onEvent((e) => events.push(e));
  try {
    await waitFor(
      () => a.member('b')?.status === 'alive' && b.member('a')?.status === 'alive',
      5_000,
      'a and b confirm each other',
    );
    await waitFor(() => ra.datagram.stats.sendErrors >= 2, 5_000, 'send errors counted');
    assert.equal(a.member('ghost')?.status, 'unconfirmed');
    assert.ok(
      !events.some((e) => (e.type === 'suspect' || e.type === 'dead') && e.id === 'ghost'),
      'a failed send is not taken for a dead peer',
    );
    assert.ok(
      a.supervision().every((l) => l.failures === 0),
      'no step of the node failed',
    );
    assert.ok(ra.lines.some((l) => l.includes('datagram send failed') && l.includes('ENOTFOUND')));
  } finally {
    await a.stop();
    await b.stop();
    await Promise.all([ra.close(), rb.close()]);
    await dir.cleanup();
  }
});

test('GM-20.2.3 a dial to a peer that accepts TCP but never answers the hello fails with a timeout after the handshake bound, and the half-open socket is closed', async () => {
  const dir = await tempDir('dial-timeout');
  const rt = runtime('d', dir.dir);
  const open = new Set<net.Socket>();
  let accepted = 0;
  const mute = net.createServer((s) => {
    accepted++;
    open.add(s);
    s.resume(); // reads (and ignores) the hello, so the dialler's close is seen
    s.on('close', () => open.delete(s));
    s.on('error', () => open.delete(s));
  });
  await new Promise<void>((r) => mute.listen(0, '127.0.0.1', r));
  const port = (mute.address() as net.AddressInfo).port;
  try {
    await assert.rejects(
      connectPeer(
        rt.stream,
        { host: '127.0.0.1', port },
        {
          registry: new MessageRegistry(),
          timers: rt.timers,
          identity: ident('d', 'gate'),
          handshakeTimeoutMs: 300,
        },
      ),
      (err: { code?: string; message?: string }) =>
        /timeout|timed out/i.test(`${err.code ?? ''} ${err.message ?? ''}`),
    );
    assert.equal(accepted, 1, 'the TCP connection was made');
    await waitFor(() => open.size === 0, 3_000, 'the dialler closed the silent connection');
  } finally {
    for (const s of open) s.destroy();
    await new Promise<void>((r) => mute.close(() => r()));
    await rt.close();
    await dir.cleanup();
  }
});

test('LT-37.3.4 no descriptor leaks: 100 protocol connections dialled, used and closed, and 20 node runtimes (TCP listener + UDP socket) started and closed, leave the process’s open descriptors as they were', async () => {
  const dir = await tempDir('fds');
  const a = runtime('m1', dir.dir);
  const b = runtime('g1', dir.dir);
  const registry = () => new MessageRegistry();
  const server = new ProtocolServer({
    stream: a.stream,
    timers: a.timers,
    registry: registry(),
    identity: ident('m1', 'manager'),
    log: a.log,
  });
  const listener = await server.start();
  await b.datagram.bind(() => undefined);
  // One connection first, so lazily opened process-wide handles are in the baseline.
  (
    await connectPeer(b.stream, listener.address, {
      registry: registry(),
      timers: b.timers,
      identity: ident('g1', 'gate'),
    })
  ).close();
  await waitFor(() => server.connectionCount === 0, 3_000);
  const before = await openFds();
  try {
    for (let i = 0; i < 100; i++) {
      const peer = await connectPeer(b.stream, listener.address, {
        registry: registry(),
        timers: b.timers,
        identity: ident('g1', 'gate'),
      });
      assert.equal(peer.session?.remoteNodeId, 'm1');
      peer.close();
    }
    await waitFor(() => server.connectionCount === 0, 5_000, 'the server saw every close');
    for (let i = 0; i < 20; i++) {
      const n = runtime(`n${i}`, dir.dir);
      const l = await n.stream.listen(() => undefined);
      await n.datagram.bind(() => undefined);
      assert.ok(l.address.port > 0);
      await n.close();
    }
    // Sockets close asynchronously: give the last closes a moment to land.
    let now = await openFds();
    for (let i = 0; i < 100 && now > before; i++) {
      await new Promise((r) => setTimeout(r, 20));
      now = await openFds();
    }
    assert.equal(now, before, `open descriptors: ${before} before, ${now} after`);
  } finally {
    await server.close();
    await Promise.all([a.close(), b.close()]);
    await dir.cleanup();
  }
});
