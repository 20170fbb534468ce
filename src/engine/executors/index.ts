// The five executors as schedulers over an ExecutorHost: they decide when iterations start
// and on which VU; the host (src/engine/job.ts) runs iterations and records statistics.
// Closed model: callback-driven VU loops (no promise per iteration). Open model: a timer
// schedule that starts every due iteration per tick and never waits for the service.
import type { ExecutorConfig, Stage } from '../../api/executors.js';

export interface HostVu {
  /** Set when the VU should stop looping after its current iteration (ramp-down). */
  retire: boolean;
}

export interface ExecutorHost<V extends HostVu> {
  now(): number;
  /** True once the job is stopping: no new iteration may start. */
  readonly stopping: boolean;
  /** A new VU (closed model), counted as allocated. */
  newVu(): V;
  /** An idle VU, or a new one while under `maxVus`; null when the pool is exhausted. */
  acquireVu(maxVus: number): V | null;
  releaseVu(vu: V): void;
  /**
   * Runs one iteration; root steps are timed from `scheduledStart` (ms, host clock). Calls
   * `done(vu)` exactly once when it ends — possibly synchronously, before `iterate` returns.
   */
  iterate(vu: V, scheduledStart: number, done: (vu: V) => void): void;
  /**
   * Lets freshly allocated `vus` open their keep-alive connections before a schedule's clock
   * starts; calls `ready` exactly once, when all have tried or a bounded wait has passed.
   */
  warmUp(vus: readonly V[], ready: () => void): void;
  /** Counts an iteration the schedule wanted but no VU could take. */
  dropped(): void;
  /** Runs `fn` once after `ms`; returns a handle for `clearTimer`. */
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
  /** Runs `fn` after pending I/O and timers (lets them run before continuing a tight loop). */
  defer(fn: () => void): void;
}

export interface ExecutorRun {
  /** Resolves when the executor will start no more iterations. */
  readonly scheduled: Promise<void>;
}

const YIELD_EVERY_ITERATIONS = 32;
const RAMP_TICK_MS = 100;
/** Open model: iterations started or dropped in one go before I/O and timers get a turn. */
const MAX_STARTS_PER_RUN = 2000;
/** Open model: how long past its scheduled start an iteration may wait for a free VU. */
export const MAX_VU_WAIT_MS = 100;
/** Open model: iterations due within this of now start at once (timers are ~1 ms coarse). */
export const EARLY_START_MS = 0.5;

/**
 * One closed-model VU: starts the next iteration as soon as the last one ends, while
 * `more(now)` allows. An iteration that ends synchronously continues the loop in place (no
 * recursion); every YIELD_EVERY_ITERATIONS iterations the loop defers, so a step that never
 * does I/O cannot starve timers and sockets.
 */
function vuLoop<V extends HostVu>(
  host: ExecutorHost<V>,
  vu: V,
  more: (now: number) => boolean,
): Promise<void> {
  return new Promise<void>((resolve) => {
    let sinceYield = 0;
    let inside = false;
    let endedInside = false;
    const next = (): void => {
      for (;;) {
        if (host.stopping || vu.retire) return resolve();
        const now = host.now();
        if (!more(now)) return resolve();
        inside = true;
        endedInside = false;
        host.iterate(vu, now, done);
        inside = false;
        if (!endedInside) return; // done() continues the loop later
        if (++sinceYield >= YIELD_EVERY_ITERATIONS) {
          sinceYield = 0;
          return host.defer(next);
        }
      }
    };
    const done = (): void => {
      if (inside) {
        endedInside = true;
        return;
      }
      if (++sinceYield >= YIELD_EVERY_ITERATIONS) {
        sinceYield = 0;
        host.defer(next);
        return;
      }
      next();
    };
    next();
  });
}

function constantVus<V extends HostVu>(
  host: ExecutorHost<V>,
  vus: number,
  durationMs: number,
): ExecutorRun {
  const endAt = host.now() + durationMs;
  const more = (now: number): boolean => now < endAt;
  const loops = Array.from({ length: vus }, () => vuLoop(host, host.newVu(), more));
  return { scheduled: Promise.all(loops).then(() => undefined) };
}

