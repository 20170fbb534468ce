// Owns the supervision of a node shell's background loops (timers that drive a core): a failing
// step is logged and counted, then the loop is restarted after a bounded, jittered backoff (or,
// for loops whose failure means corrupt state, escalated once to the shell's fail-stop); every
// loop is stopped on shutdown. Uses only the Runtime's timers, clock, RNG and logger, so the same
// supervision runs in the simulator. Never decides what a loop does or retries a failed step.

import { SalvoError } from '../errors.js';
import type { Logger, Rng, TimerHandle, Timers } from '../runtime/types.js';

/** First restart delay after a failure. */
export const DEFAULT_RESTART_BASE_MS = 50;
/** Restart delays double per consecutive failure up to this bound. */
export const DEFAULT_RESTART_MAX_MS = 5_000;
/** A restart delay is shortened by up to this fraction, drawn from the runtime RNG. */
export const DEFAULT_RESTART_JITTER = 0.5;
/** Loops one supervisor holds (a shell has a handful; more is a wiring bug). */
export const MAX_SUPERVISED_LOOPS = 64;

/**
 * restart: the step failed but state is intact (membership): log, count, restart after backoff.
 * escalate: the state may be half-changed (Raft): log, count, stop the loop, call `onEscalate`.
 */
export type FailurePolicy = 'restart' | 'escalate';

export interface SupervisorOptions {
  readonly timers: Timers;
  readonly rng: Rng;
  readonly log: Logger;
  readonly restartBaseMs?: number;
  readonly restartMaxMs?: number;
  readonly restartJitter?: number;
  /** Called once per loop whose policy is `escalate` when it fails (the shell's fail-stop). */
  readonly onEscalate?: (loop: string, error: unknown) => void;
}

export interface LoopOptions {
  readonly policy?: FailurePolicy;
  /**
   * What a restart does (e.g. arm the loop's timer again from the core's state). Default: the
   * loop's last `every` is armed again; a loop driven only by `after` must give one.
   */
  readonly restart?: () => void;
}

export interface LoopStats {
  readonly name: string;
  readonly policy: FailurePolicy;
  /** Steps that threw, ever. */
  readonly failures: number;
  /** Failures since the last step that returned normally (drives the backoff). */
  readonly consecutiveFailures: number;
  readonly restarts: number;
  /** Stopped: by stop(), by escalation, or by its supervisor's shutdown. */
  readonly stopped: boolean;
  readonly lastError: string | null;
}

/** A supervisor used against its contract (a wiring bug of the shell). */
export class SupervisorError extends SalvoError {
  constructor(message: string) {
    super('E_INTERNAL', `supervisor: ${message}`);
  }
}

/** One supervised loop: at most one pending timer, replaced by each `after`/`every`. */
export class SupervisedLoop {
  private timer: TimerHandle | null = null;
  private restartTimer: TimerHandle | null = null;
  private lastEvery: { periodMs: number; fn: () => void } | null = null;
  private state = {
    failures: 0,
    consecutiveFailures: 0,
    restarts: 0,
    stopped: false,
    lastError: null as string | null,
  };

  /** @internal built by Supervisor.loop */
  constructor(
    readonly name: string,
    private readonly owner: Supervisor,
    private readonly policy: FailurePolicy,
    private readonly restartFn: (() => void) | undefined,
  ) {}

  /** Runs `fn` once after `delayMs`, replacing the loop's pending timer. */
  after(delayMs: number, fn: () => void): void {
    if (this.state.stopped) return;
    this.clearTimer();
    const handle = this.owner.timers.after(delayMs, () => {
      if (this.timer === handle) this.timer = null;
      this.run(fn);
    });
    this.timer = handle;
  }

  /** Runs `fn` every `periodMs`, replacing the loop's pending timer. */
  every(periodMs: number, fn: () => void): void {
    if (this.state.stopped) return;
    this.clearTimer();
    this.lastEvery = { periodMs, fn };
    this.timer = this.owner.timers.every(periodMs, () => this.run(fn));
  }

  /** Cancels the pending timer (the loop stays supervised; a later `after`/`every` re-arms). */
  idle(): void {
    this.clearTimer();
  }

  /** Runs one step now (an input from outside the loop's timer) under the same supervision. */
  run(fn: () => void): void {
    this.guard(fn, true);
  }

  /** Cancels the loop's timers; later steps and restarts are ignored. */
  stop(): void {
    this.state.stopped = true;
    this.clearTimer();
    this.restartTimer?.cancel();
    this.restartTimer = null;
  }

  get stats(): LoopStats {
    return { name: this.name, policy: this.policy, ...this.state };
  }

