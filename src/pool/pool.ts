// The main-thread shell of the local pool: one worker thread per slot, each driven by its own
// sans-I/O PoolCoordinator over the thread's MessagePort. Everything from a worker is decoded
// and validated at this boundary; a bad message is counted and reported, never trusted.
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { describeError } from '../errors.js';
import type { StatsWindow } from '../stats/types.js';
import { decodeCompletion, decodeWindow, type CompletionPayload } from './payloads.js';
import { PoolCoordinator, type CoordinatorEvent } from './protocol/coordinator.js';
import { decodeEnvelope, type PoolEnvelope } from './protocol/envelope.js';

export interface WorkerReport {
  index: number;
  completion: CompletionPayload | undefined;
  /** Set when the job failed on this worker (error outcome, panic, worker died, protocol error). */
  failure: string | undefined;
  cancelled: boolean;
}

export interface PoolJobReport {
  workers: WorkerReport[];
}

export interface PoolJobHandle {
  readonly done: Promise<PoolJobReport>;
  /** Starts cancel → drain → finalize on every worker still running the job. Idempotent. */
  cancel(reason: string): void;
  /**
   * Terminates the worker of every part still running whose thread has sent nothing for
   * `quietMs` (all of them when `quietMs` is 0): a thread that does not yield (a step in a busy
   * loop) cannot be asked to stop. Its part ends with a failure saying so; the statistics it
   * already reported stay merged. Returns how many workers were terminated.
   */
  terminateStalled(quietMs: number, why: string): number;
}

export interface WorkerPool {
  readonly size: number;
  runJob(
    workflow: string,
    payloads: readonly (Uint8Array | null)[],
    onWindow: (worker: number, window: StatsWindow) => void,
  ): PoolJobHandle;
  shutdown(): Promise<void>;
}

export interface PoolOptions {
  size: number;
  seed?: number;
  /** How long a worker may take to report bootstrap readiness. */
  bootTimeoutMs?: number;
  /**
   * How long a worker may take to finalize a cancelled job (its drain grace included); past
   * it the worker is terminated.
   */
  finalizeSlackMs?: number;
  onDiagnostic?: (worker: number, level: string, message: string) => void;
}

interface JobPart {
  readonly jobId: number;
  readonly slot: Slot;
  readonly onWindow: (worker: number, window: StatsWindow) => void;
  readonly resolve: (report: WorkerReport) => void;
  finished: boolean;
  cancelTimer: NodeJS.Timeout | undefined;
  /** A cancel that came before the job reached its worker (a slot still starting). */
  cancelledBeforeSpawn: boolean;
}

interface Slot {
  readonly index: number;
  readonly worker: Worker;
  readonly coordinator: PoolCoordinator;
  readonly parts: Map<number, JobPart>;
  /** Resolves once the worker reported bootstrap readiness; rejects if it never does. */
  readonly ready: Promise<void>;
  alive: boolean;
  /** When the worker last sent anything (performance.now()). */
  lastHeardAt: number;
  onReady: ((error?: Error) => void) | undefined;
  onShutdown: (() => void) | undefined;
}

const WORKER_ENTRY = new URL('./worker-main.js', import.meta.url);
const DEFAULT_BOOT_TIMEOUT_MS = 15_000;
const SHUTDOWN_TIMEOUT_MS = 3_000;
const DEFAULT_FINALIZE_SLACK_MS = 10_000;

export class ThreadPool implements WorkerPool {
  readonly size: number;
  private readonly slots: Slot[] = [];
  private readonly options: PoolOptions;
  private nextJobId = 1;
  private shuttingDown = false;
  /** Messages from workers that failed decoding or validation. */
  protocolErrors = 0;

  private constructor(options: PoolOptions) {
    this.options = options;
    this.size = options.size;
  }

  /** Job records the coordinators hold over all slots (released ones not yet ended included). */
  get trackedJobs(): number {
    let n = 0;
    for (const slot of this.slots) n += slot.coordinator.trackedCount;
    return n;
  }

  /** Starts `size` worker threads and waits until every one reports bootstrap readiness. */
  static async start(options: PoolOptions): Promise<ThreadPool> {
    const pool = new ThreadPool(options);
    for (let index = 0; index < options.size; index++) pool.slots.push(pool.startSlot(index));
    try {
      await Promise.all(pool.slots.map((slot) => slot.ready));
    } catch (error) {
      await pool.terminate();
      throw error;
    }
    return pool;
  }

