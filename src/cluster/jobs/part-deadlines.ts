// Owns how long a manager leader lets one dispatched part run: its deadline (planned length plus
// a base), the progress-based extensions its worker may ask for (bounded in count, logarithmic in
// size, refused without rising progress or while the manager is overloaded), and which parts are
// past their deadline now. Sans-I/O: the caller passes `now` and the load signal; it never ends a
// part itself, it says which to end and why.
//
// Defaults and where Salvo differs from the seeds (REFERENCE AD-26, AD-34):
// - The seeds bound a worker's health-check deadline (base 30 s); Salvo bounds a part: its
//   deadline is `start + planned length + baseMs` (30 s), the planned length being the share's
//   duration and graceful stop, so a part that overruns its plan a little (a slow last iteration)
//   needs nothing, and one blocked for minutes is ended even though its worker heartbeats.
// - Grants follow the seeds' code, `max(minGrantMs, baseMs / 2^(n+1))`: 15, 7.5, 3.75, 1.875, 1 s
//   (29.125 s in all), at most `maxExtensions` (5), each added to the deadline (not to `now`).
// - Progress is finished iterations only (the seeds also accept a fraction) and must rise within
//   the current deadline window: above what the manager had counted when the window began (from
//   the windows it relayed, `observe`) and above the last grant's. A part whose step blocks at
//   its planned end gets nothing for what it did before. A refusal spends nothing, so a part that
//   resumes may ask again.
// - No separate grace after the last extension (the seeds add 10 s): the part ends at its
//   deadline. With the defaults a part's longest deadline is planned + 59.125 s, under the gate's
//   default job timeout (planned + at least 60 s from the submission): a one-workflow job whose
//   part uses every extension still ends before the gate's deadline unless it waited for cores.
//   A job's own `timeoutMs` is never extended: the gate ends the job at it, extensions or not.
// - No "suspect" state and no eviction after repeated failures: a part past its deadline is
//   ended (timed out) with a reason; its worker keeps its other parts.
// - Load: the seeds deny when the node is overloaded; Salvo's shell passes its own signal (the
//   relay's backpressure towards the gate for the part's job).
// - Where it sits: an owner gate that runs the job ends a DC still running a workflow 4 s past its
//   planned end (src/run/watchdog.ts), long before this base; this bound is the DC's own, for
//   when no gate does (its program was lost, its cancel does not arrive) and for a DC that runs
//   on after the gate gave it up. The gate's watchdog does not know of extensions (yet).
// - The state lives with the leader only: a new leader tracks a part it takes over afresh, with
//   at least `baseMs` from when it first sees it, and its extension count starts again at 0.

import { checkConfigIntegers, jobsInvariant, reject, type Rejection } from './errors.js';

export interface PartDeadlinesConfig {
  /** Time a part may run past its planned length before it is ended without an extension. */
  readonly baseMs: number;
  /** Extensions one part may get over its life. */
  readonly maxExtensions: number;
  /** The smallest extension granted. */
  readonly minGrantMs: number;
  /** Parts tracked at once (more are refused by `track`). */
  readonly maxParts: number;
}

export const DEFAULT_PART_DEADLINES: PartDeadlinesConfig = {
  baseMs: 30_000,
  maxExtensions: 5,
  minGrantMs: 1_000,
  maxParts: 100_000,
};

/** Share of the current deadline window after which a worker asks for more time (LT-31.2.1). */
export const REQUEST_AT_SHARE = 0.9;

/** The n-th extension (0-based): `max(minGrantMs, baseMs / 2^(n+1))`, whole milliseconds. */
export function grantMs(
  n: number,
  cfg: Pick<PartDeadlinesConfig, 'baseMs' | 'minGrantMs'>,
): number {
  return Math.max(cfg.minGrantMs, Math.floor(cfg.baseMs / 2 ** (n + 1)));
}

/**
 * Whether a worker should ask for more time now: at least 90 % of the window between the part's
 * previous deadline (or planned end) and its current one has passed, or less than `minLeadMs`
 * (a couple of heartbeats, so the ask arrives in time) is left.
 */
export function wantsExtension(
  nowMs: number,
  windowStartMs: number,
  deadlineMs: number,
  minLeadMs: number,
): boolean {
  if (nowMs >= deadlineMs) return false;
  const window = Math.max(0, deadlineMs - windowStartMs);
  const lead = Math.max(window * (1 - REQUEST_AT_SHARE), minLeadMs);
  return nowMs >= deadlineMs - lead;
}

