// Owns a worker's side of part deadlines: what each leading manager last said of its parts'
// deadlines (in the heartbeat's answer), which parts should ask for more time in the next
// heartbeat to that manager (90 % of the deadline window gone, at most one ask per heartbeat
// period, none once the extensions are spent), and what each ask was answered. Never ends a
// part itself: the manager does, at the deadline. Bounded by the parts it is told to forget.

import { wantsExtension } from '../../cluster/jobs/part-deadlines.js';
import type { WorkerHeartbeat, WorkerHeartbeatAck } from '../jobs/work-wire.js';

/** A running part as the worker sees it, for deciding whether it asks for more time. */
export interface PartProgress {
  readonly dispatchId: string;
  /** The manager leading the part now. */
  readonly leader: string;
  /** Iterations finished so far (passed or failed), all threads. */
  readonly completed: number;
  /** Iterations the part is to run in all (a shared-iterations share), else undefined. */
  readonly total: number | undefined;
  readonly startedAtMs: number;
  readonly plannedMs: number;
}

export type ExtensionRequest = NonNullable<WorkerHeartbeat['extensions']>[number];
export type ExtensionAnswer = NonNullable<WorkerHeartbeatAck['extensions']>[number];

interface Known {
  /** The manager whose deadline this is (a new leader tracks the part afresh). */
  manager: string;
  deadlineAtMs: number;
  windowMs: number;
  askedAtMs: number | null;
  left: number | null;
  /** Progress sent with the last ask refused for no progress (asked again only once it rose). */
  refusedAt: number | null;
  /** Progress sent with the last ask. */
  asking: number;
}

/** Answers a worker keeps (newest last), for operators and tests. */
export const MAX_KEPT_ANSWERS = 100;

export class ExtensionAsks {
  private readonly known = new Map<string, Known>();
  readonly answers: (ExtensionAnswer & { atMs: number })[] = [];
  readonly counters = { asked: 0, granted: 0, denied: 0 };

  constructor(
    /** How far ahead of its deadline a part asks at the latest (a couple of heartbeats). */
    private readonly minLeadMs: number,
    /** A part asks at most once per this period (the heartbeat period). */
    private readonly periodMs: number,
  ) {}

  /** The deadline the leader last told of for the part, on this worker's clock. */
  deadlineOf(dispatchId: string): { deadlineAtMs: number; windowMs: number } | undefined {
    const k = this.known.get(dispatchId);
    return k && { deadlineAtMs: k.deadlineAtMs, windowMs: k.windowMs };
  }

  /** The parts of `parts` led by `manager` that should ask for more time now. */
  requests(manager: string, parts: readonly PartProgress[], nowMs: number): ExtensionRequest[] {
    const out: ExtensionRequest[] = [];
    for (const p of parts) {
      if (p.leader !== manager) continue;
      const k = this.known.get(p.dispatchId);
      if (k === undefined || k.left === 0) continue;
      if (k.askedAtMs !== null && nowMs - k.askedAtMs < this.periodMs) continue;
      if (k.refusedAt !== null && p.completed <= k.refusedAt) continue;
      if (!wantsExtension(nowMs, k.deadlineAtMs - k.windowMs, k.deadlineAtMs, this.minLeadMs))
        continue;
      k.askedAtMs = nowMs;
      k.asking = p.completed;
      this.counters.asked++;
      const elapsed = Math.max(0, nowMs - p.startedAtMs);
      const over = Math.max(0, Math.round(elapsed - p.plannedMs));
      const estimate =
        p.total !== undefined && p.completed > 0 && elapsed > 0
          ? Math.ceil(((p.total - p.completed) * elapsed) / p.completed)
          : undefined;
      out.push({
        dispatchId: p.dispatchId,
        reason:
          over > 0
            ? `still running ${over} ms past its planned ${p.plannedMs} ms`
            : `its deadline is near (${Math.max(0, Math.round(k.deadlineAtMs - nowMs))} ms left)`,
        completed: p.completed,
        ...(p.total !== undefined ? { total: p.total } : {}),
        ...(estimate !== undefined ? { estimatedMs: estimate } : {}),
      });
    }
    return out;
  }

  /** A leader's heartbeat answer: its deadlines for this worker's parts and its decisions. */
  answered(
    manager: string,
    ack: Pick<WorkerHeartbeatAck, 'extensions' | 'deadlines'>,
    nowMs: number,
    /** Whether the part still runs here (an answer may name one that just ended). */
    runs: (dispatchId: string) => boolean,
  ): void {
    for (const d of ack.deadlines ?? []) {
      if (!runs(d.dispatchId)) continue;
      const k = this.known.get(d.dispatchId);
      if (k === undefined || k.manager !== manager) {
        this.known.set(d.dispatchId, {
          manager,
          deadlineAtMs: nowMs + d.remainingMs,
          windowMs: d.windowMs,
          askedAtMs: null,
          left: null,
          refusedAt: null,
          asking: 0,
        });
      } else {
        k.deadlineAtMs = nowMs + d.remainingMs;
        k.windowMs = d.windowMs;
      }
    }
    for (const a of ack.extensions ?? []) {
      if (a.granted) this.counters.granted++;
      else this.counters.denied++;
      this.answers.push({ ...a, atMs: nowMs });
      if (this.answers.length > MAX_KEPT_ANSWERS) this.answers.shift();
      const k = this.known.get(a.dispatchId);
      if (k === undefined || k.manager !== manager) continue;
      k.left = a.left;
      k.refusedAt = a.code === 'E_NO_PROGRESS' ? k.asking : null;
      if (a.granted) k.deadlineAtMs = nowMs + a.remainingMs;
    }
  }

  /** The part ended here: nothing is kept of it. */
  forget(dispatchId: string): void {
    this.known.delete(dispatchId);
  }
}
