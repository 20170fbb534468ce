// Owns one dispatched part on a worker after it was accepted: runs it through the executor,
// numbers its windows per thread, sends them to the manager that dispatched it in acknowledged
// batches (resent until acknowledged), and once the part ended and every window was
// acknowledged sends `work.done` until that is acknowledged too. Bounded: at most
// MAX_OUTBOX_WINDOWS unacknowledged windows (older ones beyond that are dropped and counted).

import { PartTally } from './part-tally.js';
import type { AnyMessage, RpcConnection } from '../../protocol/index.js';
import type { Runtime, TimerHandle } from '../../runtime/types.js';
import type { StatsWindow } from '../../stats/types.js';
import type { WorkSlots } from '../../cluster/jobs/work-slots.js';
import { MAX_WORK_WINDOWS } from '../jobs/work-wire.js';
import { plannedShareMs } from '../jobs/executor-share.js';
import { weigh } from '../../cluster/jobs/window-relay.js';
import { MAX_DECODE_VALUES } from '../../protocol/codec.js';
import { MAX_FRAME_BYTES } from '../../protocol/framing.js';
import type { WorkerEventLog } from './event-log.js';
import type { RunningWork, WorkExecutor, WorkReport, WorkSpec } from './executor.js';

export const MAX_OUTBOX_WINDOWS = 10_000;
export const DEFAULT_RESEND_MS = 500;
export const REQUEST_TIMEOUT_MS = 5_000;
/** Under `batch` backpressure windows go out once every this many resend periods. */
export const BATCH_PERIODS = 4;
/**
 * Resend periods without the manager's delivered marks moving while windows wait on them: then
 * they are sent again (the manager and the gate count each once). Heals a window taken by a
 * leader that lost its place before it reached the gate.
 */
export const STALLED_CONFIRM_PERIODS = 20;

export interface PartRunnerDeps {
  readonly runtime: Runtime;
  /** The worker's event log (forwards to the node's logger). */
  readonly events: WorkerEventLog;
  readonly slots: WorkSlots;
  readonly executor: WorkExecutor;
  readonly incarnation: number;
  readonly worker: string;
  /** The manager leading the part now (the dispatcher, or the one a transfer named). */
  readonly leader: () => string;
  /** A connection to manager `id` (dialled again if it dropped). */
  readonly connect: (id: string) => Promise<RpcConnection>;
  /** Whether manager `id` could be reached just now (a refusal still counts as reached). */
  readonly onReach: (id: string, reachable: boolean) => void;
  readonly resendMs: number;
  /** The part ended here; `outcome` when a manager acknowledged its end. */
  readonly onEnded: (dispatchId: string, outcome?: 'completed' | 'failed' | 'cancelled') => void;
  readonly counters: {
    backpressure: Record<'none' | 'throttle' | 'batch' | 'reject', number>;
    windowsSent: number;
    windowsAcked: number;
    windowsDropped: number;
    /** Windows sent again: to a new leader, or after the delivered marks stalled. */
    windowsResent: number;
    doneSent: number;
  };
}

interface Queued {
  readonly thread: number;
  readonly seq: number;
  readonly window: StatsWindow;
  /** Its MessagePack values and an upper bound of its bytes, so a batch fits a frame. */
  readonly values: number;
  readonly bytes: number;
}

/** The values and bytes one `work.windows` batch may carry (a frame's, less the envelope's). */
const MAX_BATCH_VALUES = MAX_DECODE_VALUES - 1024;
const MAX_BATCH_BYTES = MAX_FRAME_BYTES - 64 * 1024;

/** The first windows of `queue` that fit one frame (at least one: a window alone always leaves). */
function batchOf(queue: readonly Queued[]): Queued[] {
  let values = 0;
  let bytes = 0;
  let n = 0;
  for (const q of queue) {
    if (n >= MAX_WORK_WINDOWS) break;
    values += q.values;
    bytes += q.bytes;
    if (n > 0 && (values > MAX_BATCH_VALUES || bytes > MAX_BATCH_BYTES)) break;
    n++;
  }
  return queue.slice(0, n);
}