export interface ExtensionAsk {
  /** Iterations the part completed so far (all its threads). */
  readonly completed: number;
  /** Iterations the part is to run in all, when its executor has a fixed count. */
  readonly total?: number;
}

export type ExtensionDenial =
  | 'E_UNKNOWN_PART'
  | 'E_EXHAUSTED'
  | 'E_NO_PROGRESS'
  | 'E_OVERLOADED'
  | 'E_PAST_DEADLINE'
  | 'E_INVALID';

export interface Grant {
  readonly ok: true;
  readonly extensionMs: number;
  readonly deadlineMs: number;
  /** Extensions granted so far (this one included) and how many are left. */
  readonly granted: number;
  readonly left: number;
}

export type ExtensionDecision =
  | Grant
  | (Rejection<ExtensionDenial> & { readonly deadlineMs: number | null; readonly left: number });

export interface ExpiredPart {
  readonly dispatchId: string;
  readonly deadlineMs: number;
  readonly extensions: number;
  readonly extendedMs: number;
  /** Why the part ends, for its report: its plan, the base, and what was granted. */
  readonly reason: string;
}

interface Entry {
  readonly plannedMs: number;
  /** When the current deadline window began (the planned end, or the previous deadline). */
  windowStartMs: number;
  deadlineMs: number;
  extensions: number;
  extendedMs: number;
  /** Progress of the last grant (0 before any). */
  progress: number;
  /** Progress the manager had counted when the current window began (null: not seen yet). */
  windowProgress: number | null;
  /** Why the last request was refused (in the timeout reason). */
  lastDenial: string | null;
}

export class PartDeadlines {
  readonly cfg: PartDeadlinesConfig;
  private readonly parts = new Map<string, Entry>();
  readonly counters = { granted: 0, denied: 0, expired: 0, refusedFull: 0 };

  constructor(config: Partial<PartDeadlinesConfig> = {}) {
    this.cfg = checkConfigIntegers(
      'part deadlines config',
      { ...DEFAULT_PART_DEADLINES, ...config },
      [
        ['baseMs', 1],
        ['maxExtensions', 0],
        ['minGrantMs', 1],
        ['maxParts', 1],
      ],
    );
  }

  get size(): number {
    return this.parts.size;
  }

  has(dispatchId: string): boolean {
    return this.parts.has(dispatchId);
  }

  /** The part's deadline and the window it is in, or undefined when it is not tracked. */
  deadlineOf(
    dispatchId: string,
  ): { deadlineMs: number; windowStartMs: number; extensions: number } | undefined {
    const e = this.parts.get(dispatchId);
    return (
      e && { deadlineMs: e.deadlineMs, windowStartMs: e.windowStartMs, extensions: e.extensions }
    );
  }

  /**
   * Tracks a part that started at `startMs` for `plannedMs`: its deadline is
   * `max(startMs + plannedMs, firstSeenMs) + baseMs`, so a part first seen late (a new leader
   * took it over) still gets the base. A tracked part is left as it is. False when full.
   */
  track(dispatchId: string, startMs: number, plannedMs: number, firstSeenMs: number): boolean {
    if (this.parts.has(dispatchId)) return true;
    if (this.parts.size >= this.cfg.maxParts) {
      this.counters.refusedFull++;
      return false;
    }
    const plannedEnd = Math.max(startMs + Math.max(0, plannedMs), firstSeenMs);
    this.parts.set(dispatchId, {
      plannedMs: Math.max(0, plannedMs),
      windowStartMs: plannedEnd,
      deadlineMs: plannedEnd + this.cfg.baseMs,
      extensions: 0,
      extendedMs: 0,
      progress: 0,
      windowProgress: null,
      lastDenial: null,
    });
    return true;
  }

  /**
   * The manager's own count of the part's finished iterations at `nowMs`: the first one seen at
   * or after the start of the current window is that window's baseline.
   */
  observe(dispatchId: string, completed: number, nowMs: number): void {
    const e = this.parts.get(dispatchId);
    if (e === undefined || e.windowProgress !== null || nowMs < e.windowStartMs) return;
    e.windowProgress = completed;
  }

