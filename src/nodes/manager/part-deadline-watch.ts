// Owns, on a manager leader, the time bound of the DC's live parts (PartDeadlines): it tracks
// every dispatched or running part from its workflow's acceptance and planned length, decides the
// extension requests workers put in their heartbeats (refused while the relay to the job's gate
// is backed up), tells each worker its parts' deadlines in the heartbeat's answer, and ends a
// part past its deadline: failed with a "timed out" reason that goes up in the workflow's report,
// its late windows discarded, its worker told to stop it. Only the leader does any of this.

import {
  DEFAULT_PART_DEADLINES,
  PartDeadlines,
  type ExpiredPart,
  type ExtensionDecision,
  type PartDeadlinesConfig,
} from '../../cluster/jobs/part-deadlines.js';
import type { WorkflowOutcome } from '../../cluster/jobs/dc-dispatch.js';
import type { ExecutorShare } from '../../engine/plan.js';
import type { TimerHandle } from '../../runtime/types.js';
import { plannedShareMs } from '../jobs/executor-share.js';
import type { WorkerHeartbeat, WorkerHeartbeatAck } from '../jobs/work-wire.js';
import { abandon, originalKey, type ManagerContext } from './context.js';

export interface PartDeadlineOptions extends PartDeadlinesConfig {
  /** How often the leader looks for parts past their deadline. */
  readonly tickMs: number;
}

export const DEFAULT_PART_DEADLINE_OPTIONS: PartDeadlineOptions = {
  ...DEFAULT_PART_DEADLINES,
  tickMs: 250,
};

/** How long a worker has to acknowledge the stop of a timed-out part. */
export const CANCEL_TIMEOUT_MS = 5_000;

/** Extension decisions a manager keeps for operators and tests (newest last). */
export const MAX_KEPT_DECISIONS = 200;

export interface KeptDecision {
  readonly worker: string;
  readonly dispatchId: string;
  readonly reason: string;
  readonly completed: number;
  readonly total: number | null;
  readonly estimatedMs: number | null;
  readonly granted: boolean;
  readonly extensionMs: number;
  readonly code: string | null;
  readonly atMs: number;
}

/** A span for the wire: whole milliseconds, rounded up, never below 0. */
const wholeMs = (ms: number): number => Math.max(0, Math.ceil(ms));

type Ack = Pick<WorkerHeartbeatAck, 'extensions' | 'deadlines'>;

export class PartDeadlineWatch {
  readonly core: PartDeadlines;
  readonly decisions: KeptDecision[] = [];
  readonly counters = { timedOut: 0, untracked: 0 };
  private timer: TimerHandle | null = null;
  /** The leader term the tracked deadlines belong to. */
  private term = -1;

  constructor(
    private readonly ctx: ManagerContext,
    private readonly opts: PartDeadlineOptions,
    private readonly onEnded: (job: string, workflow: string, outcome: WorkflowOutcome) => void,
  ) {
    this.core = new PartDeadlines(opts);
  }

