// TCP (plain and TLS) and UDP clients against real echo servers on loopback (the embedded
// target's peers and a TLS echo): reads by delimiter, length and timeout, named failures.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { TcpClient, UdpClient } from '../../../src/clients/socket/index.js';
import { startProtocolPeers, type ProtocolPeers } from '../../../src/target/peers.js';
import { TLS_CERT, TLS_KEY, freePort } from '../../support/peers.js';

let peers: ProtocolPeers;
let tlsEcho: tls.Server;
let tlsPort = 0;
let dribble: net.Server;
let dribblePort = 0;

before(async () => {
  peers = await startProtocolPeers();
  tlsEcho = tls.createServer({ key: TLS_KEY, cert: TLS_CERT }, (s) => {
    s.on('error', () => s.destroy());
    s.pipe(s);
  });
  await new Promise<void>((r) => tlsEcho.listen(0, '127.0.0.1', r));
  tlsPort = (tlsEcho.address() as AddressInfo).port;
  // Writes "ab", "c|de", "f|" in separate packets, then closes.
  dribble = net.createServer((s) => {
    s.on('error', () => s.destroy());
    const parts = ['ab', 'c|de', 'f|', 'tail'];
    let i = 0;
    const next = (): void => {
      const p = parts[i++];
      if (p === undefined) return void s.end();
      s.write(p);
      setTimeout(next, 10);
    };
    next();
  });
  await new Promise<void>((r) => dribble.listen(0, '127.0.0.1', r));
  dribblePort = (dribble.address() as AddressInfo).port;
});
after(async () => {
  await peers.close();
  tlsEcho.close();
  dribble.close();
});

const env = { baseUrl: undefined, timeoutMs: 2000 };

describe('TcpClient', () => {
  test('request/read by delimiter and by length over the echo; bytes counted', async () => {
    const client = new TcpClient(env);
    try {
      const conn = await client.connect(peers.tcpUrl);
      assert.equal((await conn.request('hello\n', { until: '\n' })).text(), 'hello');
      await conn.send('0123456789');
      assert.equal((await conn.read({ length: 4 })).text(), '0123');
      assert.equal((await conn.read({ length: 6 })).text(), '456789');
      assert.equal(conn.bytesSent, 16);
      assert.equal(conn.bytesReceived, 16);
      await conn.close();
    } finally {
      client.close();
    }
  });

  test('delimiters split across packets; a read alone returns what came within its timeout', async () => {
    const client = new TcpClient(env);
    try {
      const conn = await client.connect(`127.0.0.1:${dribblePort}`);
      assert.equal((await conn.read({ until: '|' })).text(), 'abc');
      assert.equal((await conn.read({ until: '|' })).text(), 'def');
      assert.equal((await conn.read({ timeoutMs: 200 })).text(), 'tail');
      await assert.rejects(conn.read({ until: '|' }), { kind: 'connection_closed' });
    } finally {
      client.close();
    }
  });

  test('TLS via tls:// with a trusted CA; timeouts and refusals are named', async () => {
    const client = new TcpClient(env);
    try {
      const conn = await client.connect(`tls://localhost:${tlsPort}`, { tls: { ca: TLS_CERT } });
      assert.equal((await conn.request('secure;', { until: ';' })).text(), 'secure');
      await assert.rejects(conn.read({ until: ';', timeoutMs: 50 }), { kind: 'timeout' });
      await assert.rejects(client.connect(`tls://localhost:${tlsPort}`), { kind: 'tls' });
      await assert.rejects(client.connect(`tcp://127.0.0.1:${await freePort()}`), {
        kind: 'connect_refused',
      });
      await assert.rejects(client.connect('http://x:1'), { kind: 'bad_request' });
    } finally {
      client.close();
    }
  });
});

describe('UdpClient', () => {
  test('request round trips over the echo; receive times out when nothing comes', async () => {
    const client = new UdpClient(env);
    try {
      const sock = await client.socket(peers.udpUrl);
      const reply = await sock.request('ping');
      assert.equal(reply.text(), 'ping');
      assert.ok(reply.waitMs > 0);
      await assert.rejects(sock.receive({ timeoutMs: 50 }), { kind: 'timeout' });
    } finally {
      client.close();
    }
  });

  test('a closed port shows up as connect_refused (ICMP unreachable)', async () => {
    const client = new UdpClient(env);
    try {
      const sock = await client.socket(`udp://127.0.0.1:${await freePort()}`);
      await assert.rejects(sock.request('x', { timeoutMs: 1000 }), { kind: 'connect_refused' });
    } finally {
      client.close();
    }
  });
});
