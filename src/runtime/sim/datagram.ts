// Simulated datagrams: each one independently lost, duplicated, delayed, reordered or
// corrupted by the link model; oversized ones dropped and counted. Never throws on send.

import type { DatagramTransport, NodeAddress } from '../types.js';
import { addressKey } from '../types.js';
import { SimNetworkError } from './errors.js';
import { ANY_INCARNATION, NodeLifeBound } from './kernel.js';
import { hashBytes } from './rng.js';

/** The largest UDP payload over IPv4. */
export const MAX_DATAGRAM_BYTES = 65507;

export class SimDatagramTransport extends NodeLifeBound implements DatagramTransport {
  private handler: ((from: NodeAddress, data: Uint8Array) => void) | undefined;

  async bind(onDatagram: (from: NodeAddress, data: Uint8Array) => void): Promise<NodeAddress> {
    if (!this.alive()) {
      throw new SimNetworkError('ENOTCONN', `${this.node.id} is down`);
    }
    if (this.node.datagramHandler !== undefined) {
      throw new SimNetworkError('EADDRINUSE', `${addressKey(this.node.address)} already bound`);
    }
    this.handler = onDatagram;
    this.node.datagramHandler = onDatagram;
    this.kernel.note(this.node, 'dgram-bind', addressKey(this.node.address));
    return this.node.address;
  }

  send(to: NodeAddress, data: Uint8Array): void {
    const k = this.kernel;
    const me = this.node;
    if (!this.alive()) {
      return;
    }
    k.stats.datagramsSent++;
    const target = k.nodeByAddress(to);
    const size = data.length;
    const what = k.tracing
      ? `${me.id}->${target?.id ?? addressKey(to)} ${size}B h=${hashBytes(data).toString(16)}`
      : '';
    if (size > MAX_DATAGRAM_BYTES) {
      k.stats.datagramsDropped++;
      k.note(me, 'dgram-drop-oversized', what);
      return;
    }
    if (target === undefined) {
      k.stats.datagramsDropped++;
      k.note(me, 'dgram-drop-unknown', what);
      return;
    }
    if (k.net.blocked(me.id, target.id)) {
      k.stats.datagramsDropped++;
      k.note(me, 'dgram-drop-partition', what);
      return;
    }
    const model = k.net.link(me.id, target.id);
    if (k.netRng.chance(model.loss)) {
      k.stats.datagramsDropped++;
      k.note(me, 'dgram-drop-loss', what);
      return;
    }
    const copies = k.netRng.chance(model.duplicate) ? 2 : 1;
    if (copies === 2) {
      k.stats.datagramsDuplicated++;
    }
    const from = me.address;
    const fromId = me.id;
    for (let i = 0; i < copies; i++) {
      const payload = data.slice();
      if (k.netRng.chance(model.corrupt) && payload.length > 0) {
        const at = k.netRng.int(payload.length);
        payload[at] = (payload[at] ?? 0) ^ (1 + k.netRng.int(255));
        k.stats.datagramsCorrupted++;
      }
      const delayMs = k.net.sampleDelayMs(model, k.netRng, true);
      k.schedule(delayMs, target, ANY_INCARNATION, 'dgram-deliver', what, () => {
        const handler = target.datagramHandler;
        if (!target.up || handler === undefined || k.net.blocked(fromId, target.id)) {
          k.stats.datagramsDropped++;
          return;
        }
        handler(from, payload);
      });
    }
  }

  async close(): Promise<void> {
    if (this.alive() && this.handler !== undefined && this.node.datagramHandler === this.handler) {
      this.node.datagramHandler = undefined;
    }
    this.handler = undefined;
  }
}
