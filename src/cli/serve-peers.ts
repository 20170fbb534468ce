// `salvo serve --peers`: the embedded target's protocol peers on the five ports after the
// HTTP/1.1 one (all free ports with --port 0), printed as the -e variables the examples read.
import { startProtocolPeers, type ProtocolPeers } from '../target/peers.js';
import type { CliIo } from './main.js';

/** The variables examples/ read for each peer (their defaults match `salvo serve --peers`). */
export function peerEnv(peers: ProtocolPeers): Record<string, string> {
  return {
    H2C_URL: peers.h2cUrl,
    WS_URL: peers.wsUrl,
    GRPC_ADDRESS: peers.grpcAddress,
    TCP_URL: peers.tcpUrl,
    UDP_URL: peers.udpUrl,
  };
}

export async function startPeersFor(port: number, host: string, io: CliIo): Promise<ProtocolPeers> {
  const next = (i: number): number => (port === 0 ? 0 : port + i);
  const peers = await startProtocolPeers(host, {
    h2c: next(1),
    ws: next(2),
    grpc: next(3),
    tcp: next(4),
    udp: next(5),
  });
  io.stdout.write('protocol peers:\n');
  for (const [k, v] of Object.entries(peerEnv(peers))) io.stdout.write(`  ${k.padEnd(13)} ${v}\n`);
  return peers;
}
