// Public surface of the TCP (with TLS) and UDP clients.
export {
  TcpClient,
  TcpConnection,
  tcpKind,
  MAX_TCP_BUFFER_BYTES,
  MAX_TCP_CONNECTIONS,
} from './tcp.js';
export type { TcpConnectOptions, TcpReadOptions } from './tcp.js';
export { UdpClient, UdpSocket, udpKind, MAX_UDP_QUEUED_DATAGRAMS, MAX_UDP_SOCKETS } from './udp.js';
export { SocketReply } from './reply.js';
