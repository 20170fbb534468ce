// Bounded cost per peer on the real runtime: connections per source, start() safe against
// concurrent calls and close() during listen, the idle timeout after the hello, garbage after the
// hello answered and closed, identities taken from TLS certificates (a hello claiming another is
// refused; a foreign CA cannot connect), and one memory budget per node for write queues and
// partial frames (the peer holding the most is disconnected, not buffered).
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { encodeFrameHeader } from '../../../src/protocol/framing.js';
import {
  MessageRegistry,
  PROTOCOL_VERSION,
  ProtocolServer,
  ServerClosedError,
  type ErrorMessage,
  type LocalIdentity,
  type ProtocolServerOptions,
} from '../../../src/protocol/index.js';
import { RealStreamTransport, type RealRuntimeOptions } from '../../../src/runtime/real/index.js';
import type { StreamConnection } from '../../../src/runtime/types.js';
import { makeCerts, type TestCerts } from '../../support/certs.js';
import { LOOPBACK, RawClient, runtime, tempDir, waitFor } from './support.js';

const IDENTITY: LocalIdentity = {
  nodeId: 'm1',
  role: 'manager',
  clusterId: 'c1',
  environment: 'default',
  capabilities: [],
};

function hello(nodeId: string, role = 'gate'): Record<string, unknown> {
  return {
    t: 'hello',
    protocol: { ...PROTOCOL_VERSION },
    capabilities: [],
    clusterId: 'c1',
    environment: 'default',
    role,
    nodeId,
  };
}

let shared: TestCerts | null = null;
function certs(): TestCerts {
  shared ??= makeCerts(['m1'], ['alice'], 'c1');
  return shared;
}
after(() => shared?.cleanup());

async function serve(
  over: Partial<ProtocolServerOptions> = {},
  rtOver: Partial<RealRuntimeOptions> = {},
) {
  const dir = await tempDir('limits');
  const rt = runtime('m1', dir.dir, { logLevel: 'error', ...rtOver });
  const server = new ProtocolServer({
    stream: rt.stream,
    timers: rt.timers,
    registry: new MessageRegistry(),
    identity: IDENTITY,
    log: rt.log,
    ...over,
  });
  const listener = await server.start();
  const clients: RawClient[] = [];
  const open = async (
    nodeId: string,
    opts: Parameters<typeof RawClient.connect>[1] = {},
  ): Promise<RawClient> => {
    const c = await RawClient.connect(listener.address, opts);
    clients.push(c);
    c.sendValue(hello(nodeId));
    return c;
  };
  const teardown = async (): Promise<void> => {
    for (const c of clients) c.close();
    await server.close();
    await rt.close();
    await dir.cleanup();
  };
  return { rt, server, listener, open, teardown };
}

const isError = (code: string) => (m: { t: string; code?: unknown }) =>
  m.t === 'error' && m.code === code;