  private fail(error: unknown): void {
    const s = this.state;
    s.failures++;
    s.consecutiveFailures++;
    s.lastError = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    this.clearTimer();
    if (this.policy === 'escalate') {
      this.owner.log.log('error', 'supervised loop failed; escalating', {
        loop: this.name,
        error,
      });
      this.stop();
      this.owner.escalate(this.name, error);
      return;
    }
    const delayMs = this.owner.backoffMs(s.consecutiveFailures);
    this.owner.log.log('error', 'supervised loop failed; restarting', {
      loop: this.name,
      failures: s.failures,
      consecutiveFailures: s.consecutiveFailures,
      restartInMs: Math.round(delayMs),
      error,
    });
    this.restartTimer?.cancel();
    this.restartTimer = this.owner.timers.after(delayMs, () => {
      this.restartTimer = null;
      if (s.stopped) return;
      s.restarts++;
      // Only a step of the loop itself proves it healthy: a restart keeps the backoff growing.
      this.guard(() => this.restart(), false);
    });
  }

  private guard(fn: () => void, healthyOnSuccess: boolean): void {
    if (this.state.stopped) return;
    try {
      fn();
      if (healthyOnSuccess) this.state.consecutiveFailures = 0;
    } catch (error) {
      this.fail(error);
    }
  }

  private restart(): void {
    if (this.restartFn !== undefined) this.restartFn();
    else if (this.lastEvery !== null) this.every(this.lastEvery.periodMs, this.lastEvery.fn);
    else throw new SupervisorError(`loop ${this.name} has nothing to restart`);
  }

  private clearTimer(): void {
    this.timer?.cancel();
    this.timer = null;
  }
}

/** The background loops of one node shell. */
export class Supervisor {
  readonly timers: Timers;
  readonly log: Logger;
  private readonly rng: Rng;
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly jitter: number;
  private readonly loops = new Map<string, SupervisedLoop>();
  private stopped = false;

  constructor(private readonly options: SupervisorOptions) {
    this.timers = options.timers;
    this.log = options.log.child({ component: 'supervisor' });
    this.rng = options.rng;
    this.baseMs = options.restartBaseMs ?? DEFAULT_RESTART_BASE_MS;
    this.maxMs = options.restartMaxMs ?? DEFAULT_RESTART_MAX_MS;
    this.jitter = Math.min(1, Math.max(0, options.restartJitter ?? DEFAULT_RESTART_JITTER));
  }

  /** A new loop (names are unique per supervisor; a stopped loop's name may be reused). */
  loop(name: string, options: LoopOptions = {}): SupervisedLoop {
    if (this.stopped) throw new SupervisorError(`supervisor stopped; cannot start loop ${name}`);
    const existing = this.loops.get(name);
    if (existing !== undefined && !existing.stats.stopped) {
      throw new SupervisorError(`loop ${name} is already supervised`);
    }
    this.loops.delete(name);
    if (this.loops.size >= MAX_SUPERVISED_LOOPS) {
      for (const [n, l] of this.loops) if (l.stats.stopped) this.loops.delete(n);
      if (this.loops.size >= MAX_SUPERVISED_LOOPS) {
        throw new SupervisorError(`more than ${MAX_SUPERVISED_LOOPS} supervised loops`);
      }
    }
    const loop = new SupervisedLoop(name, this, options.policy ?? 'restart', options.restart);
    this.loops.set(name, loop);
    return loop;
  }

  /** Shorthand: a loop that runs `fn` every `periodMs`. */
  every(
    name: string,
    periodMs: number,
    fn: () => void,
    options: Omit<LoopOptions, 'restart'> = {},
  ): SupervisedLoop {
    const loop = this.loop(name, options);
    loop.every(periodMs, fn);
    return loop;
  }

  /** Stops every loop (shutdown). Idempotent. */
  stop(): void {
    this.stopped = true;
    for (const loop of this.loops.values()) loop.stop();
  }

  /** Per-loop stats, for /metrics and tests. */
  stats(): LoopStats[] {
    return [...this.loops.values()].map((l) => l.stats);
  }

  /** Failures over all loops. */
  get failures(): number {
    let n = 0;
    for (const l of this.loops.values()) n += l.stats.failures;
    return n;
  }

  /** @internal the delay before restart number `consecutive` (1, 2, …). */
  backoffMs(consecutive: number): number {
    const exp = this.baseMs * 2 ** Math.min(30, Math.max(0, consecutive - 1));
    const capped = Math.min(this.maxMs, exp);
    return capped * (1 - this.jitter * this.rng.next());
  }

  /** @internal */
  escalate(loop: string, error: unknown): void {
    const onEscalate = this.options.onEscalate;
    if (onEscalate === undefined) return;
    try {
      onEscalate(loop, error);
    } catch (err) {
      this.log.log('error', 'escalation handler failed', { loop, error: err });
    }
  }
}
