// Owns what the owner gate runs for a job over its ClusterPlacement, behind one small interface
// (validate a plan; run it; show live statistics; stop it), so the run module's `Run` plugs in
// as one implementation. `SequentialProgram` is the one used until then: it runs the plan's
// workflows one after another on every target DC, merges their windows exactly (WindowMerger,
// each (dc, worker, workflow, seq) once) and answers with the merged per-DC totals.

import { EXECUTOR_TYPES, type ExecutorConfig } from '../../api/executors.js';
import { WindowMerger } from '../../cluster/jobs/window-merger.js';
import { EXIT } from '../../errors.js';
import type { Runtime } from '../../runtime/types.js';
import type {
  ClusterPlacement,
  ClusterWorkflowReport,
  PlacedClusterWorkflow,
} from './cluster-placement.js';

export interface ProgramOutcome {
  /** The results document (the run's `salvo.results/v1` once the run module drives the job). */
  readonly results: unknown;
  readonly exitCode: number;
  readonly failure?: string;
  /** Every workflow's per-DC parts, in the order they ran. */
  readonly workflows: readonly ClusterWorkflowReport[];
}

export interface JobProgram {
  /** Runs the job to its end over `placement`; never rejects (a failure is an outcome). */
  run(placement: ClusterPlacement): Promise<ProgramOutcome>;
  /** Live statistics for `job.snapshot` (small: sent at least once a second). */
  liveStats(): unknown;
  /** Starts no further work (the placement cancels what runs). */
  stop(reason: string): void;
  /** Ends DC parts that sent nothing for `quietMs` (called by the owner's tick). */
  checkStalled(quietMs: number): void;
}

export interface PlanProblem {
  readonly code: 'E_VERSION' | 'E_INVALID_SUBMISSION';
  readonly message: string;
}

export interface ProgramFactory {
  /** Null when the plan can run, else what is wrong with it (E_VERSION: a format not known). */
  validate(plan: unknown): PlanProblem | null;
  create(job: string, plan: unknown, runtime: Runtime): JobProgram;
}

// ─── SequentialProgram ────────────────────────────────────────────────────────────────────────

/** The plan `SequentialProgram` understands: named workflows with an executor each. */
export interface SequentialPlan {
  readonly workflows: readonly {
    readonly name: string;
    readonly executor: ExecutorConfig;
    readonly data?: unknown;
  }[];
  readonly baseUrl?: string;
  readonly windowMs?: number;
  readonly cancelGraceMs?: number;
}

export const MAX_PLAN_WORKFLOWS = 100;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function sequentialPlanProblem(plan: unknown): string | null {
  if (!isRecord(plan) || !Array.isArray(plan.workflows)) return 'plan.workflows must be a list';
  if (plan.workflows.length === 0 || plan.workflows.length > MAX_PLAN_WORKFLOWS) {
    return `plan.workflows must hold 1 to ${MAX_PLAN_WORKFLOWS} workflows`;
  }
  const names = new Set<string>();
  for (const [i, w] of (plan.workflows as unknown[]).entries()) {
    if (!isRecord(w) || typeof w.name !== 'string' || w.name.length === 0 || w.name.length > 256) {
      return `plan.workflows[${i}].name must be a non-empty string of at most 256 characters`;
    }
    if (names.has(w.name)) return `workflow '${w.name}' is named twice`;
    names.add(w.name);
    const e = w.executor;
    if (!isRecord(e) || !EXECUTOR_TYPES.includes(e.type as ExecutorConfig['type'])) {
      return `plan.workflows[${i}].executor.type must be one of ${EXECUTOR_TYPES.join(', ')}`;
    }
    if (
      (e.type === 'ramping-vus' || e.type === 'ramping-arrival-rate') &&
      !Array.isArray(e.stages)
    ) {
      return `plan.workflows[${i}].executor.stages must be a list`;
    }
  }
  return null;
}

export class SequentialProgram implements JobProgram {
  private readonly merger = new WindowMerger({ maxJobs: 1 });
  private stopped: string | null = null;
  private current: PlacedClusterWorkflow | null = null;
  private rejectedWindows = 0;

  constructor(
    private readonly job: string,
    private readonly plan: SequentialPlan,
    private readonly runtime: Runtime,
  ) {}

  async run(placement: ClusterPlacement): Promise<ProgramOutcome> {
    const reports: ClusterWorkflowReport[] = [];
    let failure: string | undefined;
    for (const w of this.plan.workflows) {
      if (this.stopped !== null) break;
      let placed: PlacedClusterWorkflow;
      try {
        placed = placement.runWorkflow(
          {
            workflow: w.name,
            executor: w.executor,
            data: w.data ?? null,
            context: {},
            ...(this.plan.baseUrl !== undefined ? { baseUrl: this.plan.baseUrl } : {}),
            windowMs: this.plan.windowMs ?? 1_000,
            cancelGraceMs: this.plan.cancelGraceMs ?? 5_000,
          },
          (source, window) => this.onWindow(source, window),
        );
      } catch (error) {
        failure = `workflow '${w.name}' could not be placed: ${error instanceof Error ? error.message : String(error)}`;
        break;
      }
      this.current = placed;
      const report = await placed.done;
      this.current = null;
      reports.push(report);
      const bad = report.parts.filter((p) => p.outcome === 'failed' || p.outcome === 'timed-out');
      if (bad.length > 0) {
        failure = `workflow '${w.name}' failed on ${bad.map((p) => `${p.dc} (${p.failure ?? p.outcome})`).join(', ')}`;
        break;
      }
    }
    this.merger.seal(this.job, this.runtime.clock.monotonicMs());
    const cancelled =
      this.stopped !== null || reports.some((r) => r.parts.some((p) => p.outcome === 'cancelled'));
    const exitCode =
      failure !== undefined ? EXIT.runFailed : cancelled ? EXIT.interrupted : EXIT.ok;
    return {
      results: {
        kind: 'salvo.cluster-totals',
        job: this.job,
        dcs: this.merger.view(this.job)?.dcs ?? {},
        rejectedWindows: this.rejectedWindows,
      },
      exitCode,
      ...(failure !== undefined ? { failure } : {}),
      workflows: reports,
    };
  }

  private onWindow(source: string, window: unknown): void {
    const slash = source.indexOf('/');
    const r = this.merger.apply(
      { job: this.job, dc: source.slice(0, slash), worker: source.slice(slash + 1), window },
      this.runtime.clock.monotonicMs(),
    );
    if (!r.ok) this.rejectedWindows++;
  }

  liveStats(): unknown {
    return { dcs: this.merger.view(this.job)?.dcs ?? {} };
  }

  stop(reason: string): void {
    this.stopped ??= reason;
  }

  checkStalled(quietMs: number): void {
    this.current?.terminateStalled(quietMs, `no window or result for ${quietMs} ms`);
  }
}

/** Plan format versions `SequentialProgram` runs. */
export const SEQUENTIAL_PLAN_VERSION = 1;

export const SEQUENTIAL_PROGRAM: ProgramFactory = {
  validate: (plan) => {
    const version = isRecord(plan) ? plan.version : undefined;
    if (version !== undefined && version !== SEQUENTIAL_PLAN_VERSION) {
      return {
        code: 'E_VERSION',
        message: `plan version ${JSON.stringify(version)} is not supported by this gate (it runs version ${SEQUENTIAL_PLAN_VERSION})`,
      };
    }
    const problem = sequentialPlanProblem(plan);
    return problem === null ? null : { code: 'E_INVALID_SUBMISSION', message: problem };
  },
  create: (job, plan, runtime) => new SequentialProgram(job, plan as SequentialPlan, runtime),
};
