// Owns a worker node on a Runtime: its incarnation (persisted, bumped on every start), its
// sessions with the DC's managers (registration, heartbeats), and the handlers of the work a
// leader sends it: `work.dispatch` (checked, cores and fence through WorkSlots, run by a
// PartRunner), `work.cancel` (cancel → ack → drain → finalized), `work.hook`. A composition of
// the pieces above; decisions live in WorkSlots.

import { WorkLeaders } from '../../cluster/jobs/work-leaders.js';
import { WorkSlots } from '../../cluster/jobs/work-slots.js';
import type { ExecutorShare } from '../../engine/plan.js';
import {
  CORE_MESSAGES,
  MessageRegistry,
  type ErrorMessage,
  type Handler,
  type HandlerTable,
  type LocalIdentity,
  type MessageOf,
} from '../../protocol/index.js';
import type { NodeAddress, Runtime } from '../../runtime/types.js';
import { shareProblem } from '../jobs/executor-share.js';
import { PeerLinks } from '../jobs/peer-links.js';
import {
  WORK_MESSAGES,
  WorkCancelDef,
  WorkDispatchDef,
  WorkHookDef,
  WorkTransferDef,
  type WorkerHeartbeatAck,
  type WorkVersion,
} from '../jobs/work-wire.js';
import { DEFAULT_EVENT_CAPACITY, WorkerEventLog } from './event-log.js';
import type { WorkExecutor } from './executor.js';
import { DEFAULT_HEARTBEAT_MS, ManagerSessions } from './manager-sessions.js';
import { ExtensionAsks, type PartProgress } from './extension-asks.js';
import { DEFAULT_RESEND_MS, PartRunner } from './part-runner.js';

export const INCARNATION_FILE = 'worker.incarnation';

export interface WorkerNodeOptions {
  readonly dc: string;
  readonly id: string;
  /** The DC's managers by node id. */
  readonly managers: ReadonlyMap<string, NodeAddress>;
  readonly cores: number;
  readonly executor: WorkExecutor;
  readonly memoryBytes?: number;
  readonly heartbeatMs?: number;
  readonly resendMs?: number;
  /** Overrides for tests: the work-protocol version and capabilities this worker claims. */
  readonly version?: WorkVersion;
  readonly capabilities?: readonly string[];
  readonly identity?: Partial<Pick<LocalIdentity, 'clusterId' | 'environment' | 'protocol'>>;
  readonly build?: string;
  /** How long a part whose leading manager cannot be reached keeps running (default 5 s). */
  readonly orphanGraceMs?: number;
  /** Events the worker keeps for forensics (oldest dropped beyond this). */
  readonly eventLogCapacity?: number;
}

export const DEFAULT_ORPHAN_GRACE_MS = 5_000;
/** On a stop, how long running parts have to deliver their windows before the worker leaves. */
export const LEAVE_FLUSH_MS = 5_000;
/** Parts whose acknowledged end a worker remembers (for a new leader's transfer), newest kept. */
export const MAX_RECENTLY_ENDED = 1_000;
/** How long each manager has to acknowledge the worker's leaving. */
export const LEAVE_NOTICE_TIMEOUT_MS = 1_000;

function fail(code: string, message: string): ErrorMessage {
  return { t: 'error', code, message };
}

export class WorkerNode {
  readonly slots: WorkSlots;
  readonly leaders = new WorkLeaders();
  readonly sessions: ManagerSessions;
  /** Parts' deadlines as the leaders tell them, and the worker's requests for more time. */
  readonly asks: ExtensionAsks;
  /** Lifecycle events, bounded, for forensics; forwarded to the node's logger. */
  readonly events: WorkerEventLog;
  readonly counters = {
    dispatches: 0,
    refused: 0,
    cancels: 0,
    hooks: 0,
    windowsSent: 0,
    windowsAcked: 0,
    windowsDropped: 0,
    windowsResent: 0,
    doneSent: 0,
    orphansGivenUp: 0,
    /** Backpressure signals received from managers, per level. */
    backpressure: { none: 0, throttle: 0, batch: 0, reject: 0 },
  };
  private readonly runners = new Map<string, PartRunner>();
  /** Recently ended parts (their end acknowledged) and how they ended, bounded. */
  private readonly recentlyEnded = new Map<string, 'completed' | 'failed' | 'cancelled'>();
  private orphanTimer: { cancel(): void } | null = null;
  private readonly links: PeerLinks;
  private stopped = false;

