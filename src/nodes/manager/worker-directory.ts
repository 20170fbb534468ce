// Owns a manager's side of worker registration and liveness: `worker.register` (identity,
// DC, work-protocol version and capabilities negotiated; an unsupported major version is
// refused with E_VERSION), `worker.heartbeat`, the connection each worker registered on, and a
// periodic sweep that marks the silent unhealthy and reaps the long silent (their parts fail).

import type { WorkerRegistry } from '../../cluster/jobs/worker-registry.js';
import type { MessageOf, RequestContext } from '../../protocol/index.js';
import type { TimerHandle } from '../../runtime/types.js';
import {
  negotiateWork,
  WORK_CAPABILITIES,
  WORK_PROTOCOL,
  type WorkerHeartbeatDef,
  type WorkerLeavingDef,
  type WorkerRegisterDef,
  type WorkVersion,
} from '../jobs/work-wire.js';
import { fail, roleProblem, type ManagerContext } from './context.js';

export interface WorkerDirectoryOptions {
  readonly heartbeatMs: number;
  readonly sweepMs: number;
  readonly version?: WorkVersion;
  readonly capabilities?: readonly string[];
}

export class WorkerDirectory {
  private timer: TimerHandle | null = null;
  /** What else a known worker's heartbeat answer carries (its parts' deadlines, extensions). */
  heartbeatExtras: (m: MessageOf<typeof WorkerHeartbeatDef>) => Record<string, unknown> =
    () => ({});
  readonly counters = { versionRefused: 0, identityRefused: 0, wrongDc: 0 };

  constructor(
    private readonly ctx: ManagerContext,
    private readonly opts: WorkerDirectoryOptions,
    /** The worker lost its parts (restarted or reaped). */
    private readonly onWorkerLost: (worker: string, why: string) => void,
    /** A registered worker silent past `silentAfterMs` (each sweep while it stays silent). */
    private readonly onWorkerSilent?: {
      afterMs: number;
      call: (worker: string, ms: number) => void;
    },
  ) {}

  get registry(): WorkerRegistry {
    return this.ctx.registry;
  }