export class PartRunner {
  private readonly outbox: Queued[] = [];
  /** Windows the manager took that have not reached the gate yet (resent to a new leader). */
  private unconfirmed: Queued[] = [];
  /** A delivery poll is due at the next retry. */
  private pollDue = false;
  /** When the delivered marks last moved (or windows last became unconfirmed). */
  private confirmedAtMs = 0;
  /** The manager's last backpressure signal for this part, and when windows last went out. */
  private level: 'none' | 'throttle' | 'batch' | 'reject' = 'none';
  private lastSendMs = -Infinity;
  /** Per thread, the seq up to which every window is known to have reached the gate. */
  private readonly floor: number[];
  private sending = false;
  private report: WorkReport | null = null;
  /** What this worker counted itself, logged at the part's end. */
  private readonly tally = new PartTally();
  private doneAcked = false;
  private retry: TimerHandle | null = null;
  private readonly work: RunningWork;
  private readonly startedMs: number;
  private stopped = false;
  /** Set while the worker shuts down: windows go out, the end does not (the part moves on). */
  private leaving: (() => void) | null = null;

  constructor(
    private readonly spec: WorkSpec,
    private readonly deps: PartRunnerDeps,
  ) {
    this.floor = spec.shares.map(() => 0);
    deps.slots.started(spec.dispatchId);
    const startedMs = deps.runtime.clock.monotonicMs();
    this.startedMs = startedMs;
    const facts = {
      job: spec.job,
      workflow: spec.workflow,
      dispatchId: spec.dispatchId,
      worker: deps.worker,
      cores: spec.shares.length,
      vus: spec.shares.reduce((n, s) => n + ('vus' in s.config ? s.config.vus : 0), 0),
    };
    deps.events.log('info', 'worker: part started', facts);
    this.work = deps.executor.run(spec, (thread, window) => this.onWindow(thread, window));
    void this.work.done.then((r) => {
      deps.slots.finish(spec.dispatchId, r.outcome);
      const outcome = deps.slots.part(spec.dispatchId)?.outcome ?? r.outcome;
      deps.events.log(outcome === 'failed' ? 'warn' : 'info', `worker: part ${outcome}`, {
        ...facts,
        elapsedMs: deps.runtime.clock.monotonicMs() - startedMs,
        networkRequests: r.network.requests,
        tally: this.tally.toJSON(),
        ...(r.failure !== undefined ? { error: r.failure } : {}),
      });
      this.report = r;
      this.flush();
    });
  }

  get dispatchId(): string {
    return this.spec.dispatchId;
  }

  /** Iterations this part finished so far (passed or failed), all threads. */
  get iterations(): number {
    return this.tally.iterations;
  }

  /** When the part started here, on this worker's clock. */
  get startedAtMs(): number {
    return this.startedMs;
  }

  /** Iterations the part is to run in all (shared-iterations shares), else undefined. */
  get totalIterations(): number | undefined {
    let n = 0;
    for (const s of this.spec.shares) {
      if (s.config.type !== 'shared-iterations') return undefined;
      n += s.config.iterations;
    }
    return n;
  }

  /** The part's planned length: its shares' longest duration and graceful stop. */
  get plannedMs(): number {
    return Math.max(0, ...this.spec.shares.map(plannedShareMs));
  }

  /** Whether the part still runs (its executor has not settled). */
  get running(): boolean {
    return this.report === null;
  }

  describe(): { dispatchId: string; job: string; workflow: string } {
    return { dispatchId: this.spec.dispatchId, job: this.spec.job, workflow: this.spec.workflow };
  }

  cancel(reason: string): void {
    this.work.cancel(reason);
  }

  stop(): void {
    this.stopped = true;
    this.retry?.cancel();
    this.work.cancel('worker stopping');
    this.leaving?.();
  }

  /**
   * The worker shuts down: the part stops, and the promise settles once every window it made
   * reached the gate. No end is reported: the manager runs what is left of the part elsewhere.
   */
  leave(): Promise<void> {
    return new Promise((resolve) => {
      this.leaving = resolve;
      this.work.cancel('worker shutting down');
      this.flush();
    });
  }

  private onWindow(thread: number, window: StatsWindow): void {
    const seq = this.deps.slots.nextSeq(this.spec.dispatchId, thread);
    if (seq === null) return;
    this.tally.add(window);
    this.deps.events.trace('worker: window', {
      job: this.spec.job,
      workflow: this.spec.workflow,
      dispatchId: this.spec.dispatchId,
      thread,
      seq,
      steps: Object.keys(window.steps),
    });
    if (this.outbox.length + this.unconfirmed.length >= MAX_OUTBOX_WINDOWS) {
      if (this.unconfirmed.length > 0) this.unconfirmed.shift();
      else this.outbox.shift();
      this.deps.counters.windowsDropped++;
    }
    const entry = { thread, seq, window: { ...window, seq } };
    const weight = { values: 0, bytes: 0 };
    weigh(entry, weight);
    this.outbox.push({ ...entry, ...weight });
    this.flush();
  }