  private constructor(
    private readonly runtime: Runtime,
    private readonly opts: WorkerNodeOptions,
    readonly incarnation: number,
  ) {
    this.slots = new WorkSlots({ cores: opts.cores });
    const heartbeatMs = opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.asks = new ExtensionAsks(2 * heartbeatMs, heartbeatMs);
    this.events = new WorkerEventLog(
      runtime.log,
      () => runtime.clock.monotonicMs(),
      opts.eventLogCapacity ?? DEFAULT_EVENT_CAPACITY,
      { worker: opts.id },
    );
    const registry = new MessageRegistry(CORE_MESSAGES).register(...WORK_MESSAGES);
    const handlers: HandlerTable = new Map();
    const on = <M>(type: string, h: (m: M, from: string) => unknown): void => {
      handlers.set(type, ((m, ctx) => h(m as M, ctx.session.remoteNodeId)) as Handler);
    };
    on<MessageOf<typeof WorkDispatchDef>>(WorkDispatchDef.type, (m, from) =>
      this.onDispatch(m, from),
    );
    on<MessageOf<typeof WorkCancelDef>>(WorkCancelDef.type, (m) => this.onCancel(m));
    on<MessageOf<typeof WorkHookDef>>(WorkHookDef.type, (m) => this.onHook(m));
    on<MessageOf<typeof WorkTransferDef>>(WorkTransferDef.type, (m, from) =>
      this.onTransfer(m, from),
    );
    const defaults = ManagerSessions.defaults();
    this.links = new PeerLinks(runtime, {
      registry,
      handlers,
      identity: {
        nodeId: opts.id,
        role: 'worker',
        clusterId: opts.identity?.clusterId ?? 'salvo',
        environment: opts.identity?.environment ?? 'default',
        datacenter: opts.dc,
        capabilities: ['jobs'],
        ...(opts.identity?.protocol ? { protocol: opts.identity.protocol } : {}),
      },
    });
    this.sessions = new ManagerSessions(runtime, this.links, opts.managers, {
      worker: opts.id,
      dc: opts.dc,
      incarnation,
      cores: opts.cores,
      memoryBytes: opts.memoryBytes ?? 0,
      heartbeatMs: opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
      version: opts.version ?? defaults.version,
      capabilities: opts.capabilities ?? defaults.capabilities,
      build: opts.build ?? 'salvo',
      status: (manager) => ({
        health: this.slots.health,
        freeCores: this.slots.freeCores,
        activeWork: this.slots.activeCount,
        extensions: this.asks.requests(manager, this.progress(), runtime.clock.monotonicMs()),
      }),
      onHeartbeatAck: (manager, ack) =>
        this.asks.answered(
          manager,
          ack as Pick<WorkerHeartbeatAck, 'extensions' | 'deadlines'>,
          runtime.clock.monotonicMs(),
          (id) => this.runners.has(id),
        ),
    });
  }

  /** Bumps and persists the incarnation, then starts registering with the managers. */
  static async start(runtime: Runtime, opts: WorkerNodeOptions): Promise<WorkerNode> {
    const raw = await runtime.storage.readFile(INCARNATION_FILE);
    const previous = raw === null ? 0 : Number(new TextDecoder().decode(raw));
    const incarnation = (Number.isSafeInteger(previous) && previous > 0 ? previous : 0) + 1;
    await runtime.storage.writeAtomic(
      INCARNATION_FILE,
      new TextEncoder().encode(String(incarnation)),
    );
    const node = new WorkerNode(runtime, opts, incarnation);
    node.sessions.start();
    node.orphanTimer = runtime.timers.every(opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS, () =>
      node.sweepOrphans(),
    );
    node.events.log('info', 'worker started', {
      worker: opts.id,
      dc: opts.dc,
      incarnation,
      cores: opts.cores,
    });
    return node;
  }

  get activeParts(): number {
    return this.runners.size;
  }

