// Owns how a manager leader splits the workflows of a job's DC share over its workers: cores
// per workflow, then workers per workflow, then VUs per worker. A pure function of its inputs
// (no clock, no randomness, no I/O); bad input or too little capacity is a typed rejection.
//
// Contract (`planSplit`):
// - Exclusive workflows run alone: the non-exclusive workflows share the first round, then each
//   exclusive workflow gets a round of its own (priority, then VUs, then name order).
// - Usable cores are the free cores of workers that are not overloaded. In a round every
//   workflow gets at least one core, and never more cores than it has VUs (a core without a VU
//   would idle); a round with more workflows than usable cores is E_INSUFFICIENT_CAPACITY.
// - Workflows with an explicit priority are served first, highest priority first (more VUs,
//   then name, break ties): each takes as many cores as it has VUs, leaving one core for every
//   workflow still to be served. The rest (priority `null`, "auto") share what is left in
//   proportion to their VUs: one core each, then each further core to the workflow with the
//   most VUs per core so far, until cores or VUs run out.
// - Workers are used healthy first, then busy, then degraded (overloaded never), and within a
//   bucket the most free cores first, then by id; each workflow takes its cores from the
//   workers in that order, in the order workflows were served.
// - A workflow's VUs are split over its placements in proportion to their cores (largest
//   remainder), so every placement gets at least one VU and the VUs add up to the demand.

import { jobsInvariant, reject, type Rejection } from './errors.js';

export type WorkerHealth = 'healthy' | 'busy' | 'degraded' | 'overloaded';
export const WORKER_HEALTH: readonly WorkerHealth[] = ['healthy', 'busy', 'degraded', 'overloaded'];

export interface WorkflowDemand {
  readonly name: string;
  readonly vus: number;
  /** An explicit priority (higher is served first), or null for "auto". */
  readonly priority: number | null;
  /** Runs alone, in a round of its own. */
  readonly exclusive: boolean;
}

export interface WorkerOffer {
  readonly id: string;
  readonly freeCores: number;
  readonly health: WorkerHealth;
}

export interface Placement {
  readonly workflow: string;
  readonly worker: string;
  readonly cores: number;
  readonly vus: number;
}

export interface SplitRound {
  readonly exclusive: boolean;
  /** Workflows of the round, in the order they were served. */
  readonly workflows: readonly string[];
  /** Cores each workflow got, by name. */
  readonly cores: Readonly<Record<string, number>>;
  readonly placements: readonly Placement[];
}

export type SplitErrorCode = 'E_INVALID_DEMAND' | 'E_INVALID_WORKER' | 'E_INSUFFICIENT_CAPACITY';

export type SplitResult =
  { readonly ok: true; readonly rounds: readonly SplitRound[] } | Rejection<SplitErrorCode>;

/** Workflows one plan may hold, and workers it may use (bounds on the work done per call). */
export const MAX_SPLIT_WORKFLOWS = 1000;
export const MAX_SPLIT_WORKERS = 10_000;
/** VUs one workflow may ask for (keeps the integer arithmetic of the split exact). */
export const MAX_WORKFLOW_VUS = 10_000_000;
/** Cores one worker may offer. */
export const MAX_WORKER_CORES = 4096;

const HEALTH_RANK: Readonly<Record<WorkerHealth, number>> = {
  healthy: 0,
  busy: 1,
  degraded: 2,
  overloaded: 3,
};

function demandProblem(workflows: readonly WorkflowDemand[]): string | null {
  if (!Array.isArray(workflows) || workflows.length === 0) return 'at least one workflow is needed';
  if (workflows.length > MAX_SPLIT_WORKFLOWS)
    return `at most ${MAX_SPLIT_WORKFLOWS} workflows per plan`;
  const names = new Set<string>();
  for (const w of workflows) {
    if (typeof w?.name !== 'string' || w.name === '')
      return 'every workflow needs a non-empty name';
    if (names.has(w.name)) return `workflow '${w.name}' is listed twice`;
    names.add(w.name);
    if (!Number.isSafeInteger(w.vus) || w.vus < 1 || w.vus > MAX_WORKFLOW_VUS) {
      return `workflow '${w.name}': vus must be an integer in 1…${MAX_WORKFLOW_VUS}, got ${String(w.vus)}`;
    }
    if (w.priority !== null && !Number.isFinite(w.priority)) {
      return `workflow '${w.name}': priority must be a finite number or null (auto)`;
    }
    if (typeof w.exclusive !== 'boolean')
      return `workflow '${w.name}': exclusive must be true or false`;
  }
  return null;
}

function workerProblem(workers: readonly WorkerOffer[]): string | null {
  if (!Array.isArray(workers)) return 'workers must be a list';
  if (workers.length > MAX_SPLIT_WORKERS) return `at most ${MAX_SPLIT_WORKERS} workers per plan`;
  const ids = new Set<string>();
  for (const w of workers) {
    if (typeof w?.id !== 'string' || w.id === '') return 'every worker needs a non-empty id';
    if (ids.has(w.id)) return `worker '${w.id}' is listed twice`;
    ids.add(w.id);
    if (!Number.isSafeInteger(w.freeCores) || w.freeCores < 0 || w.freeCores > MAX_WORKER_CORES) {
      return `worker '${w.id}': freeCores must be an integer in 0…${MAX_WORKER_CORES}, got ${String(w.freeCores)}`;
    }
    if (!WORKER_HEALTH.includes(w.health)) {
      return `worker '${w.id}': health must be one of ${WORKER_HEALTH.join(', ')}`;
    }
  }
  return null;
}

