// Owns a manager's registry of its DC's workers: who registered (cores, memory, version,
// capabilities, incarnation), their health, their heartbeats, a per-worker circuit of dispatch
// failures, and reaping the silent. A pure core: time comes in as `now`, answers are values,
// bad input is a typed rejection; it never does I/O.
//
// Contract:
// - `register` accepts a new worker, or a newer incarnation of a known one (a restart: its old
//   state is dropped and reported in `replaced`); an older incarnation is refused; the same
//   incarnation again is an idempotent re-registration.
// - A worker not heard from (registration or heartbeat) for `suspectAfterMs` is unhealthy
//   (never offered for dispatch) with the time it became so; a heartbeat clears that. After
//   `reapAfterMs` of silence `expire` removes it and returns it (the shell frees its cores).
// - Circuit: `circuitThreshold` dispatch failures in a row open the worker's circuit (not
//   offered); after `circuitOpenMs` it is half-open (offered for one dispatch); a success closes
//   it, a failure opens it again.

import { checkConfigIntegers, reject, type Rejection } from './errors.js';
import { MAX_WORKER_CORES, type WorkerHealth, type WorkerOffer } from './split-plan.js';

export interface WorkerRegistryConfig {
  readonly maxWorkers: number;
  readonly suspectAfterMs: number;
  readonly reapAfterMs: number;
  readonly circuitThreshold: number;
  readonly circuitOpenMs: number;
  /** Dispatch latency samples kept per worker (newest), and how long one stays. */
  readonly latencySamples: number;
  readonly latencyMaxAgeMs: number;
}

export const DEFAULT_WORKER_REGISTRY_CONFIG: WorkerRegistryConfig = {
  maxWorkers: 10_000,
  suspectAfterMs: 5_000,
  /** REFERENCE §4.2 (11): dead workers are reaped after 900 s. */
  reapAfterMs: 900_000,
  circuitThreshold: 3,
  circuitOpenMs: 10_000,
  latencySamples: 32,
  latencyMaxAgeMs: 300_000,
};

export interface WorkerRegistration {
  readonly id: string;
  readonly incarnation: number;
  readonly cores: number;
  readonly memoryBytes: number;
  readonly version: { readonly major: number; readonly minor: number };
  readonly capabilities: readonly string[];
  readonly health?: WorkerHealth;
}

export type CircuitState = 'closed' | 'open' | 'half-open';

export interface WorkerRecord extends WorkerRegistration {
  readonly health: WorkerHealth;
  readonly registeredAtMs: number;
  readonly lastHeardMs: number;
  /** When it went silent past `suspectAfterMs`, or null while healthy. */
  readonly unhealthySinceMs: number | null;
  readonly circuit: CircuitState;
  readonly consecutiveFailures: number;
  readonly freeCoresReported: number;
}

interface Entry {
  reg: WorkerRegistration;
  health: WorkerHealth;
  registeredAtMs: number;
  lastHeardMs: number;
  unhealthySinceMs: number | null;
  failures: number;
  openedAtMs: number | null;
  halfOpenInFlight: boolean;
  freeCoresReported: number;
  /** (at, ms) of recent dispatches, oldest first, bounded. */
  readonly latencies: { atMs: number; ms: number }[];
}

export type RegistryErrorCode =
  'E_INVALID_REGISTRATION' | 'E_STALE_INCARNATION' | 'E_TOO_MANY_WORKERS' | 'E_UNKNOWN_WORKER';

export type RegisterResult =
  | {
      readonly ok: true;
      /** The worker was known with this older incarnation, now replaced. */
      readonly replaced: number | null;
      readonly duplicate: boolean;
    }
  | Rejection<RegistryErrorCode>;

export interface RegistryCounters {
  registered: number;
  reRegistered: number;
  refused: number;
  heartbeats: number;
  unknownHeartbeats: number;
  reaped: number;
  unregistered: number;
  circuitsOpened: number;
}

const HEALTH = new Set<WorkerHealth>(['healthy', 'busy', 'degraded', 'overloaded']);