  private onDispatch(m: MessageOf<typeof WorkDispatchDef>, from: string): unknown {
    this.counters.dispatches++;
    if (this.stopped) return this.refuse('E_DRAINING', 'this worker is stopping');
    if (m.incarnation !== this.incarnation) {
      return this.refuse(
        'E_STALE_INCARNATION',
        `dispatch for incarnation ${m.incarnation}; this worker is incarnation ${this.incarnation}`,
      );
    }
    if (m.shares.length === 0)
      return this.refuse('E_INVALID', 'a dispatch needs at least one share');
    for (const share of m.shares) {
      const problem = shareProblem(share);
      if (problem) return this.refuse('E_INVALID', `bad executor share: ${problem}`);
    }
    const address = this.sessions.address(from);
    if (address === undefined)
      return this.refuse('E_UNKNOWN_MANAGER', `'${from}' is not a manager of this worker`);
    const r = this.slots.accept({
      dispatchId: m.dispatchId,
      job: m.job,
      workflow: m.workflow,
      fence: m.fence,
      threads: m.shares.length,
    });
    if (!r.ok) return this.refuse(r.code, r.message);
    this.events.log('info', 'worker: part received', {
      job: m.job,
      workflow: m.workflow,
      dispatchId: m.dispatchId,
      worker: this.opts.id,
      fence: m.fence,
      cores: m.shares.length,
      duplicate: r.duplicate,
    });
    if (!r.duplicate) {
      this.leaders.track(m.dispatchId, m.job, from, m.fence);
      const runner = new PartRunner(
        {
          job: m.job,
          workflow: m.workflow,
          dispatchId: m.dispatchId,
          bundle: m.bundle,
          shares: m.shares as ExecutorShare[],
          firstThread: m.firstThread,
          threads: m.threads,
          data: m.data,
          context: m.context,
          baseUrl: m.baseUrl,
          windowMs: m.windowMs,
          cancelGraceMs: m.cancelGraceMs,
          cores: r.part.cores,
        },
        {
          runtime: this.runtime,
          events: this.events,
          slots: this.slots,
          executor: this.opts.executor,
          incarnation: this.incarnation,
          worker: this.opts.id,
          leader: () => this.leaders.leaderOf(m.dispatchId) ?? from,
          connect: (id) => {
            const at = this.sessions.address(id);
            return at
              ? this.links.get(at, id)
              : Promise.reject(new Error(`'${id}' is not a manager of this worker`));
          },
          onReach: (id, reachable) => this.onReach(id, reachable),
          resendMs: this.opts.resendMs ?? DEFAULT_RESEND_MS,
          counters: this.counters,
          onEnded: (id, outcome) => {
            this.runners.delete(id);
            this.asks.forget(id);
            this.leaders.forget(id);
            if (outcome !== undefined) this.rememberEnded(id, outcome);
          },
        },
      );
      this.runners.set(m.dispatchId, runner);
    }
    return {
      t: 'work.accepted',
      dispatchId: m.dispatchId,
      threads: m.shares.length,
      duplicate: r.duplicate,
    };
  }

  /** Each running part's progress, for its requests for more time. */
  private progress(): PartProgress[] {
    const out: PartProgress[] = [];
    for (const [id, r] of this.runners) {
      const leader = this.leaders.leaderOf(id);
      if (!r.running || leader === undefined) continue;
      out.push({
        dispatchId: id,
        leader,
        completed: r.iterations,
        total: r.totalIterations,
        startedAtMs: r.startedAtMs,
        plannedMs: r.plannedMs,
      });
    }
    return out;
  }

  private onReach(manager: string, reachable: boolean): void {
    const now = this.runtime.clock.monotonicMs();
    const ids = reachable ? this.leaders.recovered(manager) : this.leaders.orphaned(manager, now);
    if (ids.length === 0) return;
    this.runtime.log.log(
      reachable ? 'info' : 'warn',
      reachable
        ? 'worker: leading manager back; parts no longer orphaned'
        : 'worker: leading manager unreachable; parts orphaned',
      {
        manager,
        parts: ids,
      },
    );
  }

  private onTransfer(m: MessageOf<typeof WorkTransferDef>, from: string): unknown {
    if (from !== m.manager)
      return fail('E_FORBIDDEN', `'${from}' may not transfer a job to '${m.manager}'`);
    const r = this.leaders.transfer(
      m.job,
      m.manager,
      m.fence,
      m.dispatchIds,
      this.sessions.address(m.manager) !== undefined,
      this.runtime.clock.monotonicMs(),
    );
    if (!r.ok) {
      this.runtime.log.log('warn', 'worker: job leader transfer refused', {
        job: m.job,
        manager: m.manager,
        code: r.code,
        error: r.message,
      });
      return fail(r.code, r.message);
    }
    this.runtime.log.log('info', 'worker: job leader transferred', {
      job: m.job,
      manager: m.manager,
      accepted: r.accepted,
      pending: r.pending,
      duplicate: r.duplicate,
    });
    for (const id of r.accepted) this.runners.get(id)?.poke();
    // A part that ended here (its end acknowledged by the old leader) is not lost: the new
    // leader hears how it ended instead of running it again.
    const ended = m.dispatchIds.flatMap((id) => {
      const outcome = this.recentlyEnded.get(id);
      return outcome === undefined ? [] : [{ dispatchId: id, outcome }];
    });
    const pending = r.pending.filter((id) => !this.recentlyEnded.has(id));
    return {
      t: 'work.transfer-ack',
      job: m.job,
      accepted: r.accepted,
      pending,
      ...(ended.length > 0 ? { ended } : {}),
    };
  }