  start(): void {
    this.timer = this.ctx.runtime.timers.every(this.opts.tickMs, () => this.tick());
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  /** Tracks new live parts, releases those that ended, and ends those past their deadline. */
  tick(): void {
    const { ctx } = this;
    const d = ctx.leadership.dispatcher();
    if (!d || !ctx.leadership.isLeader()) {
      for (const id of this.core.ids()) this.core.release(id);
      return;
    }
    if (this.term !== ctx.leadership.term) {
      for (const id of this.core.ids()) this.core.release(id);
      this.term = ctx.leadership.term;
    }
    const now = ctx.now();
    const live = new Set<string>();
    for (const p of d.allParts()) {
      if ((p.state !== 'dispatched' && p.state !== 'running') || ctx.abandoned.has(p.dispatchId))
        continue;
      live.add(p.dispatchId);
      if (this.core.has(p.dispatchId)) {
        const counted = ctx.parts.get(p.dispatchId)?.iterations;
        if (counted !== undefined) {
          this.core.observe(
            p.dispatchId,
            counted.reduce((a, b) => a + b, 0),
            now,
          );
        }
        continue;
      }
      const original = ctx.originals.get(originalKey(p.job, p.workflow));
      if (original === undefined) continue;
      const planned = plannedShareMs(original.message.share as ExecutorShare);
      if (!this.core.track(p.dispatchId, original.acceptedAtMs, planned, now)) {
        this.counters.untracked++;
        ctx.log.log('warn', 'manager: too many parts to track their deadlines', {
          dispatchId: p.dispatchId,
          max: this.opts.maxParts,
        });
      }
    }
    // An ended part (early, after an extension or not) lets its deadline go.
    for (const id of this.core.ids()) if (!live.has(id)) this.core.release(id);
    for (const e of this.core.due(now)) this.timeOut(e);
  }

  /** The part is past its deadline: it fails with the reason and its worker is told to stop. */
  private timeOut(e: ExpiredPart): void {
    const { ctx } = this;
    const d = ctx.leadership.dispatcher();
    const p = d?.part(e.dispatchId);
    if (!d || !p || (p.state !== 'dispatched' && p.state !== 'running')) return;
    this.counters.timedOut++;
    const info = ctx.parts.get(p.dispatchId);
    if (info !== undefined) {
      ctx.parts.set(p.dispatchId, {
        ...info,
        report: {
          failure: e.reason,
          published: {},
          network: { requests: 0, bytesSent: 0, bytesReceived: 0 },
          interrupted: 0,
          notes: [`part on worker '${p.worker}' ${e.reason}`],
        },
      });
    }
    // What it delivered stays counted; what it still sends is acknowledged and discarded.
    abandon(ctx, p.dispatchId);
    const r = d.transition(p.dispatchId, 'failed');
    ctx.log.log('warn', 'manager: part timed out', {
      dispatchId: p.dispatchId,
      job: p.job,
      workflow: p.workflow,
      worker: p.worker,
      extensions: e.extensions,
      extendedMs: e.extendedMs,
      reason: e.reason,
    });
    if (r.ok && r.workflowEnded) this.onEnded(p.job, p.workflow, r.workflowEnded);
    const conn = ctx.workerConns.get(p.worker);
    if (!conn) return;
    void conn
      .request(
        { t: 'work.cancel', job: p.job, workflow: p.workflow, fence: p.fence, reason: e.reason },
        { timeoutMs: CANCEL_TIMEOUT_MS },
      )
      .then((reply) => {
        if (!reply.ok) {
          ctx.log.log('info', 'manager: stop of a timed-out part not acknowledged', {
            dispatchId: p.dispatchId,
            worker: p.worker,
            code: reply.error.code,
          });
        }
      });
  }

  /**
   * What a leader adds to its answer to a worker's heartbeat: a decision on each extension the
   * worker asked for, and the deadlines of the worker's live parts. Nothing on a follower.
   */
  onHeartbeat(m: WorkerHeartbeat): Ack {
    const { ctx } = this;
    const d = ctx.leadership.dispatcher();
    if (!d || !ctx.leadership.isLeader() || this.term !== ctx.leadership.term) return {};
    const now = ctx.now();
    const extensions = (m.extensions ?? []).map((q) => {
      const p = d.part(q.dispatchId);
      const mine = p !== undefined && p.worker === m.worker && !ctx.abandoned.has(q.dispatchId);
      const level = p === undefined ? 'none' : ctx.relay.backpressure(p.job);
      const dec: ExtensionDecision = mine
        ? this.core.request(
            q.dispatchId,
            { completed: q.completed, ...(q.total !== undefined ? { total: q.total } : {}) },
            now,
            level === 'batch' || level === 'reject',
          )
        : {
            ok: false,
            code: 'E_UNKNOWN_PART',
            message: `part '${q.dispatchId}' is not a live part of worker '${m.worker}' here`,
            deadlineMs: null,
            left: 0,
          };
      const deadline = dec.deadlineMs;
      this.keep({
        worker: m.worker,
        dispatchId: q.dispatchId,
        reason: q.reason,
        completed: q.completed,
        total: q.total ?? null,
        estimatedMs: q.estimatedMs ?? null,
        granted: dec.ok,
        extensionMs: dec.ok ? dec.extensionMs : 0,
        code: dec.ok ? null : dec.code,
        atMs: now,
      });
      if (dec.ok) {
        ctx.log.log('info', 'manager: part deadline extended', {
          dispatchId: q.dispatchId,
          worker: m.worker,
          extensionMs: dec.extensionMs,
          granted: dec.granted,
          left: dec.left,
          completed: q.completed,
          reason: q.reason,
        });
      } else {
        ctx.log.log('info', 'manager: part deadline extension refused', {
          dispatchId: q.dispatchId,
          worker: m.worker,
          code: dec.code,
          error: dec.message,
        });
      }
      return {
        dispatchId: q.dispatchId,
        granted: dec.ok,
        extensionMs: dec.ok ? dec.extensionMs : 0,
        remainingMs: deadline === null ? 0 : wholeMs(deadline - now),
        left: dec.left,
        ...(dec.ok ? {} : { code: dec.code, reason: dec.message }),
      };
    });
    const deadlines = d.liveOn(m.worker).flatMap((p) => {
      const dl = this.core.deadlineOf(p.dispatchId);
      if (dl === undefined) return [];
      return [
        {
          dispatchId: p.dispatchId,
          remainingMs: wholeMs(dl.deadlineMs - now),
          windowMs: wholeMs(dl.deadlineMs - dl.windowStartMs),
        },
      ];
    });
    return {
      ...(extensions.length > 0 ? { extensions } : {}),
      ...(deadlines.length > 0 ? { deadlines } : {}),
    };
  }

  private keep(k: KeptDecision): void {
    this.decisions.push(k);
    if (this.decisions.length > MAX_KEPT_DECISIONS) this.decisions.shift();
  }
}
