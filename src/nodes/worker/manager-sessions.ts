// Owns a worker's standing with each manager of its DC: dial, `worker.register` (version and
// capabilities negotiated; a refused major version is logged once and not retried), a
// `worker.heartbeat` every period, re-registration when a manager no longer knows this
// incarnation or the link dropped. One periodic timer drives every manager; no wait is unbounded.

import type { NodeAddress, Runtime, TimerHandle } from '../../runtime/types.js';
import type { PeerLinks } from '../jobs/peer-links.js';
import type { AnyMessage } from '../../protocol/index.js';
import { WORK_PROTOCOL, WORK_CAPABILITIES, type WorkVersion } from '../jobs/work-wire.js';
import type { ExtensionRequest } from './extension-asks.js';

export const DEFAULT_HEARTBEAT_MS = 1_000;

/** Handshake refusals that no retry can cure: the worker is not of the manager's cluster. */
export const HANDSHAKE_REFUSALS: ReadonlySet<string> = new Set([
  'cluster_mismatch',
  'environment_mismatch',
  'role_forbidden',
]);

export interface ManagerSession {
  readonly id: string;
  readonly address: NodeAddress;
  state: 'idle' | 'registering' | 'registered' | 'refused';
  leader: boolean;
  version: WorkVersion | null;
  capabilities: readonly string[];
  /** Why the manager refused this worker (a version it does not speak, …). */
  refusal: string | null;
  registrations: number;
  heartbeats: number;
}

export interface SessionsConfig {
  readonly worker: string;
  readonly dc: string;
  readonly incarnation: number;
  readonly cores: number;
  readonly memoryBytes: number;
  readonly heartbeatMs: number;
  readonly version: WorkVersion;
  readonly capabilities: readonly string[];
  readonly build: string;
  /** What the heartbeat to manager `manager` says (with the parts asking it for more time). */
  readonly status: (manager: string) => {
    health: 'healthy' | 'busy' | 'degraded' | 'overloaded';
    freeCores: number;
    activeWork: number;
    extensions?: readonly ExtensionRequest[];
  };
  /** The manager's answer to a heartbeat (its parts' deadlines and extension decisions). */
  readonly onHeartbeatAck?: (manager: string, ack: AnyMessage) => void;
}

export class ManagerSessions {
  readonly sessions = new Map<string, ManagerSession>();
  private timer: TimerHandle | null = null;

  constructor(
    private readonly runtime: Runtime,
    private readonly links: PeerLinks,
    managers: ReadonlyMap<string, NodeAddress>,
    private readonly cfg: SessionsConfig,
  ) {
    for (const [id, address] of managers) {
      this.sessions.set(id, {
        id,
        address,
        state: 'idle',
        leader: false,
        version: null,
        capabilities: [],
        refusal: null,
        registrations: 0,
        heartbeats: 0,
      });
    }
  }

  static defaults(): { version: WorkVersion; capabilities: readonly string[] } {
    return { version: WORK_PROTOCOL, capabilities: WORK_CAPABILITIES };
  }

  start(): void {
    for (const s of this.sessions.values()) this.step(s);
    this.timer = this.runtime.timers.every(this.cfg.heartbeatMs, () => {
      for (const s of this.sessions.values()) this.step(s);
    });
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  /** The manager `id`'s address, if it is one of this worker's managers. */
  address(id: string): NodeAddress | undefined {
    return this.sessions.get(id)?.address;
  }

  private step(s: ManagerSession): void {
    if (s.state === 'idle') this.register(s);
    else if (s.state === 'registered') this.heartbeat(s);
  }

  private register(s: ManagerSession): void {
    s.state = 'registering';
    const log = this.runtime.log;
    this.links
      .get(s.address, s.id)
      .then((conn) =>
        conn.request(
          {
            t: 'worker.register',
            worker: this.cfg.worker,
            dc: this.cfg.dc,
            incarnation: this.cfg.incarnation,
            cores: this.cfg.cores,
            memoryBytes: this.cfg.memoryBytes,
            version: { ...this.cfg.version },
            capabilities: [...this.cfg.capabilities],
            build: this.cfg.build,
          },
          { timeoutMs: this.cfg.heartbeatMs * 3 },
        ),
      )
      .then(
        (reply) => {
          if (reply.ok) {
            const m = reply.message;
            s.state = 'registered';
            s.leader = m.leader === true;
            s.version = m.version as WorkVersion;
            s.capabilities = m.capabilities as string[];
            s.refusal = null;
            s.registrations++;
            return;
          }
          if (reply.error.code === 'E_VERSION') {
            s.state = 'refused';
            s.refusal = reply.error.message;
            log.log('error', 'worker: a manager refused this worker', {
              manager: s.id,
              code: reply.error.code,
              error: reply.error.message,
            });
            return;
          }
          s.state = 'idle';
          log.log('debug', 'worker: registration failed; will retry', {
            manager: s.id,
            code: reply.error.code,
          });
        },
        (error: unknown) => {
          const code = (error as { code?: unknown } | null)?.code;
          if (typeof code === 'string' && HANDSHAKE_REFUSALS.has(code)) {
            // The manager refused this worker's identity (another cluster or environment, a
            // role it does not serve): retrying cannot help, so it is logged once and kept.
            s.state = 'refused';
            s.refusal = `${code}: ${error instanceof Error ? error.message : String(error)}`;
            log.log('error', 'worker: a manager refused this worker', {
              manager: s.id,
              code,
              error: s.refusal,
            });
            return;
          }
          s.state = 'idle';
          log.log('debug', 'worker: manager unreachable; will retry', {
            manager: s.id,
            error: error instanceof Error ? error.message : String(error),
          });
        },
      );
  }

  private heartbeat(s: ManagerSession): void {
    const st = this.cfg.status(s.id);
    this.links
      .get(s.address, s.id)
      .then((conn) =>
        conn.request(
          {
            t: 'worker.heartbeat',
            worker: this.cfg.worker,
            incarnation: this.cfg.incarnation,
            health: st.health,
            freeCores: st.freeCores,
            activeWork: st.activeWork,
            ...(st.extensions !== undefined && st.extensions.length > 0
              ? { extensions: [...st.extensions] }
              : {}),
          },
          { timeoutMs: this.cfg.heartbeatMs * 3 },
        ),
      )
      .then(
        (reply) => {
          if (s.state !== 'registered') return;
          if (reply.ok && reply.message.known === true) {
            s.heartbeats++;
            this.cfg.onHeartbeatAck?.(s.id, reply.message);
            return;
          }
          // Unknown incarnation, or the link failed: register again at the next period.
          s.state = 'idle';
        },
        (error: unknown) => {
          s.state = 'idle';
          this.runtime.log.log('debug', 'worker: heartbeat failed', {
            manager: s.id,
            error: error instanceof Error ? error.message : String(error),
          });
        },
      );
  }
}
