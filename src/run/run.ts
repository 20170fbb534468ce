// Owns one run, wherever its work executes: starts workflows in dependency order, runs each
// workflow's setup and teardown once, hands published values to dependents, merges statistics
// windows (each (source, seq) once), builds live snapshots and the `salvo.results/v1` document,
// evaluates thresholds and decides the exit code. The work itself goes to a Placement.
import { formatMs } from '../api/duration.js';
import { plannedDurationMs } from '../api/executors.js';
import type { NetworkTotals, PublishedValue } from '../engine/job.js';
import { describeError, EXIT, InternalError, type ExitCode } from '../errors.js';
import { WorkflowAggregate } from '../stats/aggregate.js';
import { validateSparseHistogram } from '../stats/histogram.js';
import { buildRunResults } from '../stats/results.js';
import type { ParsedThreshold } from '../stats/thresholds.js';
import type { RunResults, StatsWindow, WorkflowResult, WorkflowStatus } from '../stats/types.js';
import { formatBytes, formatCount } from '../ui/format.js';
import type { LiveSnapshot, LiveWorkflow } from '../ui/snapshot.js';
import { SALVO_VERSION } from '../version.js';
import { systemClock, type RunClock } from './clock.js';
import { localEnvironment, localRunId, type RunEnvironment } from './environment.js';
import { wholeShare } from './executor-spec.js';
import { LoopDelayBySource } from './loop-delay-sources.js';
import { RunAbortOnFail, describeAbort } from '../stats/abort-on-fail.js';
import { allFailedNotes, brokenWork, exitCodeOf } from './outcome.js';
import type {
  BundleRef,
  DroppedOutput,
  HookCall,
  PlacedWorkflow,
  Placement,
  PlacementReport,
  RunningHookCall,
} from './placement.js';
import { thresholdsOf, type PlanSpec, type WorkflowSpec } from './plan-spec.js';
import { watchHardEnd } from './watchdog.js';

export interface RunConfig {
  /** The workflow file as shown to the user. */
  file: string;
  bundle: BundleRef;
  /** A validated plan (planSpecOf, or validatePlanSpec of one received). */
  plan: PlanSpec;
  placement: Placement;
  /** Overrides every workflow's baseUrl. */
  baseUrl: string | null | undefined;
  /** How long in-flight iterations may finish after an interrupt. */
  cancelGraceMs: number;
  windowMs: number;
  /** The run's id in the results document; a local one by default. */
  id?: string;
  clock?: RunClock;
  environment?: RunEnvironment;
  /** When the run began on `clock` (a cluster job resumed by a new owner: its submission). */
  startedAtMs?: number;
}

type State = LiveWorkflow['status'];

interface WorkflowRun {
  readonly spec: WorkflowSpec;
  readonly thresholds: readonly ParsedThreshold[];
  readonly aggregate: WorkflowAggregate;
  readonly plannedMs: number;
  status: State;
  error: string | undefined;
  published: Record<string, PublishedValue>;
  network: NetworkTotals;
  placed: PlacedWorkflow | undefined;
  startedAt: number | undefined;
  endedAt: number | undefined;
}

/** Run-level notes kept (the rest are dropped: a summary is not a log). */
const MAX_NOTES = 50;

export class Run {
  private readonly config: RunConfig;
  private readonly clock: RunClock;
  private readonly runs = new Map<string, WorkflowRun>();
  private readonly notes: string[] = [];
  readonly startedAtMs: number;
  readonly id: string;
  private endedAtMs: number | undefined;
  private interruptedFlag = false;
  private interruptReason = 'interrupted by the user';
  /** Statistics windows that failed validation and were not merged. */
  rejectedWindows = 0;
  private readonly loopDelay = new LoopDelayBySource();
  private phase = 'starting';
  private started = false;
  /** Hooks running now, stopped at once by an interrupt. */
  private readonly hooks = new Set<RunningHookCall>();
  /** Output that workflow code printed faster than it could be shown, and was dropped. */
  private readonly droppedOutput: DroppedOutput = { writes: 0, bytes: 0 };
  /** Thresholds marked abortOnFail, checked after each merged window. */
  private readonly abortOnFail: RunAbortOnFail;