  start(): void {
    this.timer = this.ctx.runtime.timers.every(this.opts.sweepMs, () => this.sweep());
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  onRegister(m: MessageOf<typeof WorkerRegisterDef>, rc: RequestContext): unknown {
    const bad = roleProblem(rc, ['worker'], m.t);
    if (bad) return bad;
    const { ctx } = this;
    if (rc.session.remoteNodeId !== m.worker) {
      this.counters.identityRefused++;
      ctx.log.log('warn', 'manager: registration for another worker refused', {
        connection: rc.session.remoteNodeId,
        claimed: m.worker,
        authenticated: rc.session.authenticated,
      });
      return fail(
        'E_FORBIDDEN',
        `connection of '${rc.session.remoteNodeId}' may not register '${m.worker}'`,
      );
    }
    if (m.dc !== ctx.dc) {
      this.counters.wrongDc++;
      ctx.log.log('warn', 'manager: registration from another DC refused', {
        worker: m.worker,
        dc: m.dc,
      });
      return fail('E_WRONG_DC', `this manager serves DC '${ctx.dc}', not '${m.dc}'`);
    }
    const agreed = negotiateWork(
      this.opts.version ?? WORK_PROTOCOL,
      this.opts.capabilities ?? WORK_CAPABILITIES,
      m.version,
      m.capabilities,
    );
    if (!agreed.ok) {
      this.counters.versionRefused++;
      ctx.log.log('warn', 'manager: worker refused (work protocol version)', {
        worker: m.worker,
        error: agreed.message,
      });
      return fail('E_VERSION', agreed.message, {
        local: this.opts.version ?? WORK_PROTOCOL,
        remote: m.version,
      });
    }
    const now = ctx.now();
    const r = ctx.registry.register(
      {
        id: m.worker,
        incarnation: m.incarnation,
        cores: m.cores,
        memoryBytes: m.memoryBytes,
        version: m.version,
        capabilities: m.capabilities,
      },
      now,
    );
    if (!r.ok) return fail(r.code, r.message);
    if (r.replaced !== null) {
      this.onWorkerLost(m.worker, `restarted (incarnation ${r.replaced} → ${m.incarnation})`);
    }
    ctx.workerConns.set(m.worker, rc.peer);
    const d = ctx.leadership.dispatcher();
    if (d && ctx.leadership.isLeader()) {
      const set = d.reservations.setWorker(m.worker, m.cores);
      if (!set.ok)
        ctx.log.log('warn', 'manager: worker cores not updated', {
          worker: m.worker,
          error: set.message,
        });
    }
    ctx.log.log('info', 'manager: worker registered', {
      worker: m.worker,
      incarnation: m.incarnation,
      cores: m.cores,
      duplicate: r.duplicate,
    });
    return {
      t: 'worker.registered',
      worker: m.worker,
      incarnation: m.incarnation,
      manager: ctx.id,
      leader: ctx.leadership.isLeader(),
      version: agreed.version,
      capabilities: agreed.capabilities,
      heartbeatMs: this.opts.heartbeatMs,
    };
  }

  onHeartbeat(m: MessageOf<typeof WorkerHeartbeatDef>, rc: RequestContext): unknown {
    const bad = roleProblem(rc, ['worker'], m.t);
    if (bad) return bad;
    if (rc.session.remoteNodeId !== m.worker)
      return fail('E_FORBIDDEN', 'a worker heartbeats only for itself');
    const r = this.ctx.registry.heartbeat(
      m.worker,
      m.incarnation,
      m.health,
      m.freeCores,
      this.ctx.now(),
    );
    if (r.known) this.ctx.workerConns.set(m.worker, rc.peer);
    return {
      t: 'worker.heartbeat-ack',
      known: r.known,
      ...(r.known ? this.heartbeatExtras(m) : {}),
    };
  }

  /**
   * A worker shutting down: it is taken out now, and on the leader its parts go to recovery
   * (run elsewhere for what is left). A leaving that names another incarnation changes nothing.
   */
  onLeaving(m: MessageOf<typeof WorkerLeavingDef>, rc: RequestContext): unknown {
    const bad = roleProblem(rc, ['worker'], m.t);
    if (bad) return bad;
    if (rc.session.remoteNodeId !== m.worker)
      return fail('E_FORBIDDEN', 'a worker announces only its own leaving');
    const { ctx } = this;
    const known = ctx.registry.get(m.worker, ctx.now());
    if (known === undefined || known.incarnation !== m.incarnation) {
      return { t: 'worker.leaving-ack', parts: [] };
    }
    const parts = (ctx.leadership.dispatcher()?.liveOn(m.worker) ?? []).map((p) => p.dispatchId);
    ctx.registry.unregister(m.worker);
    ctx.workerConns.delete(m.worker);
    ctx.log.log('info', 'manager: worker leaving', {
      worker: m.worker,
      incarnation: m.incarnation,
      reason: m.reason,
      parts,
    });
    this.onWorkerLost(m.worker, `it shut down: ${m.reason}`);
    return { t: 'worker.leaving-ack', parts: ctx.leadership.isLeader() ? parts : [] };
  }

  /** Marks the silent unhealthy; reaps the long silent (their parts fail, their cores go). */
  sweep(): void {
    const { unhealthy, reaped } = this.ctx.registry.expire(this.ctx.now());
    for (const id of unhealthy)
      this.ctx.log.log('warn', 'manager: worker silent; not offered for dispatch', { worker: id });
    for (const w of reaped) {
      this.ctx.workerConns.delete(w.id);
      this.ctx.log.log('warn', 'manager: worker reaped', {
        worker: w.id,
        incarnation: w.incarnation,
      });
      this.onWorkerLost(w.id, 'reaped after going silent');
    }
    const silent = this.onWorkerSilent;
    if (silent === undefined) return;
    const now = this.ctx.now();
    for (const w of this.ctx.registry.list(now)) {
      if (now - w.lastHeardMs >= silent.afterMs) silent.call(w.id, now - w.lastHeardMs);
    }
  }
}
