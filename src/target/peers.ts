// The embedded target's protocol peers, beside its HTTP/1.1 server: the same routes over HTTP/2
// (h2c), a WebSocket echo, the shop.Catalog gRPC service, and TCP and UDP echo servers, each on
// its own port. Owns these listeners only; `salvo serve --peers` and the examples' test start it.
import dgram from 'node:dgram';
import http2 from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import net from 'node:net';
import { WebSocketServer } from 'ws';
import { startGrpcTarget } from './grpc.js';
import { route } from './server.js';

/** Largest datagram the UDP echo answers (larger ones are dropped). */
export const MAX_UDP_ECHO_BYTES = 65_507;
/** Bytes the TCP echo buffers for a slow reader before it pauses reading. */
export const TCP_ECHO_HIGH_WATER_BYTES = 1024 * 1024;

export interface ProtocolPeers {
  /** `http://host:port` of the HTTP/2 (h2c) server with the target's routes. */
  readonly h2cUrl: string;
  /** `ws://host:port/` of the WebSocket echo (every message sent back as it came). */
  readonly wsUrl: string;
  /** `host:port` of the gRPC shop.Catalog service. */
  readonly grpcAddress: string;
  /** `tcp://host:port` of the TCP echo. */
  readonly tcpUrl: string;
  /** `udp://host:port` of the UDP echo. */
  readonly udpUrl: string;
  close(): Promise<void>;
}

export interface ProtocolPeerPorts {
  h2c?: number;
  ws?: number;
  grpc?: number;
  tcp?: number;
  udp?: number;
}

function listen(server: net.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const a = server.address();
      resolve(typeof a === 'object' && a !== null ? a.port : port);
    });
  });
}

/** Starts every peer on `host` (ports default to 0: free ones). */
export async function startProtocolPeers(
  host = '127.0.0.1',
  ports: ProtocolPeerPorts = {},
): Promise<ProtocolPeers> {
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const closers: (() => Promise<void>)[] = [];
  try {
    const h2 = http2.createServer((req, res) => {
      route(req as unknown as IncomingMessage, res as unknown as ServerResponse);
    });
    const h2Sessions = new Set<http2.ServerHttp2Session>();
    h2.on('session', (s) => {
      h2Sessions.add(s);
      s.once('close', () => h2Sessions.delete(s));
    });
    const h2Port = await listen(h2, ports.h2c ?? 0, host);
    closers.push(
      () =>
        new Promise((resolve) => {
          for (const s of h2Sessions) s.destroy();
          h2.close(() => resolve());
        }),
    );

    const ws = new WebSocketServer({ host, port: ports.ws ?? 0, maxPayload: 16 * 1024 * 1024 });
    await new Promise<void>((resolve, reject) => {
      ws.once('listening', resolve);
      ws.once('error', reject);
    });
    ws.on('connection', (socket) => {
      socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
    });
    const wsAddress = ws.address();
    const wsPort = typeof wsAddress === 'object' && wsAddress !== null ? wsAddress.port : 0;
    closers.push(
      () =>
        new Promise((resolve) => {
          for (const c of ws.clients) c.terminate();
          ws.close(() => resolve());
        }),
    );

    const grpc = await startGrpcTarget({ host, port: ports.grpc ?? 0 });
    closers.push(() => grpc.close());

    const tcpSockets = new Set<net.Socket>();
    const tcp = net.createServer((socket) => {
      tcpSockets.add(socket);
      socket.on('close', () => tcpSockets.delete(socket));
      socket.on('error', () => socket.destroy());
      socket.pipe(socket);
    });
    tcp.on('error', (error) => process.stderr.write(`salvo target tcp echo: ${error.message}\n`));
    const tcpPort = await listen(tcp, ports.tcp ?? 0, host);
    closers.push(
      () =>
        new Promise((resolve) => {
          for (const s of tcpSockets) s.destroy();
          tcp.close(() => resolve());
        }),
    );

    const udp = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    udp.on('message', (msg, rinfo) => {
      if (msg.length <= MAX_UDP_ECHO_BYTES) udp.send(msg, rinfo.port, rinfo.address);
    });
    udp.on('error', (error) => process.stderr.write(`salvo target udp echo: ${error.message}\n`));
    const udpPort = await new Promise<number>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(ports.udp ?? 0, host, () => {
        udp.off('error', reject);
        resolve(udp.address().port);
      });
    });
    closers.push(() => new Promise((resolve) => udp.close(() => resolve())));

    return {
      h2cUrl: `http://${urlHost}:${h2Port}`,
      wsUrl: `ws://${urlHost}:${wsPort}/`,
      grpcAddress: grpc.address,
      tcpUrl: `tcp://${urlHost}:${tcpPort}`,
      udpUrl: `udp://${urlHost}:${udpPort}`,
      close: async () => {
        await Promise.all(closers.map((c) => c()));
      },
    };
  } catch (error) {
    await Promise.all(closers.map((c) => c()));
    throw error;
  }
}