void describe('connection limits', () => {
  void it('one source cannot hold more than its share; another source still gets in', async () => {
    const t = await serve({ maxConnections: 10, maxConnectionsPerSource: 3 });
    const held = await Promise.all([1, 2, 3].map((i) => t.open(`a${i}`)));
    for (const c of held) await c.waitMessage((m) => m.t === 'hello');
    const fourth = await t.open('a4');
    const refusal = (await fourth.waitMessage(isError('over_capacity'))) as unknown as ErrorMessage;
    assert.equal(refusal.details?.scope, 'source');
    assert.equal(refusal.details?.limit, 3);
    await waitFor(() => fourth.closed, 3000, 'the refused connection to close');
    assert.equal(t.server.counters.get('connections_refused.per_source'), 1);
    const other = await t.open('b1', { localAddress: '127.0.0.2' });
    await other.waitMessage((m) => m.t === 'hello');
    assert.equal(t.server.peers().length, 4);
    await t.teardown();
  });

  void it('start() called twice at once listens once; close() during start() leaves no listener', async () => {
    const dir = await tempDir('start');
    const rt = runtime('m1', dir.dir, { logLevel: 'error' });
    let listens = 0;
    const stream = {
      listen: (h: (c: StreamConnection) => void) => {
        listens++;
        return rt.stream.listen(h);
      },
      connect: rt.stream.connect.bind(rt.stream),
    };
    const opts = { stream, timers: rt.timers, registry: new MessageRegistry(), identity: IDENTITY };
    const s1 = new ProtocolServer(opts);
    const [l1, l2] = await Promise.all([s1.start(), s1.start()]);
    assert.equal(listens, 1);
    assert.equal(l1, l2);
    await s1.close();

    const s2 = new ProtocolServer(opts);
    const starting = s2.start();
    await s2.close();
    await assert.rejects(starting, ServerClosedError);
    assert.equal(listens, 2);
    assert.equal(rt.stream.stats.connectionsOpened, 0);
    // Nothing listens any more on either port.
    for (const port of [l1.address.port]) {
      await assert.rejects(
        new Promise((resolve, reject) => {
          const s = net.connect(port, '127.0.0.1', () => resolve(s));
          s.once('error', reject);
        }),
        /ECONNREFUSED/,
      );
    }
    await rt.close();
    await dir.cleanup();
  });

  void it('an open connection that goes silent is closed with idle_timeout; a talking one stays', async () => {
    const t = await serve({ connection: { idleTimeoutMs: 100 } });
    const silent = await t.open('quiet');
    const talker = await t.open('chatty');
    await talker.waitMessage((m) => m.t === 'hello');
    let id = 1;
    const pinger = setInterval(() => talker.sendValue({ t: 'ping', id: id++ }), 30);
    try {
      const e = (await silent.waitMessage(isError('idle_timeout'))) as unknown as ErrorMessage;
      assert.equal(e.details?.timeoutMs, 100);
      await waitFor(() => silent.closed, 3000, 'the idle connection to close');
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(!talker.closed, 'a connection that keeps talking is not idle');
    } finally {
      clearInterval(pinger);
    }
    assert.equal(t.server.counters.get('idle_timeouts'), 1);
    await t.teardown();
  });

  void it('garbage after the hello gets a structured error and a close, not silent skipping', async () => {
    const t = await serve();
    const c = await t.open('g');
    await c.waitMessage((m) => m.t === 'hello');
    c.writeRaw(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    const e = (await c.waitMessage(isError('frame_too_large'))) as unknown as ErrorMessage;
    assert.equal(e.details?.sizeBytes, 0x47455420); // "GET " read as a length
    await waitFor(() => c.closed, 3000, 'the server to close the broken stream');
    await t.teardown();
  });
});

void describe('identities from TLS certificates', () => {
  void it('a hello claiming another identity than the certificate is refused with identity_mismatch', async () => {
    const t = await serve({}, { tls: certs().node('m1') });
    const forged = await RawClient.connect(t.listener.address, { tls: certs().client('alice') });
    forged.sendValue(hello('n2', 'manager'));
    const e = (await forged.waitMessage(isError('identity_mismatch'))) as unknown as ErrorMessage;
    assert.deepEqual(e.details, { field: 'nodeId', declared: 'n2', certified: 'alice' });
    await waitFor(() => forged.closed, 3000, 'the forged connection to close');
    const honest = await RawClient.connect(t.listener.address, { tls: certs().client('alice') });
    honest.sendValue(hello('alice', 'client'));
    await honest.waitMessage((m) => m.t === 'hello');
    assert.equal(t.server.peers()[0]?.session?.remoteNodeId, 'alice');
    assert.equal(t.server.counters.get('handshake_rejected.identity_mismatch'), 1);
    honest.close();
    forged.close();
    await t.teardown();
  });

  void it('a certificate from another CA, or no TLS at all, never reaches the hello', async () => {
    const t = await serve({}, { tls: certs().node('m1') });
    const foreign = makeCerts([], ['alice'], 'c1');
    try {
      const outcome = await RawClient.connect(t.listener.address, {
        tls: foreign.client('alice'),
      }).then(
        async (c) => {
          c.sendValue(hello('alice', 'client'));
          await waitFor(() => c.closed, 3000, 'the server to drop the foreign client');
          return c.messages.length;
        },
        () => 0,
      );
      assert.equal(outcome, 0, 'no protocol message is exchanged with a foreign certificate');
      const plain = await RawClient.connect(t.listener.address);
      plain.sendValue(hello('alice', 'client'));
      await waitFor(() => plain.closed, 3000, 'the server to drop a plain TCP client');
      assert.equal(plain.messages.length, 0);
      assert.equal(t.server.counters.get('handshakes'), 0);
      await waitFor(() => t.rt.stream.stats.tlsHandshakeFailures >= 2, 3000, 'failures counted');
    } finally {
      foreign.cleanup();
    }
    await t.teardown();
  });
});

void describe('one memory budget per node', () => {
  async function transportPair(budgetBytes: number) {
    const dir = await tempDir('budget');
    const log = runtime('x', dir.dir, { logLevel: 'error' }).log;
    const transport = new RealStreamTransport({
      address: LOOPBACK,
      memoryBudgetBytes: budgetBytes,
      log,
    });
    const accepted: StreamConnection[] = [];
    const listener = await transport.listen((c) => {
      c.onFrame(() => undefined);
      c.onFrameError(() => undefined);
      accepted.push(c);
    });
    return { dir, transport, accepted, listener };
  }

  void it('a reader that never reads is disconnected when the budget is full, not buffered', async () => {
    const budget = 512 * 1024;
    const t = await transportPair(budget);
    const slow = await RawClient.connect(t.listener.address);
    slow.socket.pause(); // never reads
    const fine = await RawClient.connect(t.listener.address);
    await waitFor(() => t.accepted.length === 2);
    const [toSlow, toFine] = t.accepted as [StreamConnection, StreamConnection];
    const chunk = new Uint8Array(64 * 1024);
    let sent = 0;
    while (toSlow.send(chunk) && sent < 1000) sent++;
    assert.ok(sent < 1000, 'the slow reader was cut off');
    assert.ok(toSlow.closed);
    assert.ok(t.transport.budget.peak <= budget, `peak ${t.transport.budget.peak} > ${budget}`);
    assert.equal(t.transport.stats.budgetEvictions, 1);
    assert.ok(toFine.send(new Uint8Array(100)), 'the other peer is still served');
    await waitFor(() => fine.events.length === 1);
    await waitFor(() => t.transport.budget.used === 0, 3000, 'the budget to be returned');
    slow.close();
    fine.close();
    await t.transport.close();
    await t.dir.cleanup();
  });

  void it('partial frames (slowloris) are charged to the same budget; the biggest holder goes first', async () => {
    const budget = 300 * 1024;
    const t = await transportPair(budget);
    const a = await RawClient.connect(t.listener.address);
    a.writeRaw(encodeFrameHeader(new Uint8Array(200 * 1024)));
    a.writeRaw(new Uint8Array(10));
    await waitFor(
      () => t.transport.budget.used === 200 * 1024,
      3000,
      'a to hold its partial frame',
    );
    const b = await RawClient.connect(t.listener.address);
    b.writeRaw(encodeFrameHeader(new Uint8Array(150 * 1024)));
    b.writeRaw(new Uint8Array(10));
    await waitFor(() => a.closed, 3000, 'the biggest holder to be disconnected');
    assert.equal(t.transport.budget.used, 150 * 1024);
    assert.ok(t.transport.budget.peak <= budget);
    assert.equal(t.transport.stats.budgetEvictions, 1);
    assert.ok(!b.closed);
    b.close();
    await waitFor(() => t.transport.budget.used === 0, 3000, 'the budget to be returned');
    await t.transport.close();
    await t.dir.cleanup();
  });
});
