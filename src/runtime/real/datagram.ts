// Owns the real datagram transport: one UDP socket (udp4 or udp6 by the bind host), fire-and-
// forget sends, oversized datagrams dropped and counted in both directions. The socket is
// claimed before bind() awaits, so a second bind() is refused and a close() during bind()
// closes it. Never retries, never fragments, never throws on send.

import dgram from 'node:dgram';
import net from 'node:net';
import { SalvoError } from '../../errors.js';
import type { DatagramTransport, Logger, NodeAddress } from '../types.js';

/** bind() on a transport that is bound or binding, or closed while binding (a caller's bug). */
export class DatagramStateError extends SalvoError {
  constructor(message: string) {
    super('E_INTERNAL', `datagram transport: ${message}`);
  }
}

/** REFERENCE §2.2: a SWIM datagram is ≤ 1400 bytes (fits a typical 1500-byte MTU). */
export const DEFAULT_MAX_DATAGRAM_BYTES = 1400;

export interface DatagramStats {
  sent: number;
  received: number;
  droppedOversizedOut: number;
  droppedOversizedIn: number;
  droppedNotBound: number;
  sendErrors: number;
}

export class RealDatagramTransport implements DatagramTransport {
  readonly stats: DatagramStats = {
    sent: 0,
    received: 0,
    droppedOversizedOut: 0,
    droppedOversizedIn: 0,
    droppedNotBound: 0,
    sendErrors: 0,
  };
  /** The bound socket. */
  private socket: dgram.Socket | null = null;
  /** The socket being bound, claimed before bind() awaits; close() aborts it. */
  private binding: { socket: dgram.Socket; abort: (error: Error) => void } | null = null;

  constructor(
    private readonly address: NodeAddress,
    private readonly log: Logger,
    readonly maxDatagramBytes: number = DEFAULT_MAX_DATAGRAM_BYTES,
  ) {}

  async bind(onDatagram: (from: NodeAddress, data: Uint8Array) => void): Promise<NodeAddress> {
    if (this.socket !== null || this.binding !== null) {
      throw new DatagramStateError(this.socket !== null ? 'already bound' : 'already binding');
    }
    const socket = dgram.createSocket({ type: net.isIPv6(this.address.host) ? 'udp6' : 'udp4' });
    socket.on('message', (msg: Buffer, rinfo: dgram.RemoteInfo) => {
      if (msg.length > this.maxDatagramBytes) {
        this.stats.droppedOversizedIn++;
        return;
      }
      this.stats.received++;
      try {
        onDatagram({ host: rinfo.address, port: rinfo.port }, msg);
      } catch (err) {
        this.log.log('error', 'datagram handler failed', { error: err });
      }
    });
    socket.on('error', (err: Error) => {
      this.log.log('error', 'datagram socket error', { error: err });
    });
    const claim = { socket, abort: (_error: Error): void => undefined };
    this.binding = claim;
    try {
      await new Promise<void>((resolve, reject) => {
        const onError = (err: Error): void => reject(err);
        claim.abort = reject;
        socket.once('error', onError);
        socket.bind(this.address.port, this.address.host, () => {
          socket.off('error', onError);
          resolve();
        });
      });
    } catch (error) {
      if (this.binding === claim) {
        this.binding = null;
        socket.close();
      }
      throw error;
    }
    if (this.binding !== claim) {
      // close() ran while the bind was completing: it closed this socket already.
      throw new DatagramStateError('closed while binding');
    }
    this.binding = null;
    this.socket = socket;
    const bound = socket.address();
    return { host: this.address.host, port: bound.port };
  }

  send(to: NodeAddress, data: Uint8Array): void {
    const socket = this.socket;
    if (socket === null) {
      this.stats.droppedNotBound++;
      return;
    }
    if (data.length > this.maxDatagramBytes) {
      this.stats.droppedOversizedOut++;
      return;
    }
    this.stats.sent++;
    socket.send(data, to.port, to.host, (err: Error | null) => {
      if (err !== null) {
        this.stats.sendErrors++;
        this.log.log('debug', 'datagram send failed', {
          to: `${to.host}:${to.port}`,
          error: err.message,
        });
      }
    });
  }

  async close(): Promise<void> {
    const binding = this.binding;
    const socket = this.socket ?? binding?.socket ?? null;
    this.socket = null;
    this.binding = null;
    binding?.abort(new DatagramStateError('closed while binding'));
    if (socket === null) return;
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}