function sharedIterations<V extends HostVu>(
  host: ExecutorHost<V>,
  vus: number,
  iterations: number,
  maxDurationMs: number,
): ExecutorRun {
  const endAt = host.now() + maxDurationMs;
  let remaining = iterations;
  const more = (now: number): boolean => {
    if (remaining <= 0 || now >= endAt) return false;
    remaining--;
    return true;
  };
  const loops = Array.from({ length: Math.min(vus, iterations) }, () =>
    vuLoop(host, host.newVu(), more),
  );
  return { scheduled: Promise.all(loops).then(() => undefined) };
}

/** Value of a piecewise-linear stage profile `elapsedMs` into it (held at the last target). */
export function stageValue(start: number, stages: readonly Stage[], elapsedMs: number): number {
  let from = start;
  let t = elapsedMs;
  for (const stage of stages) {
    if (t < stage.durationMs) return from + ((stage.target - from) * t) / stage.durationMs;
    t -= stage.durationMs;
    from = stage.target;
  }
  return from;
}

function rampingVus<V extends HostVu>(
  host: ExecutorHost<V>,
  startVus: number,
  stages: readonly Stage[],
): ExecutorRun {
  const startedAt = host.now();
  const totalMs = stages.reduce((sum, s) => sum + s.durationMs, 0);
  const endAt = startedAt + totalMs;
  const active: V[] = [];
  /** Retired VUs whose loop still runs an iteration: a ramp-up un-retires them first. */
  const retiring: V[] = [];
  /** Retired VUs whose loop has ended: a ramp-up restarts them before allocating new ones. */
  const spare: V[] = [];
  let running = 0;
  let ended = false;
  const more = (now: number): boolean => now < endAt;
  let finish: () => void = () => undefined;
  const scheduled = new Promise<void>((resolve) => (finish = resolve));
  const loopEnded = (vu: V): void => {
    running--;
    if (vu.retire) {
      const i = retiring.indexOf(vu);
      if (i !== -1) retiring.splice(i, 1);
      spare.push(vu);
    }
    if (ended && running === 0) finish();
  };
  const start = (vu: V): void => {
    running++;
    void vuLoop(host, vu, more).then(() => loopEnded(vu));
  };
  const adjust = (): void => {
    const now = host.now();
    if (host.stopping || now >= endAt) {
      ended = true;
      if (running === 0) finish();
      return;
    }
    const target = Math.round(stageValue(startVus, stages, now - startedAt));
    while (active.length < target) {
      const again = retiring.pop();
      if (again !== undefined) {
        again.retire = false; // its loop is still running: it just carries on
        active.push(again);
        continue;
      }
      const vu = spare.pop() ?? host.newVu();
      vu.retire = false;
      active.push(vu);
      start(vu);
    }
    while (active.length > target) {
      const vu = active.pop();
      if (vu) {
        vu.retire = true;
        retiring.push(vu);
      }
    }
    host.setTimer(adjust, RAMP_TICK_MS);
  };
  adjust();
  return { scheduled };
}

/**
 * Open model. `iterationTime(k)` gives the offset (ms from start) at which iteration k is due,
 * or null when the schedule is over. Each due iteration takes an idle VU (allocating up to
 * maxVus); the schedule never waits for the service. An iteration that finds every VU busy
 * waits for the next VU to come free — a release resumes the schedule at once, so a generator
 * that fell behind (a GC pause, a busy machine) catches up one free VU at a time instead of
 * starting a burst that exhausts the pool — but for at most MAX_VU_WAIT_MS past its scheduled
 * start; then it is counted as dropped. Root steps are timed from the scheduled start, so the
 * wait shows in latency. A timer cannot wait much less than a millisecond, so iterations due
 * within EARLY_START_MS start at once, timed from their actual start.
 */
