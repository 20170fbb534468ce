// Orchestrates one local run on the main thread: starts workflows in dependency order, runs
// their setup/teardown hooks with timeouts, hands published values to dependents, spreads each
// workflow over the pool, merges statistics windows, and turns interrupts into the
// cancel → drain → finalize protocol. It owns the run's state; the CLI only renders it.
import { hostname, cpus } from 'node:os';
import { formatMs } from '../api/duration.js';
import { plannedDurationMs } from '../api/executors.js';
import type { NetworkTotals, PublishedValue } from '../engine/job.js';
import { splitExecutor, type RunPlan, type WorkflowPlan } from '../engine/plan.js';
import { EXIT, describeError, type ExitCode } from '../errors.js';
import { RunAbortOnFail, describeAbort } from '../stats/abort-on-fail.js';
import { WorkflowAggregate } from '../stats/aggregate.js';
import { validateSparseHistogram } from '../stats/histogram.js';
import { LoopDelayAggregate } from '../stats/loop-delay.js';
import { buildRunResults } from '../stats/results.js';
import type { RunResults, WorkflowResult, WorkflowStatus } from '../stats/types.js';
import { formatBytes, formatCount } from '../ui/format.js';
import type { LiveSnapshot, LiveWorkflow } from '../ui/snapshot.js';
import { runHookInWorker, type HookRequest, type RunningHook } from './hooks.js';
import { encodePayload, type SpawnPayload } from './payloads.js';
import type { PoolJobHandle, WorkerPool } from './pool.js';

export const SALVO_VERSION = '0.1.0';

export interface LocalRunConfig {
  file: string;
  bundle: { path: string; hash: string; source: string };
  plan: RunPlan;
  pool: WorkerPool;
  /** Overrides every workflow's baseUrl. */
  baseUrl: string | undefined;
  /** How long in-flight iterations may finish after an interrupt. */
  cancelGraceMs: number;
  windowMs: number;
}

type State = LiveWorkflow['status'];

interface WorkflowRun {
  readonly plan: WorkflowPlan;
  readonly aggregate: WorkflowAggregate;
  readonly plannedMs: number;
  status: State;
  error: string | undefined;
  published: Record<string, PublishedValue>;
  network: NetworkTotals;
  handle: PoolJobHandle | undefined;
  startedAt: number | undefined;
  endedAt: number | undefined;
}

/** How often the end-of-run watchdog looks at the workers still running a finished workflow. */
const WATCHDOG_TICK_MS = 250;
/**
 * Past a workflow's planned end plus its graceful stop, a worker silent this long is not
 * yielding (its statistics window is due every second) and is terminated.
 */
const STALLED_QUIET_MS = 1500;
/** Past the planned end plus graceful stop, every worker still running it is terminated after this. */
const HARD_END_SLACK_MS = 4000;

const UNREACHABLE_KINDS = new Set([
  'connect_refused',
  'dns',
  'connect_timeout',
  'connection_reset',
  'tls',
]);

/**
 * What makes a run that "completed" a failed one all the same: a step that failed in every
 * execution, or a workflow none of whose iterations finished (all abandoned at the end).
 */
function brokenWork(workflows: readonly WorkflowResult[]): string[] {
  const problems: string[] = [];
  for (const w of workflows) {
    if (w.status === 'skipped' || w.status === 'failed') continue;
    const it = w.iterations;
    if (it.started > 0 && it.completed === 0 && (it.interrupted ?? 0) > 0) {
      problems.push(
        `workflow '${w.name}': no iteration finished; all ${it.interrupted} were still running at its end (duration + gracefulStop) and were interrupted`,
      );
    }
    for (const s of w.steps) {
      if (s.count === 0 || s.ok > 0) continue;
      const top = Object.entries(s.errors).sort((a, b) => b[1] - a[1])[0];
      const sample = top ? s.errorSamples[top[0]] : undefined;
      problems.push(
        `workflow '${w.name}': step '${s.name}' failed in all ${s.count} executions${top ? `, mostly ${top[0]}` : ''}${sample ? `: ${sample}` : ''}`,
      );
    }
  }
  return problems;
}