  /** The part ended (or went elsewhere): whatever it was granted is released. */
  release(dispatchId: string): boolean {
    return this.parts.delete(dispatchId);
  }

  /** Tracked parts, for the shell to release those that ended. */
  ids(): string[] {
    return [...this.parts.keys()];
  }

  /**
   * Decides one request for more time. Granted only when the part is tracked, not past its
   * deadline, has extensions left, its completed iterations rose above the last grant's, and the
   * manager is not overloaded; the grant is added to the deadline. A refusal changes nothing.
   */
  request(
    dispatchId: string,
    ask: ExtensionAsk,
    nowMs: number,
    overloaded: boolean,
  ): ExtensionDecision {
    const e = this.parts.get(dispatchId);
    if (e === undefined) {
      return this.deny(null, 'E_UNKNOWN_PART', `part '${dispatchId}' has no deadline here`);
    }
    const left = this.cfg.maxExtensions - e.extensions;
    if (!Number.isSafeInteger(ask.completed) || ask.completed < 0) {
      return this.deny(e, 'E_INVALID', 'completed must be a whole number ≥ 0');
    }
    if (
      ask.total !== undefined &&
      (!Number.isSafeInteger(ask.total) || ask.total < ask.completed)
    ) {
      return this.deny(e, 'E_INVALID', 'total must be a whole number ≥ completed');
    }
    if (nowMs >= e.deadlineMs) {
      return this.deny(e, 'E_PAST_DEADLINE', 'the deadline has already passed');
    }
    if (left <= 0) {
      return this.deny(
        e,
        'E_EXHAUSTED',
        `all ${this.cfg.maxExtensions} extensions were granted (${e.extendedMs} ms)`,
      );
    }
    const baseline = Math.max(e.progress, e.windowProgress ?? 0);
    if (ask.completed <= baseline) {
      return this.deny(
        e,
        'E_NO_PROGRESS',
        `no progress: ${ask.completed} iteration(s) finished, not above ${baseline} when this deadline window began`,
      );
    }
    if (overloaded) {
      return this.deny(e, 'E_OVERLOADED', 'the manager is overloaded');
    }
    const extensionMs = grantMs(e.extensions, this.cfg);
    e.windowStartMs = e.deadlineMs;
    e.deadlineMs += extensionMs;
    e.extensions++;
    e.extendedMs += extensionMs;
    e.progress = ask.completed;
    e.windowProgress = null;
    e.lastDenial = null;
    this.counters.granted++;
    jobsInvariant(e.extensions <= this.cfg.maxExtensions, 'extensions over the cap');
    return {
      ok: true,
      extensionMs,
      deadlineMs: e.deadlineMs,
      granted: e.extensions,
      left: this.cfg.maxExtensions - e.extensions,
    };
  }

  /**
   * Parts at or past their deadline at `nowMs`, earliest first; each is forgotten (the shell ends
   * it), so each is returned once.
   */
  due(nowMs: number): ExpiredPart[] {
    const out: ExpiredPart[] = [];
    for (const [dispatchId, e] of this.parts) {
      if (e.deadlineMs > nowMs) continue;
      this.parts.delete(dispatchId);
      this.counters.expired++;
      const granted =
        e.extensions === 0
          ? 'no extension'
          : `${e.extensions} extension(s) of ${e.extendedMs} ms in all`;
      out.push({
        dispatchId,
        deadlineMs: e.deadlineMs,
        extensions: e.extensions,
        extendedMs: e.extendedMs,
        reason:
          `timed out: the part ran past its deadline (planned ${e.plannedMs} ms + base ${this.cfg.baseMs} ms` +
          ` + ${granted})` +
          (e.lastDenial !== null ? `; last extension refused: ${e.lastDenial}` : ''),
      });
    }
    return out.sort(
      (a, b) => a.deadlineMs - b.deadlineMs || (a.dispatchId < b.dispatchId ? -1 : 1),
    );
  }

  private deny(e: Entry | null, code: ExtensionDenial, message: string): ExtensionDecision {
    this.counters.denied++;
    if (e !== null) e.lastDenial = message;
    return {
      ...reject(code, message),
      deadlineMs: e?.deadlineMs ?? null,
      left: e === null ? 0 : this.cfg.maxExtensions - e.extensions,
    };
  }
}