function arrivals<V extends HostVu>(
  host: ExecutorHost<V>,
  maxVus: number,
  preAllocatedVus: number,
  iterationTime: (k: number) => number | null,
): ExecutorRun {
  const warm: V[] = [];
  for (let i = 0; i < preAllocatedVus; i++) warm.push(host.newVu());
  let startedAt = 0;
  let k = 0;
  /** Offset of iteration k, null once the schedule is over. */
  let offset: number | null = null;
  /** Stopped for lack of a VU: the next release resumes the schedule. */
  let waiting = false;
  let timer: unknown = null;
  /** When the armed timer fires (host clock). */
  let timerAt = 0;
  let finish: () => void = () => undefined;
  const scheduled = new Promise<void>((resolve) => (finish = resolve));
  /**
   * Makes sure `run` happens within `ms` of `now`. An armed timer that fires no later is kept:
   * firing early costs one run that re-arms, while re-arming on every release of a catch-up
   * would cost a timer each.
   */
  const arm = (now: number, ms: number): void => {
    if (timer !== null) {
      if (timerAt <= now + ms) return;
      host.clearTimer(timer);
    }
    timerAt = now + ms;
    timer = host.setTimer(onTimer, ms);
  };
  const run = (): void => {
    waiting = false;
    let started = 0;
    // One clock read per run; read again only when the next arrival looks early.
    let now = host.now();
    for (;;) {
      if (host.stopping || offset === null) {
        // Arrivals already due that never found a VU are dropped, not forgotten.
        while (offset !== null && startedAt + offset <= now) {
          host.dropped();
          offset = iterationTime(++k);
        }
        if (timer !== null) host.clearTimer(timer);
        timer = null;
        return finish();
      }
      const due = startedAt + offset;
      if (due > now) {
        // Early (or the clock read is stale): read it again before starting or waiting.
        now = host.now();
        if (due - now > EARLY_START_MS) return arm(now, due - now);
      }
      const vu = host.acquireVu(maxVus);
      if (vu === null) {
        if (now - due <= MAX_VU_WAIT_MS) {
          waiting = true;
          return arm(now, due + MAX_VU_WAIT_MS - now);
        }
        host.dropped();
      } else {
        host.iterate(vu, due < now ? due : now, release);
      }
      offset = iterationTime(++k);
      if (++started >= MAX_STARTS_PER_RUN) {
        // Let I/O and timers run, then carry on where this left off.
        return arm(now, 0);
      }
    }
  };
  const onTimer = (): void => {
    timer = null;
    run();
  };
  const release = (vu: V): void => {
    host.releaseVu(vu);
    if (waiting) run();
  };
  // The clock starts once the pre-allocated VUs are connected: connection set-up is not load.
  host.warmUp(warm, () => {
    for (const vu of warm) host.releaseVu(vu);
    startedAt = host.now();
    offset = iterationTime(0);
    run();
  });
  return { scheduled };
}

/** Offset in ms at which `count` arrivals have accumulated under a piecewise-linear rate. */
export function arrivalOffset(
  startRate: number,
  stages: readonly Stage[],
  timeUnitMs: number,
  count: number,
): number | null {
  let from = startRate / timeUnitMs; // arrivals per ms
  let offset = 0;
  let need = count;
  for (const stage of stages) {
    const to = stage.target / timeUnitMs;
    const T = stage.durationMs;
    const area = ((from + to) / 2) * T;
    if (need <= area && T > 0) {
      // Solve from·t + (to − from)·t²/(2T) = need for t in [0, T].
      const a = (to - from) / (2 * T);
      let t: number;
      if (Math.abs(a) < 1e-15) t = from > 0 ? need / from : T;
      else {
        const disc = from * from + 4 * a * need;
        t = (-from + Math.sqrt(Math.max(0, disc))) / (2 * a);
      }
      return offset + Math.min(Math.max(t, 0), T);
    }
    need -= area;
    offset += T;
    from = to;
  }
  return null;
}

/** Starts the executor `config` on `host`; `phase` (0 ≤ phase < 1) staggers open-model schedules. */
export function startExecutor<V extends HostVu>(
  host: ExecutorHost<V>,
  config: ExecutorConfig,
  phase: number,
): ExecutorRun {
  switch (config.type) {
    case 'constant-vus':
      return constantVus(host, config.vus, config.durationMs);
    case 'shared-iterations':
      return sharedIterations(host, config.vus, config.iterations, config.maxDurationMs);
    case 'ramping-vus':
      return rampingVus(host, config.startVus, config.stages);
    case 'constant-arrival-rate': {
      const intervalMs = config.timeUnitMs / config.rate;
      return arrivals(host, config.maxVus, config.preAllocatedVus, (k) => {
        const offset = (k + phase) * intervalMs;
        return offset < config.durationMs ? offset : null;
      });
    }
    case 'ramping-arrival-rate':
      return arrivals(host, config.maxVus, config.preAllocatedVus, (k) =>
        arrivalOffset(config.startRate, config.stages, config.timeUnitMs, k + phase),
      );
  }
}