  private later(delayMs = this.deps.resendMs): void {
    if (this.retry !== null || this.stopped) return;
    this.retry = this.deps.runtime.timers.after(delayMs, () => {
      this.retry = null;
      this.flush();
    });
  }

  /** Sends the next batch, or the end once every window was acknowledged. One request at a time. */
  private flush(): void {
    if (this.sending || this.stopped || this.doneAcked) return;
    const polling = this.outbox.length === 0 && this.unconfirmed.length > 0;
    if (this.outbox.length > 0 || (polling && !this.pollDue)) {
      if (polling && this.confirmStalled()) {
        this.requeueUnconfirmed();
        this.flush();
        return;
      }
      if (polling) {
        // Everything was sent; ask again later how far it reached the gate.
        this.pollDue = true;
        this.later();
        return;
      }
      const wait = this.holdBackMs();
      if (wait > 0) {
        // Whole milliseconds: a clock that moves in steps must see the wait pass.
        this.later(Math.max(1, Math.ceil(wait)));
        return;
      }
      if (this.level === 'reject') {
        // Windows are held back; an empty message asks how the manager's queue is now.
        this.sending = true;
        this.lastSendMs = this.deps.runtime.clock.monotonicMs();
        void this.request(this.windowsMessage([])).then((reply) => {
          this.sending = false;
          if (reply !== null) this.confirm(reply, []);
          this.later();
        });
        return;
      }
      const batch = batchOf(this.outbox);
      this.sending = true;
      this.lastSendMs = this.deps.runtime.clock.monotonicMs();
      this.deps.counters.windowsSent += batch.length;
      const to = this.deps.leader();
      void this.request(this.windowsMessage(batch)).then((reply) => {
        this.sending = false;
        if (reply !== null && this.deps.leader() !== to) {
          // The part moved to a new leader while this batch was with the old one, which may
          // never pass it on: the new leader gets it too (the batch is still at the outbox's
          // head), after what waited on the old leader's marks.
          this.requeueUnconfirmed();
          this.flush();
        } else if (reply !== null) {
          // The batch was the head of the outbox; only a drop could have shifted it.
          const sent = new Set(batch);
          let i = 0;
          while (i < this.outbox.length && sent.has(this.outbox[i]!)) i++;
          this.outbox.splice(0, i);
          if (this.unconfirmed.length === 0)
            this.confirmedAtMs = this.deps.runtime.clock.monotonicMs();
          this.unconfirmed.push(...batch);
          this.deps.counters.windowsAcked += batch.length;
          this.confirm(reply, batch);
          this.flush();
        } else this.later();
      });
      return;
    }
    if (this.unconfirmed.length > 0) {
      this.pollDue = false;
      this.sending = true;
      void this.request(this.windowsMessage([])).then((reply) => {
        this.sending = false;
        if (reply !== null) this.confirm(reply, []);
        if (reply === null || this.unconfirmed.length > 0) this.later();
        else this.flush();
      });
      return;
    }
    const r = this.report;
    if (r === null) return;
    if (this.leaving !== null) {
      this.leaving();
      return;
    }
    const part = this.deps.slots.part(this.spec.dispatchId);
    const outcome = part?.outcome ?? r.outcome;
    this.sending = true;
    this.deps.counters.doneSent++;
    const to = this.deps.leader();
    void this.send({
      t: 'work.done',
      dispatchId: this.spec.dispatchId,
      job: this.spec.job,
      workflow: this.spec.workflow,
      incarnation: this.deps.incarnation,
      outcome,
      ...(r.failure !== undefined ? { failure: r.failure.slice(0, 4096) } : {}),
      published: r.published,
      network: r.network,
      interrupted: r.interrupted,
      notes: r.notes.slice(0, 50).map((n) => n.slice(0, 4096)),
      lastSeq: part ? [...part.seqs] : [],
    }).then((ok) => {
      this.sending = false;
      if (ok && this.deps.leader() !== to) {
        // The part moved to a new leader while the old one took its end, and the old one may
        // never record it: the new leader hears it too (an end it already has is a duplicate).
        this.flush();
      } else if (ok) {
        this.doneAcked = true;
        this.deps.slots.forget(this.spec.dispatchId);
        this.deps.onEnded(this.spec.dispatchId, outcome);
      } else this.later();
    });
  }

  private windowsMessage(batch: readonly Queued[]): { t: string } & Record<string, unknown> {
    return {
      t: 'work.windows',
      dispatchId: this.spec.dispatchId,
      job: this.spec.job,
      workflow: this.spec.workflow,
      incarnation: this.deps.incarnation,
      windows: batch.map((b) => ({ thread: b.thread, seq: b.seq, window: b.window })),
      floor: [...this.floor],
    };
  }