  constructor(config: RunConfig) {
    this.config = config;
    this.clock = config.clock ?? systemClock;
    this.startedAtMs = config.startedAtMs ?? this.clock.now();
    this.id = config.id ?? localRunId(this.startedAtMs);
    const parsed: { name: string; thresholds: ParsedThreshold[] }[] = [];
    for (const spec of config.plan.workflows) {
      const aggregate = new WorkflowAggregate(spec.name, { ...spec.executor });
      aggregate.declareSteps(spec.steps);
      const thresholds = thresholdsOf(spec);
      parsed.push({ name: spec.name, thresholds });
      this.runs.set(spec.name, {
        spec,
        thresholds,
        aggregate,
        plannedMs: plannedDurationMs(spec.executor),
        status: 'waiting',
        error: undefined,
        published: {},
        network: { requests: 0, bytesSent: 0, bytesReceived: 0 },
        placed: undefined,
        startedAt: undefined,
        endedAt: undefined,
      });
    }
    this.abortOnFail = new RunAbortOnFail(parsed);
  }

  get interrupted(): boolean {
    return this.interruptedFlag;
  }

  /** Runs every workflow; never throws for a workflow's failure (that is in the results). */
  async run(): Promise<void> {
    if (this.started) throw new InternalError('a Run runs once; make a new one');
    this.started = true;
    this.phase = 'running';
    const finished = new Map<string, Promise<void>>();
    for (const spec of this.config.plan.workflows) {
      const deps = spec.dependsOn.map((d) => finished.get(d) ?? Promise.resolve());
      finished.set(
        spec.name,
        Promise.all(deps).then(() => this.runWorkflow(spec.name)),
      );
    }
    await Promise.all(finished.values());
    this.endedAtMs = this.clock.now();
    this.phase = this.interruptedFlag ? 'interrupted' : 'finished';
  }

  /**
   * Stops the run gracefully: no workflow starts, running ones stop starting iterations and
   * give in-flight ones the grace period, running hooks end at once; results are kept.
   */
  interrupt(reason = 'interrupted by the user', phase?: string): void {
    if (this.interruptedFlag) return;
    this.interruptedFlag = true;
    this.interruptReason = reason;
    this.phase =
      phase ??
      `stopping: waiting up to ${formatMs(this.config.cancelGraceMs)} for in-flight requests (Ctrl-C again to quit now)`;
    for (const run of this.runs.values()) {
      if (run.status === 'running') {
        run.status = 'stopping';
        run.placed?.cancel(reason);
      }
    }
    for (const hook of this.hooks) hook.stop('the run was interrupted');
  }

  /** Runs one hook of `run` once on the placement; returns its value or throws a HookError. */
  private async hook(
    run: WorkflowRun,
    hook: HookCall['hook'],
    timeoutMs: number,
    context: Record<string, unknown>,
    data: unknown,
  ): Promise<unknown> {
    const running = this.config.placement.runHook({
      bundle: this.config.bundle,
      workflow: run.spec.name,
      hook,
      timeoutMs,
      baseUrl: this.config.baseUrl ?? null,
      context,
      data,
    });
    this.hooks.add(running);
    try {
      return await running.result;
    } finally {
      this.hooks.delete(running);
      this.addDropped(running.droppedOutput);
    }
  }

  private addDropped(dropped: DroppedOutput | undefined): void {
    if (!dropped) return;
    this.droppedOutput.writes += dropped.writes;
    this.droppedOutput.bytes += dropped.bytes;
  }

  /** What `run`'s dependencies published, or why it cannot start. */
  private contextOf(run: WorkflowRun): Record<string, unknown> | string {
    const context: Record<string, unknown> = {};
    for (const depName of run.spec.dependsOn) {
      const dep = this.runs.get(depName);
      if (!dep || dep.status !== 'completed')
        return `skipped because '${depName}' did not complete (${dep?.status ?? 'unknown'})`;
      const values: Record<string, unknown> = {};
      for (const key of dep.spec.publishes) {
        const published = dep.published[key];
        if (!published)
          return `skipped because it needs '${depName}.${key}', which '${depName}' never published (no iteration of '${depName}' succeeded)`;
        values[key] = published.value;
      }
      context[depName] = values;
    }
    return context;
  }

