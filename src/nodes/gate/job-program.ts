// Owns what the owner gate runs for a job over its ClusterPlacement, behind one small interface
// (validate a plan; run it; show live statistics; stop it). `RunProgram` is the run module's
// `Run` (src/run): the same plan, merge, thresholds, results document and exit code as
// `salvo run`, over workers in the cluster instead of threads, on the gate's Runtime clock.

import type { DcTotals } from '../../cluster/jobs/window-merger.js';
import { describeError, EXIT } from '../../errors.js';
import { runtimeClock } from '../../run/clock.js';
import {
  PLAN_SPEC_VERSION,
  plannedJobMs,
  validatePlanSpec,
  type PlanSpec,
} from '../../run/plan-spec.js';
import { Run } from '../../run/run.js';
import type { RunSource } from '../../reporters/session.js';
import type { Runtime } from '../../runtime/types.js';
import type { ClusterPlacement, ClusterWorkflowReport } from './cluster-placement.js';

export interface ProgramOutcome {
  /** The `salvo.results/v1` document (null when none could be built). */
  readonly results: unknown;
  readonly exitCode: number;
  readonly failure?: string;
  /** Every workflow's per-DC parts, in the order they ended. */
  readonly workflows: readonly ClusterWorkflowReport[];
  /** Each DC's merged totals, and per worker. */
  readonly breakdown?: Readonly<Record<string, DcTotals>>;
}

export interface JobProgram {
  /** Runs the job to its end over `placement`; never rejects (a failure is an outcome). */
  run(placement: ClusterPlacement): Promise<ProgramOutcome>;
  /** Live statistics for `job.snapshot`. */
  liveStats(): unknown;
  /** The job's merged statistics as the reporters sample them; null before `run` began. */
  reportSource(): RunSource | null;
  /** Stops the job gracefully (the placement cancels what runs). */
  stop(reason: string): void;
}

export interface PlanProblem {
  readonly code: 'E_VERSION' | 'E_INVALID_SUBMISSION';
  readonly message: string;
}

export interface JobSpec {
  readonly job: string;
  readonly plan: unknown;
  readonly file: string;
  readonly bundleHash: string;
  /** When the job began (a job resumed by a new owner gate: its submission time, wall ms). */
  readonly startedAtMs?: number;
}

export interface ProgramFactory {
  /** Null when the plan can run, else what is wrong with it (E_VERSION: a format not known). */
  validate(plan: unknown): PlanProblem | null;
  create(spec: JobSpec, runtime: Runtime): JobProgram;
  /** The planned length of a valid plan (for a default timeout); null or absent: not known. */
  plannedMs?(plan: unknown): number | null;
}

/** Defaults for what the plan does not carry: the window length and the cancel grace. */
export const JOB_WINDOW_MS = 1_000;
export const JOB_CANCEL_GRACE_MS = 5_000;

export class RunProgram implements JobProgram {
  private run_: Run | null = null;
  private stopReason: string | null = null;

  constructor(
    private readonly spec: JobSpec,
    private readonly plan: PlanSpec,
    private readonly runtime: Runtime,
  ) {}

  async run(placement: ClusterPlacement): Promise<ProgramOutcome> {
    const run = new Run({
      file: this.spec.file,
      bundle: { hash: this.spec.bundleHash, source: this.spec.file },
      plan: this.plan,
      placement,
      baseUrl: this.plan.baseUrl ?? null,
      cancelGraceMs: JOB_CANCEL_GRACE_MS,
      windowMs: JOB_WINDOW_MS,
      id: this.spec.job,
      clock: runtimeClock(this.runtime),
      ...(this.spec.startedAtMs !== undefined ? { startedAtMs: this.spec.startedAtMs } : {}),
      environment: {
        nodeVersion: process.version,
        host: {
          platform: 'salvo-cluster',
          arch: process.arch,
          cpus: placement.size,
          hostname: this.runtime.nodeId,
        },
      },
    });
    this.run_ = run;
    if (this.stopReason !== null) run.interrupt(this.stopReason);
    try {
      await run.run();
      const results = run.results();
      return {
        results,
        exitCode: results.run.exitCode,
        ...(results.run.status === 'failed'
          ? { failure: results.run.notes.join('; ') || 'the run failed' }
          : {}),
        workflows: placement.reports,
        breakdown: placement.breakdown(),
      };
    } catch (error) {
      return {
        results: null,
        exitCode: EXIT.runFailed,
        failure: `the run failed: ${describeError(error)}`,
        workflows: placement.reports,
        breakdown: placement.breakdown(),
      };
    }
  }

  liveStats(): unknown {
    return this.run_?.snapshot() ?? null;
  }

  reportSource(): RunSource | null {
    const run = this.run_;
    if (run === null) return null;
    return {
      startedAtMs: run.startedAtMs,
      workflowResults: () => run.workflowResults(),
      vus: () => new Map(run.snapshot().workflows.map((w) => [w.name, w.activeVus])),
    };
  }

  stop(reason: string): void {
    this.stopReason ??= reason;
    this.run_?.interrupt(reason, 'cancelling');
  }
}

export const RUN_PROGRAM: ProgramFactory = {
  validate: (plan) => {
    const version =
      typeof plan === 'object' && plan !== null
        ? (plan as { version?: unknown }).version
        : undefined;
    if (version !== PLAN_SPEC_VERSION) {
      return {
        code: 'E_VERSION',
        message: `plan version ${JSON.stringify(version)} is not supported by this gate (it runs version ${PLAN_SPEC_VERSION})`,
      };
    }
    try {
      validatePlanSpec(plan);
      return null;
    } catch (error) {
      return { code: 'E_INVALID_SUBMISSION', message: describeError(error) };
    }
  },
  create: (spec, runtime) => new RunProgram(spec, validatePlanSpec(spec.plan), runtime),
  plannedMs: (plan) => plannedJobMs(validatePlanSpec(plan)),
};
