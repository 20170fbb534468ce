// Owns a gate's outbound connections to other gates and to managers: one RPC connection per
// address, dialled on first use (concurrent callers share the dial), dropped when it closes,
// at most `maxLinks` of them (the least recently used is closed first). A request through it
// never rejects: a dial failure is a structured error reply.

import {
  connectPeer,
  errorMessage,
  type HandlerTable,
  type LocalIdentity,
  type MessageRegistry,
  type OutgoingMessage,
  type RpcConnection,
  type RpcReply,
} from '../../protocol/index.js';
import { addressKey, type NodeAddress, type Runtime } from '../../runtime/types.js';

export const DEFAULT_DIAL_TIMEOUT_MS = 2_000;
export const DEFAULT_MAX_LINKS = 256;

export interface PeerLinksOptions {
  readonly runtime: Runtime;
  readonly registry: MessageRegistry;
  readonly identity: LocalIdentity;
  /** Served on outbound connections too (a peer may send notifications back on them). */
  readonly handlers?: HandlerTable;
  readonly dialTimeoutMs?: number;
  readonly maxLinks?: number;
}

export class PeerLinks {
  private readonly links = new Map<string, Promise<RpcConnection | Error>>();
  private closed = false;

  constructor(private readonly o: PeerLinksOptions) {}

  /** Sends `message` to `to` and waits for the reply (bounded by `timeoutMs`). */
  async request(to: NodeAddress, message: OutgoingMessage, timeoutMs: number): Promise<RpcReply> {
    const conn = await this.connection(to);
    if (conn instanceof Error) {
      return {
        ok: false,
        error: errorMessage(
          'connection_closed',
          `cannot reach ${addressKey(to)}: ${conn.message}`,
          {
            type: message.t,
          },
        ),
      };
    }
    return conn.request(message, { timeoutMs });
  }

  /** The open connection to `to` (dialled if needed), or the Error that prevented it. */
  connection(to: NodeAddress): Promise<RpcConnection | Error> {
    const key = addressKey(to);
    const existing = this.links.get(key);
    if (existing !== undefined) {
      // Keep most recently used last (eviction order).
      this.links.delete(key);
      this.links.set(key, existing);
      return existing;
    }
    if (this.closed) return Promise.resolve(new Error('gate links are closed'));
    const rt = this.o.runtime;
    const dial = connectPeer(rt.stream, to, {
      registry: this.o.registry,
      identity: this.o.identity,
      timers: rt.timers,
      log: rt.log,
      connectTimeoutMs: this.o.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS,
      requireAuthentication: rt.stream.secure === true,
      ...(this.o.handlers !== undefined ? { handlers: this.o.handlers } : {}),
    }).then(
      (conn): RpcConnection | Error => {
        if (this.closed) {
          conn.close();
          return new Error('gate links are closed');
        }
        conn.onClose(() => {
          if (this.links.get(key) === dial) this.links.delete(key);
        });
        return conn;
      },
      (error: unknown): Error => {
        // Forget the failure so the next caller dials again.
        if (this.links.get(key) === dial) this.links.delete(key);
        return error instanceof Error ? error : new Error(String(error));
      },
    );
    this.links.set(key, dial);
    this.evict();
    return dial;
  }

  private evict(): void {
    const max = this.o.maxLinks ?? DEFAULT_MAX_LINKS;
    while (this.links.size > max) {
      const [key, oldest] = this.links.entries().next().value as [
        string,
        Promise<RpcConnection | Error>,
      ];
      this.links.delete(key);
      void oldest.then((c) => {
        if (!(c instanceof Error)) c.close();
      });
    }
  }

  close(): void {
    this.closed = true;
    for (const p of this.links.values()) {
      void p.then((c) => {
        if (!(c instanceof Error)) c.close();
      });
    }
    this.links.clear();
  }
}