  private async runWorkflow(name: string): Promise<void> {
    const run = this.runs.get(name);
    if (!run) return;
    const spec = run.spec;
    if (this.interruptedFlag)
      return this.finish(run, 'skipped', 'the run was interrupted before it started');
    const aborted = this.abortOnFail.decision;
    if (aborted) return this.finish(run, 'skipped', describeAbort(aborted));
    const context = this.contextOf(run);
    if (typeof context === 'string') return this.finish(run, 'skipped', context);

    run.status = 'running';
    run.startedAt = this.clock.now();
    run.aggregate.markStarted(run.startedAt);
    let data: unknown = undefined;
    if (spec.setup) {
      try {
        data = await this.hook(run, 'setup', spec.setup.timeoutMs, context, undefined);
      } catch (error) {
        if (this.interruptedFlag)
          return this.finish(run, 'interrupted', 'the run was interrupted during setup');
        return this.finish(run, 'failed', describeError(error));
      }
    }
    const failure = this.interruptedFlag ? undefined : await this.place(run, data, context);
    if (spec.teardown) {
      try {
        await this.hook(run, 'teardown', spec.teardown.timeoutMs, context, data);
      } catch (error) {
        return this.finish(run, 'failed', describeError(error));
      }
    }
    const status: WorkflowStatus = failure
      ? 'failed'
      : this.interruptedFlag || this.abortOnFail.decision
        ? 'interrupted'
        : 'completed';
    this.finish(run, status, failure);
  }

  /** Runs the workflow's iterations on the placement; returns why it failed, if it did. */
  private async place(
    run: WorkflowRun,
    data: unknown,
    context: Record<string, unknown>,
  ): Promise<string | undefined> {
    let placed: PlacedWorkflow;
    try {
      placed = this.config.placement.runWorkflow(
        {
          bundle: this.config.bundle,
          workflow: run.spec.name,
          share: wholeShare(run.spec.executor),
          lanes: null,
          data,
          context,
          baseUrl: this.config.baseUrl ?? null,
          windowMs: this.config.windowMs,
          cancelGraceMs: this.config.cancelGraceMs,
        },
        (source, window) => this.applyWindow(run, source, window),
      );
    } catch (error) {
      return describeError(error);
    }
    run.placed = placed;
    if (this.interruptedFlag) placed.cancel(this.interruptReason);
    const watchdog = watchHardEnd(
      this.clock,
      {
        name: run.spec.name,
        plannedMs: run.plannedMs,
        gracefulStopMs: run.spec.executor.gracefulStopMs,
      },
      placed,
    );
    let report: PlacementReport;
    try {
      report = await placed.done;
    } catch (error) {
      return `the placement failed: ${describeError(error)}`;
    } finally {
      watchdog.cancel();
    }
    return this.absorb(run, report);
  }

  /** Merges a workflow's parts into its record; returns the first failure, if any. */
  private absorb(run: WorkflowRun, report: PlacementReport): string | undefined {
    let failure: string | undefined;
    for (const part of report.parts) {
      this.addDropped(part.droppedOutput);
      const network = part.network;
      if (network) {
        run.network.requests += network.requests;
        run.network.bytesSent += network.bytesSent;
        run.network.bytesReceived += network.bytesReceived;
      }
      if (part.failure !== undefined) failure ??= `${part.unit}: ${part.failure}`;
      for (const note of part.notes) this.note(`${run.spec.name}: ${note}`);
      for (const [key, value] of Object.entries(part.published)) {
        const seen = run.published[key];
        if (!seen || value.atMs >= seen.atMs) run.published[key] = value;
      }
    }
    return failure;
  }

  private applyWindow(run: WorkflowRun, source: string, window: StatsWindow): void {
    try {
      // Checked first, so a malformed window changes nothing.
      const loopDelay = (window as Partial<StatsWindow> | null)?.loopDelay;
      if (loopDelay !== undefined) validateSparseHistogram(loopDelay, 'event-loop delay');
      const fresh = run.aggregate.applyWindow(source, window);
      if (fresh && loopDelay !== undefined) this.loopDelay.add(source, loopDelay);
      if (fresh) this.checkAbort(run);
    } catch (error) {
      this.rejectedWindows++;
      this.note(`dropped a malformed statistics window from ${source}: ${describeError(error)}`);
    }
  }

  /** A failed abortOnFail threshold stops every running workflow, as an interrupt does. */
  private checkAbort(run: WorkflowRun): void {
    const now = this.clock.now();
    const abort = this.abortOnFail.check(run.spec.name, run.aggregate, run.startedAt ?? now, now);
    if (abort === undefined) return;
    const reason = describeAbort(abort);
    this.note(reason);
    this.phase = `stopping: ${reason}`;
    for (const r of this.runs.values()) {
      if (r.status !== 'running') continue;
      r.status = 'stopping';
      r.placed?.cancel(reason);
    }
    for (const hook of this.hooks) hook.stop(reason);
  }