function registrationProblem(r: WorkerRegistration): string | null {
  if (typeof r.id !== 'string' || r.id === '' || r.id.length > 256)
    return 'id must be a non-empty string of at most 256 characters';
  if (!Number.isSafeInteger(r.incarnation) || r.incarnation < 1)
    return 'incarnation must be a positive integer';
  if (!Number.isSafeInteger(r.cores) || r.cores < 1 || r.cores > MAX_WORKER_CORES)
    return `cores must be an integer in 1…${MAX_WORKER_CORES}`;
  if (!Number.isSafeInteger(r.memoryBytes) || r.memoryBytes < 0)
    return 'memoryBytes must be a non-negative integer';
  if (r.health !== undefined && !HEALTH.has(r.health)) return 'unknown health state';
  return null;
}

export class WorkerRegistry {
  private readonly cfg: WorkerRegistryConfig;
  private readonly workers = new Map<string, Entry>();
  readonly counters: RegistryCounters = {
    registered: 0,
    reRegistered: 0,
    refused: 0,
    heartbeats: 0,
    unknownHeartbeats: 0,
    reaped: 0,
    unregistered: 0,
    circuitsOpened: 0,
  };

  constructor(config: Partial<WorkerRegistryConfig> = {}) {
    this.cfg = checkConfigIntegers(
      'worker registry config',
      { ...DEFAULT_WORKER_REGISTRY_CONFIG, ...config },
      [
        ['maxWorkers', 1],
        ['suspectAfterMs', 1],
        ['reapAfterMs', 1],
        ['circuitThreshold', 1],
        ['circuitOpenMs', 0],
        ['latencySamples', 1],
        ['latencyMaxAgeMs', 1],
      ],
    );
  }

  get size(): number {
    return this.workers.size;
  }

  register(r: WorkerRegistration, now: number): RegisterResult {
    const problem = registrationProblem(r);
    if (problem) {
      this.counters.refused++;
      return reject('E_INVALID_REGISTRATION', `worker registration: ${problem}`);
    }
    const known = this.workers.get(r.id);
    if (known && r.incarnation < known.reg.incarnation) {
      this.counters.refused++;
      return reject(
        'E_STALE_INCARNATION',
        `worker '${r.id}' incarnation ${r.incarnation} is older than the registered ${known.reg.incarnation}`,
      );
    }
    if (!known && this.workers.size >= this.cfg.maxWorkers) {
      this.counters.refused++;
      return reject('E_TOO_MANY_WORKERS', `at most ${this.cfg.maxWorkers} workers per DC`);
    }
    if (known && known.reg.incarnation === r.incarnation) {
      known.lastHeardMs = now;
      known.unhealthySinceMs = null;
      this.counters.reRegistered++;
      return { ok: true, replaced: null, duplicate: true };
    }
    this.workers.set(r.id, {
      reg: { ...r, capabilities: [...r.capabilities] },
      health: r.health ?? 'healthy',
      registeredAtMs: now,
      lastHeardMs: now,
      unhealthySinceMs: null,
      failures: 0,
      openedAtMs: null,
      halfOpenInFlight: false,
      freeCoresReported: r.cores,
      latencies: [],
    });
    this.counters.registered++;
    return { ok: true, replaced: known ? known.reg.incarnation : null, duplicate: false };
  }

  /** A heartbeat; `known: false` means the worker must register (again). */
  heartbeat(
    id: string,
    incarnation: number,
    health: WorkerHealth,
    freeCores: number,
    now: number,
  ): { known: boolean } {
    const e = this.workers.get(id);
    if (!e || e.reg.incarnation !== incarnation || !HEALTH.has(health)) {
      this.counters.unknownHeartbeats++;
      return { known: false };
    }
    this.counters.heartbeats++;
    e.lastHeardMs = now;
    e.unhealthySinceMs = null;
    e.health = health;
    e.freeCoresReported = freeCores;
    return { known: true };
  }

  /** The worker left in an orderly way. */
  unregister(id: string): boolean {
    const had = this.workers.delete(id);
    if (had) this.counters.unregistered++;
    return had;
  }

  /** Marks the silent unhealthy and removes those silent past `reapAfterMs` (returned). */
  expire(now: number): { unhealthy: string[]; reaped: WorkerRecord[] } {
    const unhealthy: string[] = [];
    const reaped: WorkerRecord[] = [];
    for (const [id, e] of this.workers) {
      const silent = now - e.lastHeardMs;
      if (silent >= this.cfg.reapAfterMs) {
        reaped.push(this.view(e, now));
        this.workers.delete(id);
        this.counters.reaped++;
      } else if (silent >= this.cfg.suspectAfterMs && e.unhealthySinceMs === null) {
        e.unhealthySinceMs = now;
        unhealthy.push(id);
      }
    }
    return { unhealthy, reaped };
  }

