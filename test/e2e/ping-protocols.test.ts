// `salvo ping` for every protocol, as a user types it, against the embedded target's peers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startProtocolPeers, type ProtocolPeers } from '../../src/target/peers.js';
import { runCli } from '../support/cli.js';
import { freePort } from '../support/peers.js';

let peers: ProtocolPeers;
before(async () => {
  peers = await startProtocolPeers();
});
after(async () => {
  await peers.close();
});

describe('salvo ping <scheme>://', () => {
  test('h2c, ws, grpc, tcp and udp peers answer; the output shows what was measured', async () => {
    const h2c = peers.h2cUrl.replace('http:', 'h2c:');
    const runs = await Promise.all([
      runCli(['ping', `${h2c}/json`]),
      runCli(['ping', peers.wsUrl, '-d', 'hello-ws']),
      runCli(['ping', `grpc://${peers.grpcAddress}`]),
      runCli(['ping', peers.tcpUrl, '-d', 'hello-tcp']),
      runCli(['ping', peers.udpUrl, '-d', 'hello-udp']),
    ]);
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    const [h2, ws, grpc, tcp, udp] = runs.map((r) => r.stdout);
    assert.match(h2 ?? '', /GET http:\/\/127\.0\.0\.1:\d+\/json → 200 \(h2c\)/);
    assert.match(h2 ?? '', /"service":"salvo-target"/);
    assert.match(
      ws ?? '',
      /connected to ws:\/\/.* in [\d.]+ms[\s\S]*hello-ws[\s\S]*closed with code 1000/,
    );
    assert.match(grpc ?? '', /gRPC channel to 127\.0\.0\.1:\d+ ready in [\d.]+ms/);
    assert.match(tcp ?? '', /connected to 127\.0\.0\.1:\d+ in [\d.]+ms[\s\S]*hello-tcp/);
    assert.match(udp ?? '', /reply from 127\.0\.0\.1:\d+ after [\d.]+ms \(9 bytes\):\nhello-udp/);
  });

  test('an unknown scheme is a usage error listing the schemes; a refused port names the kind', async () => {
    const bad = await runCli(['ping', 'gopher://127.0.0.1/']);
    assert.equal(bad.code, 2);
    assert.match(
      bad.stderr,
      /scheme must be one of http, https, h2, h2c, ws, wss, grpc, grpcs, tcp, tls, udp, smtp, smtps, ftp, ftps, not gopher/,
    );
    const refused = await runCli(['ping', `tcp://127.0.0.1:${await freePort()}`]);
    assert.equal(refused.code, 4);
    assert.match(refused.stderr, /failed \(connect_refused\)/);
  });
});
