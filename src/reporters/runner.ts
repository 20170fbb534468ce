// Runs a job's reporters in isolation from the run and from each other: each reporter has its
// own lane (a bounded buffer and one call at a time, with a timeout, retries and backoff), so a
// slow, down or failing reporter never slows the run, never fails it and never stops the others.
// Owns delivery and the outcome summary; never reads statistics itself (sampler.ts does).
import { describeError } from '../errors.js';
import { ReporterError } from './errors.js';
import type {
  FinalReport,
  Reporter,
  ReporterOutcome,
  ReporterState,
  ReportStart,
  ReportWindow,
} from './types.js';

export interface ReporterPolicy {
  /** A call (start, windows, final, close) that takes longer has failed. */
  callTimeoutMs: number;
  /** Consecutive failed attempts after which the reporter is marked failed. */
  maxAttempts: number;
  /** First retry delay; doubles per attempt up to backoffMaxMs, with ±20 % jitter. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Windows buffered per reporter; when full the oldest is dropped (and counted). */
  maxBufferedWindows: number;
  /** Windows buffered over all reporters; over it, non-critical reporters lose their oldest first. */
  maxBufferedTotal: number;
  /** Windows handed to one `windows()` call at most. */
  maxBatch: number;
  /** After the run, how long reporters may take to deliver what is left and the final summary. */
  finishTimeoutMs: number;
}

/** Defaults: a reporter gets about 8 s of retries before it is failed, and 15 s at the end. */
export const DEFAULT_REPORTER_POLICY: ReporterPolicy = {
  callTimeoutMs: 5000,
  maxAttempts: 6,
  backoffBaseMs: 250,
  backoffMaxMs: 4000,
  maxBufferedWindows: 3600,
  maxBufferedTotal: 20_000,
  maxBatch: 500,
  finishTimeoutMs: 15_000,
};

export interface ReporterEntry {
  reporter: Reporter;
  /** Critical reporters keep their buffer when the shared budget runs out. */
  critical?: boolean;
}

type Job = { kind: 'final'; report: FinalReport };

class Lane {
  readonly name: string;
  readonly reporter: Reporter;
  readonly critical: boolean;
  readonly queue: ReportWindow[] = [];
  state: ReporterState = 'ok';
  delivered = 0;
  dropped = 0;
  retries = 0;
  finalDelivered = false;
  error: string | undefined;
  started = false;
  final: Job | undefined;
  done = false;
  /** Set when the lane must stop at once (deadline or abort). */
  stopped = false;
  private wake: (() => void) | undefined;

  constructor(name: string, entry: ReporterEntry) {
    this.name = name;
    this.reporter = entry.reporter;
    this.critical = entry.critical === true;
  }

  notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** Resolves on notify() or after `ms`, whichever is first. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  outcome(): ReporterOutcome {
    const out: ReporterOutcome = {
      name: this.name,
      state: this.state,
      delivered: this.delivered,
      dropped: this.dropped,
      retries: this.retries,
      finalDelivered: this.finalDelivered,
    };
    if (this.error !== undefined) out.error = this.error;
    return out;
  }
}

/** The error's message with its cause's (fetch says only "fetch failed"; the cause says why). */
function explain(error: unknown): string {
  const text = describeError(error);
  const cause = error instanceof Error ? error.cause : undefined;
  return cause === undefined ? text : `${text}: ${describeError(cause)}`;
}