  get(id: string, now: number): WorkerRecord | undefined {
    const e = this.workers.get(id);
    return e ? this.view(e, now) : undefined;
  }

  list(now: number): WorkerRecord[] {
    return [...this.workers.values()]
      .map((e) => this.view(e, now))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Workers per health state (unhealthy ones counted apart). */
  healthCounts(now: number): Record<WorkerHealth | 'unhealthy', number> {
    const out = { healthy: 0, busy: 0, degraded: 0, overloaded: 0, unhealthy: 0 };
    for (const e of this.workers.values()) {
      if (e.unhealthySinceMs !== null || this.circuitOf(e, now) === 'open') out.unhealthy++;
      else out[e.health]++;
    }
    return out;
  }

  /**
   * Workers that may take a dispatch now (heard from recently, circuit not open), with the
   * free cores `freeCores(id)` says (the manager's reservations are the truth, not reports).
   */
  offers(now: number, freeCores: (id: string) => number): WorkerOffer[] {
    const out: WorkerOffer[] = [];
    for (const e of this.workers.values()) {
      if (e.unhealthySinceMs !== null) continue;
      const c = this.circuitOf(e, now);
      if (c === 'open' || (c === 'half-open' && e.halfOpenInFlight)) continue;
      out.push({ id: e.reg.id, freeCores: freeCores(e.reg.id), health: e.health });
    }
    return out;
  }

  /** A dispatch to the worker is going out (a half-open circuit lets only this one through). */
  dispatchStarted(id: string, now: number): void {
    const e = this.workers.get(id);
    if (e && this.circuitOf(e, now) === 'half-open') e.halfOpenInFlight = true;
  }

  /** The worker took a dispatch: its circuit closes. */
  dispatchSucceeded(id: string): void {
    const e = this.workers.get(id);
    if (!e) return;
    e.failures = 0;
    e.openedAtMs = null;
    e.halfOpenInFlight = false;
  }

  /** The worker refused a dispatch or did not answer; returns the circuit state after it. */
  dispatchFailed(id: string, now: number): CircuitState | null {
    const e = this.workers.get(id);
    if (!e) return null;
    e.failures++;
    e.halfOpenInFlight = false;
    if (e.failures >= this.cfg.circuitThreshold) {
      if (e.openedAtMs === null || this.circuitOf(e, now) === 'half-open')
        this.counters.circuitsOpened++;
      e.openedAtMs = now;
    }
    return this.circuitOf(e, now);
  }

  /** Records how long a dispatch to the worker took to be answered. */
  recordLatency(id: string, ms: number, now: number): void {
    const e = this.workers.get(id);
    if (!e || !Number.isFinite(ms) || ms < 0) return;
    e.latencies.push({ atMs: now, ms });
    if (e.latencies.length > this.cfg.latencySamples) e.latencies.shift();
  }

  /** The worker's recent dispatch latencies (ms), oldest first; samples past their age are dropped. */
  latencies(id: string, now: number): number[] {
    const e = this.workers.get(id);
    if (!e) return [];
    while (e.latencies.length > 0 && now - e.latencies[0]!.atMs > this.cfg.latencyMaxAgeMs)
      e.latencies.shift();
    return e.latencies.map((l) => l.ms);
  }

  private circuitOf(e: Entry, now: number): CircuitState {
    if (e.openedAtMs === null) return 'closed';
    return now - e.openedAtMs >= this.cfg.circuitOpenMs ? 'half-open' : 'open';
  }

  private view(e: Entry, now: number): WorkerRecord {
    return {
      ...e.reg,
      health: e.health,
      registeredAtMs: e.registeredAtMs,
      lastHeardMs: e.lastHeardMs,
      unhealthySinceMs: e.unhealthySinceMs,
      circuit: this.circuitOf(e, now),
      consecutiveFailures: e.failures,
      freeCoresReported: e.freeCoresReported,
    };
  }
}