  private finish(run: WorkflowRun, status: WorkflowStatus, error: string | undefined): void {
    run.status = status;
    run.error = error;
    run.endedAt = this.clock.now();
    if (run.startedAt !== undefined) run.aggregate.markEnded(run.endedAt);
    run.aggregate.setStatus(status, error);
    if (status === 'failed' && error) this.note(`workflow '${run.spec.name}' failed: ${error}`);
  }

  private note(message: string): void {
    if (!this.notes.includes(message) && this.notes.length < MAX_NOTES) this.notes.push(message);
  }

  /** Planned length of the whole run: the longest chain of dependent workflows. */
  plannedMs(): number {
    const memo = new Map<string, number>();
    const chain = (name: string): number => {
      const cached = memo.get(name);
      if (cached !== undefined) return cached;
      const run = this.runs.get(name);
      if (!run) return 0;
      // A finished workflow took what it took (a shared-iterations one often ends early).
      const own =
        run.startedAt !== undefined && run.endedAt !== undefined
          ? run.endedAt - run.startedAt
          : run.status === 'skipped'
            ? 0
            : run.plannedMs;
      const value = own + Math.max(0, ...run.spec.dependsOn.map(chain));
      memo.set(name, value);
      return value;
    };
    return Math.max(0, ...[...this.runs.keys()].map(chain));
  }

  snapshot(nowMs = this.clock.now()): LiveSnapshot {
    const workflows = [...this.runs.values()].map((run) => {
      const live = run.aggregate.live(nowMs, run.plannedMs);
      return { ...live, status: run.status };
    });
    return {
      file: this.config.file,
      workers: this.config.placement.size,
      elapsedMs: (this.endedAtMs ?? nowMs) - this.startedAtMs,
      plannedMs: this.plannedMs(),
      phase: this.phase,
      workflows,
    };
  }

  /** Each workflow's result so far (thresholds evaluated now); no side effects. */
  workflowResults(): WorkflowResult[] {
    return this.abortOnFail.markResults(
      [...this.runs.values()].map((run) => ({
        ...run.aggregate.toResult(run.thresholds, this.endedAtMs),
        network: { ...run.network },
      })),
    );
  }

  /** The run's exit code by the documented precedence: interrupted, run failed, thresholds. */
  exitCode(results: RunResults): ExitCode {
    if (
      !this.interruptedFlag &&
      this.abortOnFail.decision &&
      !results.workflows.some((w) => w.status === 'failed')
    )
      return EXIT.thresholdsFailed;
    return exitCodeOf(results, this.interruptedFlag);
  }

  /** The results document as of now (final once `run()` has resolved). */
  results(): RunResults {
    const workflows = this.workflowResults();
    for (const note of allFailedNotes(workflows)) this.note(note);
    for (const problem of brokenWork(workflows)) this.note(problem);
    const endedAt = this.endedAtMs ?? this.clock.now();
    const environment = this.config.environment ?? localEnvironment();
    const draft = buildRunResults(
      {
        id: this.id,
        file: this.config.file,
        startedAt: new Date(this.startedAtMs).toISOString(),
        endedAt: new Date(endedAt).toISOString(),
        durationMs: endedAt - this.startedAtMs,
        status: this.interruptedFlag ? 'interrupted' : 'completed',
        exitCode: 0,
        workers: this.config.placement.size,
        salvoVersion: SALVO_VERSION,
        nodeVersion: environment.nodeVersion,
        host: { ...environment.host },
        notes: [...this.notes],
      },
      workflows,
      this.loopDelay.toResult(),
    );
    if (this.droppedOutput.writes > 0) {
      draft.run.droppedOutput = { ...this.droppedOutput };
      draft.run.notes.push(
        `workflow output: dropped ${formatCount(this.droppedOutput.writes)} writes (${formatBytes(this.droppedOutput.bytes)}) printed faster than they could be shown`,
      );
    }
    const abortedBy = this.abortOnFail.decision;
    if (abortedBy) draft.run.abortedBy = { ...abortedBy };
    const exitCode = this.exitCode(draft);
    draft.run.exitCode = exitCode;
    if (exitCode === EXIT.runFailed && !this.interruptedFlag) draft.run.status = 'failed';
    return draft;
  }
}