  /**
   * Drops the windows the gate has: those at or below each thread's delivered mark, or, from a
   * manager that reports no marks, the batch it took.
   */
  /** How long the manager's backpressure says to wait before sending windows again (0: now). */
  private holdBackMs(): number {
    const since = this.deps.runtime.clock.monotonicMs() - this.lastSendMs;
    const full = this.outbox.length >= MAX_WORK_WINDOWS;
    switch (this.level) {
      case 'none':
        return 0;
      case 'throttle':
        return Math.max(0, this.deps.resendMs - since);
      case 'batch':
        return full ? 0 : Math.max(0, BATCH_PERIODS * this.deps.resendMs - since);
      case 'reject':
        return Math.max(0, this.deps.resendMs - since);
    }
  }

  private confirm(reply: AnyMessage, batch: readonly Queued[]): void {
    const level = reply['backpressure'];
    if (level === 'none' || level === 'throttle' || level === 'batch' || level === 'reject') {
      this.level = level;
      this.deps.counters.backpressure[level]++;
    }
    const delivered = reply['delivered'];
    if (!Array.isArray(delivered)) {
      const took = new Set(batch);
      this.unconfirmed = this.unconfirmed.filter((q) => !took.has(q));
      return;
    }
    delivered.forEach((mark, thread) => {
      if (typeof mark === 'number' && thread < this.floor.length && mark > this.floor[thread]!) {
        this.floor[thread] = mark;
        this.confirmedAtMs = this.deps.runtime.clock.monotonicMs();
      }
    });
    this.unconfirmed = this.unconfirmed.filter((q) => q.seq > (this.floor[q.thread] ?? 0));
  }

  private send(message: { t: string } & Record<string, unknown>): Promise<boolean> {
    return this.request(message).then((r) => r !== null);
  }

  /** Sends to the leading manager; the reply message, or null when it did not take it. */
  private request(message: { t: string } & Record<string, unknown>): Promise<AnyMessage | null> {
    const leader = this.deps.leader();
    return this.deps.connect(leader).then(
      (conn) =>
        conn.request(message, { timeoutMs: REQUEST_TIMEOUT_MS }).then((reply) => {
          // A manager that no longer leads counts as gone for this part: the new leader takes
          // the part over (and the worker follows it) or, past the grace, the part is given up.
          const unreachable =
            !reply.ok &&
            (reply.error.code === 'timeout' ||
              reply.error.code === 'connection_closed' ||
              reply.error.code === 'E_NOT_LEADER');
          this.deps.onReach(leader, !unreachable);
          if (!reply.ok) {
            this.deps.events.log('debug', 'worker: manager did not take a message', {
              type: message.t,
              dispatchId: this.spec.dispatchId,
              manager: leader,
              code: reply.error.code,
              error: reply.error.message,
            });
            return null;
          }
          return reply.message;
        }),
      (error: unknown) => {
        this.deps.onReach(leader, false);
        this.deps.events.log('debug', 'worker: leading manager unreachable', {
          dispatchId: this.spec.dispatchId,
          manager: leader,
          error: error instanceof Error ? error.message : String(error),
        });
        return null;
      },
    );
  }

  /**
   * A new leader took the part: windows not known to have reached the gate go to it again
   * (the gate counts each once), and what waits is sent now instead of at the next retry.
   */
  poke(): void {
    this.requeueUnconfirmed();
    this.retry?.cancel();
    this.retry = null;
    this.flush();
  }

  /** Windows waiting on delivered marks go out again, first. */
  private requeueUnconfirmed(): void {
    if (this.unconfirmed.length === 0) return;
    this.deps.counters.windowsResent += this.unconfirmed.length;
    this.outbox.unshift(...this.unconfirmed);
    this.unconfirmed = [];
  }

  private confirmStalled(): boolean {
    const waited = this.deps.runtime.clock.monotonicMs() - this.confirmedAtMs;
    return waited >= STALLED_CONFIRM_PERIODS * this.deps.resendMs;
  }

  /**
   * Gives the part up (its leader stayed unreachable past the grace period): stops it, drops
   * what was not delivered, and frees its cores.
   */
  giveUp(reason: string): void {
    this.stopped = true;
    this.retry?.cancel();
    this.work.cancel(reason);
    this.deps.counters.windowsDropped += this.outbox.length + this.unconfirmed.length;
    this.outbox.length = 0;
    this.unconfirmed = [];
    this.deps.slots.finish(this.spec.dispatchId, 'cancelled');
    this.deps.slots.forget(this.spec.dispatchId);
    this.deps.onEnded(this.spec.dispatchId);
  }
}