  private rememberEnded(id: string, outcome: 'completed' | 'failed' | 'cancelled'): void {
    this.recentlyEnded.set(id, outcome);
    if (this.recentlyEnded.size > MAX_RECENTLY_ENDED) {
      const first = this.recentlyEnded.keys().next();
      if (!first.done) this.recentlyEnded.delete(first.value);
    }
  }

  /** Gives up parts whose leading manager stayed unreachable past the grace period. */
  private sweepOrphans(): void {
    const grace = this.opts.orphanGraceMs ?? DEFAULT_ORPHAN_GRACE_MS;
    for (const id of this.leaders.expired(this.runtime.clock.monotonicMs(), grace)) {
      const runner = this.runners.get(id);
      this.leaders.forget(id);
      if (!runner) continue;
      this.counters.orphansGivenUp++;
      this.runtime.log.log('warn', 'worker: orphaned part given up', {
        dispatchId: id,
        graceMs: grace,
      });
      runner.giveUp(`its manager was unreachable for ${grace} ms`);
    }
  }

  private refuse(code: string, message: string): ErrorMessage {
    this.counters.refused++;
    this.events.log('info', 'worker: dispatch refused', { code, message });
    return fail(code, message);
  }

  private onCancel(m: MessageOf<typeof WorkCancelDef>): unknown {
    this.counters.cancels++;
    const ids = this.slots.cancel(m.job, m.workflow);
    for (const id of ids) this.runners.get(id)?.cancel(m.reason);
    return { t: 'work.cancel-ack', job: m.job, cancelling: ids };
  }

  private async onHook(m: MessageOf<typeof WorkHookDef>): Promise<unknown> {
    this.counters.hooks++;
    const call = this.opts.executor.runHook({
      job: m.job,
      workflow: m.workflow,
      hook: m.hook,
      timeoutMs: m.timeoutMs,
      bundle: m.bundle,
      data: m.data,
      context: m.context,
      baseUrl: m.baseUrl,
    });
    const timer = this.runtime.timers.after(m.timeoutMs, () =>
      call.stop(`it did not finish within ${m.timeoutMs} ms`),
    );
    try {
      const value = await call.result;
      return { t: 'work.hook-result', ok: true, value };
    } catch (error) {
      return {
        t: 'work.hook-result',
        ok: false,
        value: null,
        error: (error instanceof Error ? error.message : String(error)).slice(0, 4096),
      };
    } finally {
      timer.cancel();
    }
  }

  /** Stops heartbeats, cancels running parts and closes links. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.events.log('info', 'worker stopping', {
      worker: this.opts.id,
      incarnation: this.incarnation,
      activeParts: [...this.runners.keys()],
    });
    this.slots.drain();
    await this.leave();
    this.sessions.stop();
    this.orphanTimer?.cancel();
    for (const r of this.runners.values()) r.stop();
    this.links.close();
    await this.opts.executor.close();
    this.events.log('info', 'worker stopped', {
      worker: this.opts.id,
      incarnation: this.incarnation,
    });
  }

  /**
   * The graceful part of a stop: running parts stop and deliver their windows (bounded by
   * LEAVE_FLUSH_MS), then every manager hears the worker is leaving, so the leader runs what is
   * left of its parts elsewhere at once rather than after the worker's silence.
   */
  private async leave(): Promise<void> {
    const runners = [...this.runners.values()];
    if (runners.length > 0) {
      let release!: () => void;
      const bound = new Promise<void>((resolve) => (release = resolve));
      const timer = this.runtime.timers.after(LEAVE_FLUSH_MS, () => release());
      await Promise.race([Promise.all(runners.map((r) => r.leave())), bound]);
      timer.cancel();
    }
    const told = [...this.sessions.sessions.values()].map(async (s) => {
      const reply = await this.links
        .get(s.address, s.id)
        .then((conn) =>
          conn.request(
            {
              t: 'worker.leaving',
              worker: this.opts.id,
              incarnation: this.incarnation,
              reason: 'the worker was asked to stop',
            },
            { timeoutMs: LEAVE_NOTICE_TIMEOUT_MS },
          ),
        )
        .catch((error: unknown) => ({
          ok: false as const,
          error: { code: 'unreachable', message: String(error) },
        }));
      if (!reply.ok) {
        this.events.log('debug', 'worker: a manager did not hear it leave', {
          manager: s.id,
          error: reply.error.message,
        });
      }
    });
    await Promise.all(told);
  }

  /** What the worker was doing: its running parts and its last `n` events (newest last). */
  forensics(n = 20): {
    incarnation: number;
    running: { dispatchId: string; job: string; workflow: string }[];
    recent: ReturnType<WorkerEventLog['recent']>;
  } {
    return {
      incarnation: this.incarnation,
      running: [...this.runners.values()].map((r) => r.describe()),
      recent: this.events.recent(n),
    };
  }
}
