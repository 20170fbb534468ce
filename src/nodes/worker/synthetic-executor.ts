// Owns a WorkExecutor for the simulator: each thread of a part produces one statistics window
// per `windowMs` of (virtual) time for the share's planned length, with request counts and
// latencies that are a pure function of (workflow, thread, seq), so a test can count exactly
// what the workers sent. Honours cancel → drain → finalized; hooks return a value or fail as
// configured. Uses only the Runtime (timers, clock).

import { Histogram } from '../../stats/histogram.js';
import type { StatsWindow } from '../../stats/types.js';
import type { Runtime, TimerHandle } from '../../runtime/types.js';
import { shareDurationMs } from '../jobs/executor-share.js';
import type {
  HookSpec,
  RunningHookCall,
  RunningWork,
  WorkExecutor,
  WorkReport,
  WorkSpec,
} from './executor.js';

export interface SyntheticExecutorOptions {
  /** Length of every part, overriding the share's planned length. */
  readonly durationMs?: number;
  /** Requests each VU makes per window (default 5). */
  readonly requestsPerVu?: number;
  /** Parts of these workflows fail after their first window. */
  readonly failWorkflows?: ReadonlySet<string>;
  /** Virtual time a cancelled part takes to drain (default min(cancelGraceMs, 200)). */
  readonly drainMs?: number;
  /** A hook's value (default: `{ hook, workflow }`); a thrown error fails the hook. */
  readonly hookValue?: (spec: HookSpec) => unknown;
  /** Virtual time a hook takes (default 10 ms). */
  readonly hookMs?: number;
  /**
   * After this long a part's windows finish no iteration (a step blocked): they still come, with
   * nothing done, until the part's length is up or it is cancelled.
   */
  readonly stallAfterMs?: number;
}

/** Parts whose spec the executor keeps for inspection. */
export const MAX_KEPT_SPECS = 100;

export interface SyntheticCounters {
  windows: number;
  requests: number;
  parts: number;
  cancelled: number;
  hooks: number;
}

/** Latency (µs) of request `i` of window `seq` on `thread`: deterministic, spread over 1–6 ms. */
export function syntheticLatencyUs(thread: number, seq: number, i: number): number {
  return 1000 + ((seq * 7 + thread * 13 + i * 31) % 50) * 100;
}

export class SyntheticExecutor implements WorkExecutor {
  readonly counters: SyntheticCounters = {
    windows: 0,
    requests: 0,
    parts: 0,
    cancelled: 0,
    hooks: 0,
  };
  private readonly live = new Set<() => void>();
  /** The last MAX_KEPT_SPECS parts started, oldest first (for tests to inspect). */
  readonly specs: WorkSpec[] = [];

  constructor(
    private readonly runtime: Runtime,
    private readonly options: SyntheticExecutorOptions = {},
  ) {}

  run(spec: WorkSpec, onWindow: (thread: number, window: StatsWindow) => void): RunningWork {
    this.counters.parts++;
    this.specs.push(spec);
    if (this.specs.length > MAX_KEPT_SPECS) this.specs.shift();
    const { timers, clock } = this.runtime;
    const durationMs =
      this.options.durationMs ?? Math.min(shareDurationMs(spec.shares[0]!), 3_600_000);
    const windows = Math.max(1, Math.ceil(durationMs / spec.windowMs));
    const perVu = this.options.requestsPerVu ?? 5;
    const fails = this.options.failWorkflows?.has(spec.workflow) === true;
    const seqs = spec.shares.map(() => 0);
    let ticker: TimerHandle | null = null;
    let drain: TimerHandle | null = null;
    let settle: (r: WorkReport) => void = () => undefined;
    let ended = false;
    let requests = 0;
    const done = new Promise<WorkReport>((resolve) => (settle = resolve));
    const finish = (outcome: WorkReport['outcome'], failure?: string): void => {
      if (ended) return;
      ended = true;
      ticker?.cancel();
      drain?.cancel();
      this.live.delete(stop);
      if (outcome === 'cancelled') this.counters.cancelled++;
      settle({
        outcome,
        ...(failure !== undefined ? { failure } : {}),
        published: {
          [`${spec.workflow}.parts`]: { value: spec.shares.length, atMs: clock.wallMs() },
        },
        network: { requests, bytesSent: requests * 100, bytesReceived: requests * 1000 },
        interrupted: 0,
        notes: [],
      });
    };
    const stop = (): void => finish('cancelled');
    this.live.add(stop);
    const tick = (): void => {
      if (ended) return;
      spec.shares.forEach((share, thread) => {
        const seq = ++seqs[thread]!;
        const vus = Math.max(1, 'vus' in share.config ? share.config.vus : 1);
        const stalled =
          this.options.stallAfterMs !== undefined &&
          seq * spec.windowMs > this.options.stallAfterMs;
        const n = stalled ? 0 : vus * perVu;
        const h = new Histogram();
        for (let i = 0; i < n; i++) h.record(syntheticLatencyUs(spec.firstThread + thread, seq, i));
        const end = clock.wallMs();
        const window: StatsWindow = {
          workflow: spec.workflow,
          seq,
          startMs: end - spec.windowMs,
          endMs: end,
          activeVus: vus,
          allocatedVus: vus,
          iterations: { started: n, completed: n, failed: 0, dropped: 0 },
          steps: stalled
            ? {}
            : {
                get: {
                  count: n,
                  ok: n,
                  failed: 0,
                  errors: {},
                  errorSamples: {},
                  statuses: { '200': n },
                  latency: h.toSparse(),
                },
              },
          checks: {},
          metrics: {},
        };
        requests += n;
        this.counters.requests += n;
        this.counters.windows++;
        onWindow(thread, window);
      });
      if (fails) finish('failed', `workflow '${spec.workflow}' failed on purpose (synthetic)`);
      else if (seqs[0]! >= windows) finish('completed');
    };
    ticker = timers.every(spec.windowMs, tick);
    return {
      done,
      cancel: () => {
        if (ended || drain !== null) return;
        ticker?.cancel();
        ticker = null;
        drain = timers.after(this.options.drainMs ?? Math.min(spec.cancelGraceMs, 200), () =>
          finish('cancelled'),
        );
      },
    };
  }

  runHook(spec: HookSpec): RunningHookCall {
    this.counters.hooks++;
    let stop: (reason: string) => void = () => undefined;
    const result = new Promise<unknown>((resolve, reject) => {
      const timer = this.runtime.timers.after(this.options.hookMs ?? 10, () => {
        try {
          resolve(
            this.options.hookValue
              ? this.options.hookValue(spec)
              : { hook: spec.hook, workflow: spec.workflow },
          );
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
      stop = (reason) => {
        timer.cancel();
        reject(new Error(`${spec.hook} of '${spec.workflow}' was stopped: ${reason}`));
      };
    });
    return { result, stop: (reason) => stop(reason) };
  }

  close(): Promise<void> {
    for (const stop of [...this.live]) stop();
    return Promise.resolve();
  }
}
