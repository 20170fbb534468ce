// Owns dialling a peer: connect over the stream transport, run the hello exchange, and hand back
// an open RpcConnection or the peer's refusal as a ProtocolError.

import type { NodeAddress, StreamTransport } from '../runtime/types.js';
import { ProtocolError } from './errors.js';
import { HANDSHAKE_TIMEOUT_MS } from './handshake.js';
import { RpcConnection } from './rpc.js';
import type { RpcOptions } from './rpc-types.js';

/**
 * Dials `to`, runs the hello exchange and returns the open connection. Rejects with the
 * transport's Error (refused, unreachable, timeout) or a ProtocolError carrying the peer's
 * refusal (`version`, `cluster_mismatch`, `role_forbidden`, `over_capacity` with retryAfterMs …).
 */
export async function connectPeer(
  stream: StreamTransport,
  to: NodeAddress,
  options: RpcOptions & { readonly connectTimeoutMs?: number },
): Promise<RpcConnection> {
  const connection = await stream.connect(
    to,
    options.connectTimeoutMs ?? options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS,
  );
  const peer = new RpcConnection(connection, 'outbound', options);
  const outcome = await peer.ready;
  if (!outcome.ok) throw ProtocolError.fromMessage(outcome.error);
  return peer;
}