export class LocalRun {
  private readonly config: LocalRunConfig;
  private readonly runs = new Map<string, WorkflowRun>();
  private readonly notes: string[] = [];
  readonly startedAtMs = Date.now();
  private endedAtMs: number | undefined;
  private interruptedFlag = false;
  /** Statistics windows that failed validation and were not merged. */
  rejectedWindows = 0;
  private readonly loopDelay = new LoopDelayAggregate();
  private phase = 'starting';
  /** Hooks running now, stopped at once by an interrupt. */
  private readonly hooks = new Set<RunningHook>();
  /** Output that workflow code printed faster than it could be shown, and was dropped. */
  private readonly droppedOutput = { writes: 0, bytes: 0 };
  /** Thresholds marked abortOnFail, checked after each merged window. */
  private readonly abortOnFail: RunAbortOnFail;

  constructor(config: LocalRunConfig) {
    this.config = config;
    this.abortOnFail = new RunAbortOnFail(config.plan.workflows);
    for (const plan of config.plan.workflows) {
      const executor = plan.definition.executor;
      this.runs.set(plan.name, {
        plan,
        aggregate: new WorkflowAggregate(plan.name, { ...executor }),
        plannedMs: plannedDurationMs(executor),
        status: 'waiting',
        error: undefined,
        published: {},
        network: { requests: 0, bytesSent: 0, bytesReceived: 0 },
        handle: undefined,
        startedAt: undefined,
        endedAt: undefined,
      });
      this.runs.get(plan.name)?.aggregate.declareSteps(plan.definition.steps.map((s) => s.name));
    }
  }

  /** The run's id, as in the results document. */
  get id(): string {
    return `${this.startedAtMs.toString(36)}-${process.pid.toString(36)}`;
  }

  get interrupted(): boolean {
    return this.interruptedFlag;
  }

  /** Runs every workflow; never throws for a workflow's failure (that is in the results). */
  async run(): Promise<void> {
    this.phase = 'running';
    const finished = new Map<string, Promise<void>>();
    for (const plan of this.config.plan.workflows) {
      const deps = plan.dependsOn.map((d) => finished.get(d) ?? Promise.resolve());
      finished.set(
        plan.name,
        Promise.all(deps).then(() => this.runWorkflow(plan.name)),
      );
    }
    await Promise.all(finished.values());
    this.endedAtMs = Date.now();
    this.phase = this.interruptedFlag ? 'interrupted' : 'finished';
  }

  /** First Ctrl-C: stop starting iterations, give in-flight ones the grace period, keep results. */
  interrupt(): void {
    if (this.interruptedFlag) return;
    this.interruptedFlag = true;
    this.phase = `stopping: waiting up to ${formatMs(this.config.cancelGraceMs)} for in-flight requests (Ctrl-C again to quit now)`;
    for (const run of this.runs.values()) {
      if (run.status === 'running') {
        run.status = 'stopping';
        run.handle?.cancel('interrupted by the user');
      }
    }
    for (const hook of this.hooks) hook.stop('the run was interrupted');
  }

  /** A failed abortOnFail threshold stops every running workflow, as an interrupt does. */
  private checkAbort(run: WorkflowRun): void {
    const now = Date.now();
    const abort = this.abortOnFail.check(run.plan.name, run.aggregate, run.startedAt ?? now, now);
    if (abort === undefined) return;
    const reason = describeAbort(abort);
    this.note(reason);
    this.phase = `stopping: ${reason}`;
    for (const r of this.runs.values()) {
      if (r.status !== 'running') continue;
      r.status = 'stopping';
      r.handle?.cancel(reason);
    }
    for (const hook of this.hooks) hook.stop(reason);
  }

  /** Runs one hook of `run` in its own worker thread; returns its value or throws a HookError. */
  private async hook(
    run: WorkflowRun,
    hook: HookRequest['hook'],
    timeoutMs: number,
    context: Record<string, unknown>,
    data: unknown,
  ): Promise<unknown> {
    const running = runHookInWorker(
      {
        bundle: this.config.bundle,
        workflow: run.plan.name,
        hook,
        baseUrl: this.config.baseUrl,
        context,
        data,
      },
      `${hook} of workflow '${run.plan.name}'`,
      timeoutMs,
    );
    this.hooks.add(running);
    try {
      return await running.result;
    } finally {
      this.hooks.delete(running);
      this.addDropped(running.dropped);
    }
  }

  private addDropped(dropped: { writes: number; bytes: number } | undefined): void {
    if (!dropped) return;
    this.droppedOutput.writes += dropped.writes;
    this.droppedOutput.bytes += dropped.bytes;
  }