/** Served order: explicit priorities first (highest first), then auto; ties by VUs, then name. */
function servedBefore(a: WorkflowDemand, b: WorkflowDemand): number {
  if ((a.priority === null) !== (b.priority === null)) return a.priority === null ? 1 : -1;
  if (a.priority !== null && b.priority !== null && a.priority !== b.priority)
    return b.priority - a.priority;
  if (a.vus !== b.vus) return b.vus - a.vus;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * Cores per workflow of one round (served order), per the header's rules; `total` ≥ length.
 * Hands out the auto share one core at a time: O(cores × auto workflows), which is small for
 * one DC (1600 cores and 10 workflows: 16 000 steps) and keeps the rule exact and plain.
 */
export function coresPerWorkflow(
  round: readonly WorkflowDemand[],
  total: number,
): Map<string, number> {
  const out = new Map<string, number>();
  let remaining = total;
  const auto: WorkflowDemand[] = [];
  round.forEach((w, i) => {
    if (w.priority === null) {
      auto.push(w);
      return;
    }
    const give = Math.min(w.vus, remaining - (round.length - i - 1));
    out.set(w.name, give);
    remaining -= give;
  });
  if (auto.length === 0) return out;
  const alloc = auto.map(() => 1);
  let extra = remaining - auto.length;
  while (extra > 0) {
    let best = -1;
    for (let i = 0; i < auto.length; i++) {
      const w = auto[i]!;
      if (alloc[i]! >= w.vus) continue;
      // Most VUs per core so far (compared without division); earlier in served order wins ties.
      if (best < 0 || w.vus * alloc[best]! > auto[best]!.vus * alloc[i]!) best = i;
    }
    if (best < 0) break;
    alloc[best]!++;
    extra--;
  }
  auto.forEach((w, i) => out.set(w.name, alloc[i]!));
  return out;
}

/** Splits `vus` over `parts` in proportion to their weights (largest remainder, ties by position). */
export function apportion(vus: number, weights: readonly number[]): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  const shares = weights.map((w) => Math.floor((vus * w) / total));
  let left = vus - shares.reduce((a, b) => a + b, 0);
  const order = weights
    .map((w, i) => ({ i, rem: (vus * w) % total }))
    .sort((a, b) => b.rem - a.rem || a.i - b.i);
  for (const { i } of order) {
    if (left === 0) break;
    shares[i]!++;
    left--;
  }
  return shares;
}

function planRound(
  round: readonly WorkflowDemand[],
  exclusive: boolean,
  workers: readonly WorkerOffer[],
): SplitRound | Rejection<SplitErrorCode> {
  const total = workers.reduce((n, w) => n + w.freeCores, 0);
  if (round.length > total) {
    return reject(
      'E_INSUFFICIENT_CAPACITY',
      `${round.length} workflow(s) (${round.map((w) => w.name).join(', ')}) need at least one core each; ${total} usable core(s) are free`,
    );
  }
  const cores = coresPerWorkflow(round, total);
  const left = workers.map((w) => w.freeCores);
  let cursor = 0;
  const placements: Placement[] = [];
  for (const w of round) {
    let need = cores.get(w.name) ?? 0;
    const mine: { worker: string; cores: number }[] = [];
    while (need > 0) {
      while (left[cursor] === 0) cursor++;
      jobsInvariant(cursor < workers.length, 'a round was given more cores than its workers have');
      const take = Math.min(need, left[cursor]!);
      mine.push({ worker: workers[cursor]!.id, cores: take });
      left[cursor]! -= take;
      need -= take;
    }
    const vus = apportion(
      w.vus,
      mine.map((m) => m.cores),
    );
    mine.forEach((m, i) =>
      placements.push({ workflow: w.name, worker: m.worker, cores: m.cores, vus: vus[i]! }),
    );
  }
  return {
    exclusive,
    workflows: round.map((w) => w.name),
    cores: Object.fromEntries(cores),
    placements,
  };
}

/** Plans the split of `workflows` over `workers` (see the header for the rules). */
export function planSplit(
  workflows: readonly WorkflowDemand[],
  workers: readonly WorkerOffer[],
): SplitResult {
  const bad = demandProblem(workflows);
  if (bad) return reject('E_INVALID_DEMAND', bad);
  const badWorker = workerProblem(workers);
  if (badWorker) return reject('E_INVALID_WORKER', badWorker);
  const usable = workers
    .filter((w) => w.health !== 'overloaded' && w.freeCores > 0)
    .sort(
      (a, b) =>
        HEALTH_RANK[a.health] - HEALTH_RANK[b.health] ||
        b.freeCores - a.freeCores ||
        (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
    );
  const served = [...workflows].sort(servedBefore);
  const shared = served.filter((w) => !w.exclusive);
  const rounds: SplitRound[] = [];
  const plan = (
    round: readonly WorkflowDemand[],
    exclusive: boolean,
  ): Rejection<SplitErrorCode> | null => {
    const r = planRound(round, exclusive, usable);
    if ('ok' in r) return r;
    rounds.push(r);
    return null;
  };
  if (shared.length > 0) {
    const failed = plan(shared, false);
    if (failed) return failed;
  }
  for (const w of served) {
    if (!w.exclusive) continue;
    const failed = plan([w], true);
    if (failed) return failed;
  }
  return { ok: true, rounds };
}