/** Calls `fn` with a timeout; the timed-out call's late settlement is observed, not lost. */
async function callWithTimeout(what: string, timeoutMs: number, fn: () => unknown): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const call = Promise.resolve().then(fn);
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new ReporterError('E_REPORTER_TIMEOUT', `${what} timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    await Promise.race([call, timeout]);
  } finally {
    clearTimeout(timer);
    // A call that lost the race may still reject later; that failure is already counted.
    call.catch((late: unknown) => void late);
  }
}

export class ReporterRunner {
  private readonly lanes: Lane[] = [];
  private readonly policy: ReporterPolicy;
  private readonly random: () => number;
  private readonly pumps: Promise<void>[] = [];
  private startInfo: ReportStart | undefined;
  private finishing = false;
  private readonly seen = new Map<string, number>();

  constructor(
    entries: readonly ReporterEntry[],
    policy: Partial<ReporterPolicy> = {},
    random: () => number = Math.random,
  ) {
    this.policy = { ...DEFAULT_REPORTER_POLICY, ...policy };
    this.random = random;
    for (const entry of entries) this.add(entry);
  }

  /** Adds a reporter before start (e.g. the dashboard, once its server listens). */
  add(entry: ReporterEntry): void {
    if (this.startInfo)
      throw new ReporterError('E_REPORTER_FAILED', 'reporters are added before the run starts');
    this.lanes.push(new Lane(this.uniqueName(entry.reporter.name || 'reporter'), entry));
  }

  private uniqueName(base: string): string {
    const n = (this.seen.get(base) ?? 0) + 1;
    this.seen.set(base, n);
    return n === 1 ? base : `${base}#${n}`;
  }

  /** The reporters this runner drives, by the names the summary uses. */
  get names(): string[] {
    return this.lanes.map((l) => l.name);
  }

  get size(): number {
    return this.lanes.length;
  }

  /** Starts every lane; returns at once (delivery runs in the background). */
  start(info: ReportStart): void {
    if (this.startInfo) return;
    this.startInfo = info;
    for (const lane of this.lanes) this.pumps.push(this.supervise(lane));
  }

  /** Hands a window to every live reporter. Synchronous and bounded: never waits on a reporter. */
  push(window: ReportWindow): void {
    if (this.finishing) return;
    for (const lane of this.lanes) {
      if (lane.state === 'failed' || lane.done) continue;
      if (lane.queue.length >= this.policy.maxBufferedWindows) {
        lane.queue.shift();
        lane.dropped++;
      }
      lane.queue.push(window);
      lane.notify();
    }
    this.enforceTotalBudget();
  }

  /** Buffered windows over all lanes right now. */
  buffered(): number {
    return this.lanes.reduce((n, l) => n + l.queue.length, 0);
  }

  private enforceTotalBudget(): void {
    let total = this.buffered();
    while (total > this.policy.maxBufferedTotal) {
      // Non-critical lanes give up their oldest window first, the fullest one first.
      const candidates = this.lanes.filter((l) => l.queue.length > 0);
      const normal = candidates.filter((l) => !l.critical);
      const pool = normal.length > 0 ? normal : candidates;
      const victim = pool.reduce((a, b) => (b.queue.length > a.queue.length ? b : a));
      victim.queue.shift();
      victim.dropped++;
      total--;
    }
  }

  /**
   * Delivers the final report to every live reporter, waits for the lanes up to the policy's
   * deadline, closes every reporter and returns how each fared. Never throws.
   */
  async finish(report: FinalReport): Promise<ReporterOutcome[]> {
    this.finishing = true;
    for (const lane of this.lanes) {
      if (lane.state !== 'failed') lane.final = { kind: 'final', report };
      lane.notify();
    }
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => {
      timer = setTimeout(() => resolve('deadline'), this.policy.finishTimeoutMs);
    });
    const all = Promise.all(this.pumps).then(() => 'drained' as const);
    const how = await Promise.race([all, deadline]);
    clearTimeout(timer);
    if (how === 'deadline') {
      for (const lane of this.lanes) {
        if (lane.done) continue;
        this.fail(
          lane,
          new ReporterError(
            'E_REPORTER_TIMEOUT',
            `did not finish within ${this.policy.finishTimeoutMs} ms after the run${lane.error ? `; last error: ${lane.error}` : ''}`,
          ),
        );
        lane.stopped = true;
        lane.notify();
      }
    }
    await this.closeAll();
    return this.outcomes();
  }

  /** Stops every reporter at once (job cancelled, shutdown): buffers dropped, close() called. */
  async abort(reason: string): Promise<ReporterOutcome[]> {
    this.finishing = true;
    for (const lane of this.lanes) {
      if (!lane.done) {
        lane.dropped += lane.queue.length;
        lane.queue.length = 0;
        lane.stopped = true;
        if (lane.state !== 'failed' && !lane.finalDelivered) lane.error ??= `stopped: ${reason}`;
      }
      lane.notify();
    }
    await this.closeAll();
    return this.outcomes();
  }

  outcomes(): ReporterOutcome[] {
    return this.lanes.map((l) => l.outcome());
  }

  private closed = false;
  private async closeAll(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(
      this.lanes.map(async (lane) => {
        const r = lane.reporter;
        if (!r.close) return;
        try {
          await callWithTimeout(`reporter '${lane.name}' close`, this.policy.callTimeoutMs, () =>
            r.close?.(),
          );
        } catch (error) {
          lane.error ??= `close: ${describeError(error)}`;
        }
      }),
    );
  }

  private fail(lane: Lane, error: unknown): void {
    lane.state = 'failed';
    lane.error = describeError(error);
    lane.dropped += lane.queue.length;
    lane.queue.length = 0;
    lane.final = undefined;
  }

  /** The lane's pump under a supervisor: an unexpected throw fails the lane, never the run. */
  private async supervise(lane: Lane): Promise<void> {
    try {
      await this.pump(lane);
    } catch (error) {
      this.fail(
        lane,
        new ReporterError('E_REPORTER_FAILED', `lane crashed: ${describeError(error)}`),
      );
    } finally {
      lane.done = true;
    }
  }

  /** Runs `fn` until it succeeds, the lane stops, or the attempts run out (then the lane fails). */
  private async attempt(lane: Lane, what: string, fn: () => unknown): Promise<boolean> {
    let failures = 0;
    for (;;) {
      if (lane.stopped || lane.state === 'failed') return false;
      try {
        await callWithTimeout(`reporter '${lane.name}' ${what}`, this.policy.callTimeoutMs, fn);
        if (lane.state === 'degraded') lane.state = 'ok';
        return true;
      } catch (error) {
        failures++;
        lane.error = `${what}: ${explain(error)}`;
        if (failures >= this.policy.maxAttempts) {
          this.fail(
            lane,
            new ReporterError(
              'E_REPORTER_FAILED',
              `${what} failed ${failures} times; last: ${explain(error)}`,
            ),
          );
          return false;
        }
        lane.retries++;
        lane.state = 'degraded';
        const base = Math.min(
          this.policy.backoffMaxMs,
          this.policy.backoffBaseMs * 2 ** (failures - 1),
        );
        const jitter = 0.8 + 0.4 * this.random();
        await lane.sleep(Math.round(base * jitter));
      }
    }
  }

  private async pump(lane: Lane): Promise<void> {
    const r = lane.reporter;
    const info = this.startInfo;
    if (!info) return;
    if (r.start) {
      if (!(await this.attempt(lane, 'start', () => r.start?.(info)))) return;
    }
    lane.started = true;
    for (;;) {
      if (lane.stopped || lane.state === 'failed') return;
      if (lane.queue.length > 0) {
        // The batch leaves the buffer while in flight, so overflow drops only waiting windows.
        const batch = lane.queue.splice(0, this.policy.maxBatch);
        const ok = r.windows ? await this.attempt(lane, 'windows', () => r.windows?.(batch)) : true;
        if (!ok) {
          lane.dropped += batch.length;
          return;
        }
        lane.delivered += batch.length;
        continue;
      }
      if (lane.final) {
        const job = lane.final;
        if (r.final) {
          if (!(await this.attempt(lane, 'final', () => r.final?.(job.report)))) return;
        }
        lane.final = undefined;
        lane.finalDelivered = true;
        return;
      }
      if (this.finishing) return;
      await lane.sleep(60_000);
    }
  }
}