  private async runWorkflow(name: string): Promise<void> {
    const run = this.runs.get(name);
    if (!run) return;
    const def = run.plan.definition;
    if (this.interruptedFlag)
      return this.finish(run, 'skipped', 'the run was interrupted before it started');
    const aborted = this.abortOnFail.decision;
    if (aborted) return this.finish(run, 'skipped', describeAbort(aborted));
    const context: Record<string, unknown> = {};
    for (const depName of run.plan.dependsOn) {
      const dep = this.runs.get(depName);
      if (!dep || dep.status !== 'completed') {
        return this.finish(
          run,
          'skipped',
          `skipped because '${depName}' did not complete (${dep?.status ?? 'unknown'})`,
        );
      }
      const values: Record<string, unknown> = {};
      for (const p of dep.plan.definition.publishes) {
        const published = dep.published[p.key];
        if (!published) {
          return this.finish(
            run,
            'skipped',
            `skipped because it needs '${depName}.${p.key}', which '${depName}' never published (no iteration of '${depName}' succeeded)`,
          );
        }
        values[p.key] = published.value;
      }
      context[depName] = values;
    }

    run.status = 'running';
    run.startedAt = Date.now();
    run.aggregate.markStarted(run.startedAt);
    let data: unknown = undefined;
    if (def.setup) {
      try {
        data = await this.hook(run, 'setup', def.setup.timeoutMs, context, undefined);
      } catch (error) {
        if (this.interruptedFlag)
          return this.finish(run, 'interrupted', 'the run was interrupted during setup');
        return this.finish(run, 'failed', describeError(error));
      }
    }
    const failure = this.interruptedFlag ? undefined : await this.runOnPool(run, data, context);
    if (def.teardown) {
      try {
        await this.hook(run, 'teardown', def.teardown.timeoutMs, context, data);
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

  /** Runs the workflow's iterations on the pool; returns why it failed, if it did. */
  private async runOnPool(
    run: WorkflowRun,
    data: unknown,
    context: Record<string, unknown>,
  ): Promise<string | undefined> {
    const pool = this.config.pool;
    const shares = splitExecutor(run.plan.definition.executor, pool.size);
    let payloads: (Uint8Array | null)[];
    try {
      payloads = shares.map((share, thread) => {
        if (!share) return null;
        const spawn: SpawnPayload = {
          bundle: this.config.bundle,
          workflow: run.plan.name,
          share,
          thread,
          threads: pool.size,
          data,
          context,
          baseUrl: this.config.baseUrl,
          windowMs: this.config.windowMs,
          cancelGraceMs: this.config.cancelGraceMs,
          source: this.config.bundle.source,
        };
        return encodePayload(spawn, `the setup data and context of workflow '${run.plan.name}'`);
      });
    } catch (error) {
      return describeError(error);
    }
    const handle = pool.runJob(run.plan.name, payloads, (worker, window) => {
      try {
        // Checked first, so a malformed window changes nothing.
        const loopDelay = window.loopDelay;
        if (loopDelay !== undefined) validateSparseHistogram(loopDelay, 'event-loop delay');
        const fresh = run.aggregate.applyWindow(`w${worker}`, window);
        if (fresh && loopDelay !== undefined) this.loopDelay.add(worker, loopDelay);
        if (fresh) this.checkAbort(run);
      } catch (error) {
        this.rejectedWindows++;
        this.note(
          `dropped a malformed statistics window from worker ${worker}: ${describeError(error)}`,
        );
      }
    });
    run.handle = handle;
    if (this.interruptedFlag) handle.cancel('interrupted by the user');
    const watchdog = this.watchdog(run, handle);
    const report = await handle.done;
    clearInterval(watchdog);
    let failure: string | undefined;
    for (const w of report.workers) {
      this.addDropped(w.completion?.droppedOutput);
      const network = w.completion?.network;
      if (network) {
        run.network.requests += network.requests;
        run.network.bytesSent += network.bytesSent;
        run.network.bytesReceived += network.bytesReceived;
      }
      if (w.failure) failure ??= `worker ${w.index}: ${w.failure}`;
      for (const note of w.completion?.notes ?? []) this.note(`${run.plan.name}: ${note}`);
      for (const [key, value] of Object.entries(w.completion?.published ?? {})) {
        const seen = run.published[key];
        if (!seen || value.atMs >= seen.atMs) run.published[key] = value;
      }
    }
    return failure;
  }

  /**
   * The hard end of a workflow on the pool. Each worker ends its share by itself at the
   * planned duration plus the graceful stop; one that has gone silent past that point is not
   * yielding (a step in a busy loop) and is terminated, and past HARD_END_SLACK_MS more every
   * worker still on it is. What they reported before stays in the statistics.
   */
  private watchdog(run: WorkflowRun, handle: PoolJobHandle): NodeJS.Timeout {
    const startedAt = Date.now();
    const endAt = startedAt + run.plannedMs + run.plan.definition.executor.gracefulStopMs;
    return setInterval(() => {
      const now = Date.now();
      if (now < endAt) return;
      const late = formatMs(now - startedAt);
      if (now >= endAt + HARD_END_SLACK_MS) {
        handle.terminateStalled(0, `was still running '${run.plan.name}' ${late} after it started`);
      } else {
        handle.terminateStalled(
          STALLED_QUIET_MS,
          `stopped responding while running '${run.plan.name}' (a step that never yields, such as a busy loop?) and was still busy ${late} after it started`,
        );
      }
    }, WATCHDOG_TICK_MS);
  }

  private finish(run: WorkflowRun, status: WorkflowStatus, error: string | undefined): void {
    run.status = status;
    run.error = error;
    run.endedAt = Date.now();
    if (run.startedAt !== undefined) run.aggregate.markEnded(run.endedAt);
    run.aggregate.setStatus(status, error);
    if (status === 'failed' && error) this.note(`workflow '${run.plan.name}' failed: ${error}`);
  }

  private note(message: string): void {
    if (!this.notes.includes(message) && this.notes.length < 50) this.notes.push(message);
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
      const value = own + Math.max(0, ...run.plan.dependsOn.map(chain));
      memo.set(name, value);
      return value;
    };
    return Math.max(0, ...[...this.runs.keys()].map(chain));
  }

  snapshot(nowMs = Date.now()): LiveSnapshot {
    const workflows = [...this.runs.values()].map((run) => {
      const live = run.aggregate.live(nowMs, run.plannedMs);
      return { ...live, status: run.status };
    });
    return {
      file: this.config.file,
      workers: this.config.pool.size,
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
        ...run.aggregate.toResult(run.plan.thresholds, this.endedAtMs),
        network: { ...run.network },
      })),
    );
  }

  /** The run's exit code by the documented precedence: interrupted, run failed, thresholds. */
  exitCode(results: RunResults): ExitCode {
    if (this.interruptedFlag) return EXIT.interrupted;
    if (this.abortOnFail.decision && !results.workflows.some((w) => w.status === 'failed'))
      return EXIT.thresholdsFailed;
    const failed = results.workflows.some((w) => w.status === 'failed' || w.status === 'skipped');
    const totals = results.workflows.reduce(
      (t, w) => ({ count: t.count + w.totals.count, ok: t.ok + w.totals.ok }),
      { count: 0, ok: 0 },
    );
    if (failed || (totals.count > 0 && totals.ok === 0) || brokenWork(results.workflows).length > 0)
      return EXIT.runFailed;
    if (results.thresholds.failed > 0) return EXIT.thresholdsFailed;
    return EXIT.ok;
  }

  private unreachableNotes(workflows: WorkflowResult[]): void {
    for (const w of workflows) {
      if (w.totals.count === 0 || w.totals.ok > 0) continue;
      const kinds = new Map<string, number>();
      for (const s of w.steps)
        for (const [k, n] of Object.entries(s.errors)) kinds.set(k, (kinds.get(k) ?? 0) + n);
      const top = [...kinds.entries()].sort((a, b) => b[1] - a[1])[0];
      if (top && UNREACHABLE_KINDS.has(top[0])) {
        this.note(
          `workflow '${w.name}': every request failed, mostly ${top[0]} — is the target reachable?`,
        );
      } else if (top) {
        this.note(`workflow '${w.name}': every step execution failed (mostly ${top[0]})`);
      }
    }
  }

  results(): RunResults {
    const workflows = this.workflowResults();
    this.unreachableNotes(workflows);
    for (const problem of brokenWork(workflows)) this.note(problem);
    const endedAt = this.endedAtMs ?? Date.now();
    const draft = buildRunResults(
      {
        id: this.id,
        file: this.config.file,
        startedAt: new Date(this.startedAtMs).toISOString(),
        endedAt: new Date(endedAt).toISOString(),
        durationMs: endedAt - this.startedAtMs,
        status: this.interruptedFlag ? 'interrupted' : 'completed',
        exitCode: 0,
        workers: this.config.pool.size,
        salvoVersion: SALVO_VERSION,
        nodeVersion: process.version,
        host: {
          platform: process.platform,
          arch: process.arch,
          cpus: cpus().length,
          hostname: hostname(),
        },
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
