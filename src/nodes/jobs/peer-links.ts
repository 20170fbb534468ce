// Owns a node's outbound protocol connections on the job path: one connection per peer
// address, dialled on demand (concurrent callers share one dial), forgotten when it closes,
// all closed on stop. Dial failures reach the caller as a rejected promise; a bounded number of
// addresses is kept. Uses only the Runtime.

import { SalvoError } from '../../errors.js';
import {
  connectPeer,
  type HandlerTable,
  type LocalIdentity,
  type MessageRegistry,
  type RpcConnection,
} from '../../protocol/index.js';
import { addressKey, type NodeAddress, type Runtime } from '../../runtime/types.js';

export const DEFAULT_DIAL_TIMEOUT_MS = 2_000;
export const MAX_PEER_LINKS = 10_000;

export interface PeerLinksOptions {
  readonly registry: MessageRegistry;
  readonly identity: LocalIdentity;
  readonly handlers: HandlerTable;
  readonly dialTimeoutMs?: number;
}

export class PeerLinks {
  private readonly links = new Map<string, Promise<RpcConnection>>();
  private closed = false;

  constructor(
    private readonly runtime: Runtime,
    private readonly options: PeerLinksOptions,
  ) {}

  /** An open connection to `to` (dialled if needed), or a rejection saying why not. */
  get(to: NodeAddress, expectNodeId?: string): Promise<RpcConnection> {
    if (this.closed) return Promise.reject(new Error('peer links are closed'));
    const key = addressKey(to);
    const known = this.links.get(key);
    if (known) return known;
    if (this.links.size >= MAX_PEER_LINKS) {
      const oldest = this.links.keys().next();
      if (!oldest.done) this.drop(oldest.value);
    }
    const dial = connectPeer(this.runtime.stream, to, {
      registry: this.options.registry,
      identity: this.options.identity,
      timers: this.runtime.timers,
      log: this.runtime.log,
      handlers: this.options.handlers,
      connectTimeoutMs: this.options.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS,
      requireAuthentication: this.runtime.stream.secure === true,
      ...(expectNodeId !== undefined ? { expectNodeId } : {}),
    }).then(
      (conn) => {
        if (this.closed) {
          conn.close();
          throw new SalvoError('E_PROTOCOL', 'peer links closed while dialling');
        }
        conn.onClose(() => {
          if (this.links.get(key) === dial) this.links.delete(key);
        });
        return conn;
      },
      (error: unknown) => {
        if (this.links.get(key) === dial) this.links.delete(key);
        throw error;
      },
    );
    this.links.set(key, dial);
    return dial;
  }

  private drop(key: string): void {
    const link = this.links.get(key);
    this.links.delete(key);
    link?.then(
      (c) => c.close(),
      (error: unknown) =>
        // The dial's own caller was told; this only notes that nothing was left open.
        this.runtime.log.log('debug', 'peer link dropped before it opened', {
          error: error instanceof Error ? error.message : String(error),
        }),
    );
  }

  close(): void {
    this.closed = true;
    for (const key of [...this.links.keys()]) this.drop(key);
  }
}