  /** Starts the worker thread of slot `index`; its `ready` settles on bootstrap. */
  private startSlot(index: number): Slot {
    const seed = this.options.seed ?? 1;
    const bootMs = this.options.bootTimeoutMs ?? DEFAULT_BOOT_TIMEOUT_MS;
    const worker = new Worker(WORKER_ENTRY, { workerData: { seed, index } });
    let onReady: (error?: Error) => void = () => undefined;
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`worker ${index} did not start within ${bootMs}ms`)),
        bootMs,
      );
      onReady = (error) => {
        clearTimeout(timer);
        slot.onReady = undefined;
        if (error) reject(error);
        else resolve();
      };
    });
    // A slot restarted for a later job reports a failed start through its job, not here.
    ready.catch((error: unknown) => {
      this.diagnostic(slot, 'error', describeError(error));
    });
    const slot: Slot = {
      index,
      worker,
      coordinator: new PoolCoordinator(seed),
      parts: new Map(),
      ready,
      alive: true,
      lastHeardAt: performance.now(),
      onReady,
      onShutdown: undefined,
    };
    worker.on('message', (message: unknown) => this.receive(slot, message));
    worker.on('error', (error) =>
      this.workerDied(slot, `worker thread crashed: ${describeError(error)}`),
    );
    worker.on('exit', (code) =>
      this.workerDied(
        slot,
        `worker thread ${index} exited with code ${code}: the workflow called process.exit(), which ends the thread running it (a workflow must not exit the process)`,
      ),
    );
    return slot;
  }

  /** The slot at `index`, restarted first when its worker has died or was terminated. */
  private liveSlot(index: number): Slot | undefined {
    const slot = this.slots[index];
    if (!slot || slot.alive || this.shuttingDown) return slot;
    const fresh = this.startSlot(index);
    this.slots[index] = fresh;
    return fresh;
  }

  runJob(
    workflow: string,
    payloads: readonly (Uint8Array | null)[],
    onWindow: (worker: number, window: StatsWindow) => void,
  ): PoolJobHandle {
    const jobId = this.nextJobId++;
    const parts: JobPart[] = [];
    const reports: Promise<WorkerReport>[] = [];
    for (let index = 0; index < this.slots.length; index++) {
      const payload = payloads[index];
      const slot = payload ? this.liveSlot(index) : undefined;
      if (!payload || !slot) continue;
      reports.push(
        new Promise<WorkerReport>((resolve) => {
          const part: JobPart = {
            jobId,
            slot,
            onWindow,
            resolve,
            finished: false,
            cancelTimer: undefined,
            cancelledBeforeSpawn: false,
          };
          parts.push(part);
          if (!slot.alive) return this.finish(part, { failure: 'worker thread is not running' });
          slot.parts.set(jobId, part);
          slot.ready.then(
            () => {
              if (part.finished) return;
              // Cancelled while its (restarted) slot was starting: it never runs.
              if (part.cancelledBeforeSpawn) return this.finish(part, { cancelled: true });
              const accepted = slot.coordinator.spawnJob({
                jobId,
                regionId: 0,
                taskId: index,
                obligationId: jobId,
                payload,
              });
              if (!accepted.ok)
                return this.finish(part, {
                  failure: `could not start '${workflow}': ${accepted.error.message}`,
                });
              this.flush(slot);
            },
            (error: unknown) => this.finish(part, { failure: describeError(error) }),
          );
        }),
      );
    }
    let cancelled = false;
    return {
      done: Promise.all(reports).then((workers) => ({ workers })),
      cancel: (reason: string) => {
        if (cancelled) return;
        cancelled = true;
        for (const part of parts) this.cancelPart(part, reason);
      },
      terminateStalled: (quietMs: number, why: string) => {
        const now = performance.now();
        let terminated = 0;
        for (const part of parts) {
          if (part.finished || now - part.slot.lastHeardAt < quietMs) continue;
          terminated++;
          this.kill(part.slot, `worker ${part.slot.index} ${why}; it was terminated`);
        }
        return terminated;
      },
    };
  }

  /** Terminates a slot's worker; its parts end with `why` (what they reported is kept). */
  private kill(slot: Slot, why: string): void {
    if (!slot.alive) return;
    slot.alive = false;
    for (const part of [...slot.parts.values()]) this.finish(part, { failure: why });
    // No worker will end what it still held: the coordinator forgets those records now.
    slot.coordinator.workerTerminated();
    slot.onShutdown?.();
    slot.worker.terminate().catch((error: unknown) => {
      this.diagnostic(slot, 'error', `terminating worker ${slot.index}: ${describeError(error)}`);
    });
  }

  private cancelPart(part: JobPart, reason: string): void {
    if (part.finished) return;
    if (part.slot.coordinator.jobState(part.jobId) === undefined) {
      part.cancelledBeforeSpawn = true; // not spawned yet: the spawn is skipped
      return;
    }
    const accepted = part.slot.coordinator.cancelJob(part.jobId, reason);
    if (!accepted.ok) return; // the job already ended; its completion is on its way
    this.flush(part.slot);
    const limitMs = this.options.finalizeSlackMs ?? DEFAULT_FINALIZE_SLACK_MS;
    part.cancelTimer = setTimeout(
      () =>
        this.kill(
          part.slot,
          `worker ${part.slot.index} did not finalize the cancelled job within ${limitMs}ms (a step that never yields?); it was terminated`,
        ),
      limitMs,
    );
  }

  private finish(part: JobPart, report: Partial<Omit<WorkerReport, 'index'>>): void {
    if (part.finished) return;
    part.finished = true;
    clearTimeout(part.cancelTimer);
    part.slot.parts.delete(part.jobId);
    // Whatever state the job is in (a cancel that timed out leaves it mid-cancellation), the
    // coordinator forgets it now or as soon as the worker ends it: no job leaves a record.
    const coordinator = part.slot.coordinator;
    if (coordinator.jobState(part.jobId) !== undefined) coordinator.releaseJob(part.jobId);
    part.resolve({
      index: part.slot.index,
      completion: report.completion,
      failure: report.failure,
      cancelled: report.cancelled ?? false,
    });
  }

  private flush(slot: Slot): void {
    if (!slot.alive) return;
    for (const envelope of slot.coordinator.drainOutbox())
      slot.worker.postMessage(envelope satisfies PoolEnvelope);
  }

  private diagnostic(slot: Slot, level: string, message: string): void {
    this.options.onDiagnostic?.(slot.index, level, message);
  }

  private receive(slot: Slot, message: unknown): void {
    slot.lastHeardAt = performance.now();
    const decoded = decodeEnvelope(message);
    if (!decoded.ok) {
      this.protocolErrors++;
      this.diagnostic(
        slot,
        'error',
        `rejected a malformed message from worker ${slot.index}: ${decoded.error.message}`,
      );
      return;
    }
    const result = slot.coordinator.handleInbound(decoded.envelope);
    if (!result.ok) {
      this.protocolErrors++;
      if (result.error.detail.kind === 'bootstrap_failed') slot.onReady?.(result.error);
      else
        this.diagnostic(
          slot,
          'error',
          `rejected a message from worker ${slot.index}: ${result.error.message}`,
        );
      return;
    }
    for (const event of result.events) this.apply(slot, event);
    this.flush(slot);
  }

  private apply(slot: Slot, event: CoordinatorEvent): void {
    switch (event.type) {
      case 'worker_ready':
        slot.onReady?.();
        return;
      case 'bootstrap_failed':
        slot.onReady?.(new Error(`worker ${slot.index} failed to start: ${event.reason}`));
        return;
      case 'stats_window': {
        const part = slot.parts.get(event.jobId);
        if (!part) return;
        try {
          part.onWindow(slot.index, decodeWindow(event.payload));
        } catch (error) {
          this.protocolErrors++;
          this.diagnostic(
            slot,
            'error',
            `dropped a statistics window from worker ${slot.index}: ${describeError(error)}`,
          );
        }
        return;
      }
      case 'job_completed': {
        const part = slot.parts.get(event.jobId);
        if (!part) return;
        const outcome = event.outcome;
        if (outcome.status === 'ok') {
          try {
            this.finish(part, { completion: decodeCompletion(outcome.payload) });
          } catch (error) {
            this.finish(part, { failure: describeError(error) });
          }
        } else if (outcome.status === 'cancelled') this.finish(part, { cancelled: true });
        else if (outcome.status === 'err') this.finish(part, { failure: outcome.message });
        else this.finish(part, { failure: `worker panicked: ${outcome.message}` });
        return;
      }
      case 'finalized': {
        const part = slot.parts.get(event.jobId);
        if (part) this.finish(part, { cancelled: true });
        return;
      }
      case 'jobs_failed':
        for (const jobId of event.jobIds) {
          const part = slot.parts.get(jobId);
          if (part) this.finish(part, { failure: `job failed: ${event.cause.replace(/_/g, ' ')}` });
        }
        return;
      case 'shutdown_completed':
        slot.onShutdown?.();
        return;
      case 'diagnostic':
        this.diagnostic(slot, event.level, `${event.category}: ${event.message}`);
        return;
      case 'job_status':
      case 'cancel_acknowledged':
      case 'drained':
        return;
    }
  }

  private workerDied(slot: Slot, why: string): void {
    if (!slot.alive) return;
    slot.alive = false;
    slot.onReady?.(new Error(`worker ${slot.index}: ${why}`));
    slot.onShutdown?.();
    for (const part of [...slot.parts.values()]) this.finish(part, { failure: why });
  }

  /** Graceful shutdown: every worker is asked to stop and given a moment, then terminated. */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    await Promise.all(
      this.slots.map(
        (slot) =>
          new Promise<void>((resolve) => {
            if (!slot.alive) return resolve();
            const timer = setTimeout(resolve, SHUTDOWN_TIMEOUT_MS);
            slot.onShutdown = () => {
              clearTimeout(timer);
              resolve();
            };
            const accepted = slot.coordinator.requestShutdown('run finished');
            if (!accepted.ok) {
              clearTimeout(timer);
              return resolve();
            }
            this.flush(slot);
          }),
      ),
    );
    await this.terminate();
  }

  private async terminate(): Promise<void> {
    for (const slot of this.slots) slot.alive = false;
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
  }
}
