// Orchestrates one local run on the main thread: starts workflows in dependency order, runs
// their setup/teardown hooks with timeouts, hands published values to dependents, spreads each
// workflow over the pool, merges statistics windows, and turns interrupts into the
// cancel → drain → finalize protocol. It owns the run's state; the CLI only renders it.
import { hostname, cpus } from 'node:os';
import { formatMs } from '../api/duration.js';
import { plannedDurationMs } from '../api/executors.js';
import type { SetupContext, TeardownContext } from '../api/workflow.js';
import { HttpClient } from '../clients/http1/index.js';
import { closeClients, openClients, withClients } from '../clients/registry.js';
import type { PublishedValue } from '../engine/job.js';
import { splitExecutor, type RunPlan, type WorkflowPlan } from '../engine/plan.js';
import { EXIT, HookError, describeError, type ExitCode } from '../errors.js';
import { WorkflowAggregate } from '../stats/aggregate.js';
import { buildRunResults } from '../stats/results.js';
import type { RunResults, WorkflowResult, WorkflowStatus } from '../stats/types.js';
import type { LiveSnapshot, LiveWorkflow } from '../ui/snapshot.js';
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
  handle: PoolJobHandle | undefined;
  startedAt: number | undefined;
  endedAt: number | undefined;
}

const UNREACHABLE_KINDS = new Set([
  'connect_refused',
  'dns',
  'connect_timeout',
  'connection_reset',
  'tls',
]);

/** Runs `fn` with a timeout; failures and timeouts become HookErrors naming the hook. */
export async function runHook<T>(
  what: string,
  timeoutMs: number,
  fn: () => T | Promise<T>,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new HookError('E_HOOK_TIMEOUT', `${what} did not finish within ${formatMs(timeoutMs)}`),
        ),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([Promise.resolve().then(fn), timeout]);
  } catch (error) {
    if (error instanceof HookError) throw error;
    throw new HookError('E_HOOK_FAILED', `${what} failed: ${describeError(error)}`, {
      cause: error,
    });
  } finally {
    clearTimeout(timer);
  }
}

export class LocalRun {
  private readonly config: LocalRunConfig;
  private readonly runs = new Map<string, WorkflowRun>();
  private readonly notes: string[] = [];
  private readonly startedAtMs = Date.now();
  private endedAtMs: number | undefined;
  private interruptedFlag = false;
  /** Statistics windows that failed validation and were not merged. */
  rejectedWindows = 0;
  private phase = 'starting';

  constructor(config: LocalRunConfig) {
    this.config = config;
    for (const plan of config.plan.workflows) {
      const executor = plan.definition.executor;
      this.runs.set(plan.name, {
        plan,
        aggregate: new WorkflowAggregate(plan.name, { ...executor }),
        plannedMs: plannedDurationMs(executor),
        status: 'waiting',
        error: undefined,
        published: {},
        handle: undefined,
        startedAt: undefined,
        endedAt: undefined,
      });
      this.runs.get(plan.name)?.aggregate.declareSteps(plan.definition.steps.map((s) => s.name));
    }
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
  }

  private async runWorkflow(name: string): Promise<void> {
    const run = this.runs.get(name);
    if (!run) return;
    const def = run.plan.definition;
    if (this.interruptedFlag)
      return this.finish(run, 'skipped', 'the run was interrupted before it started');
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
    const baseUrl = this.config.baseUrl ?? def.baseUrl;
    const hookHttp = new HttpClient({
      baseUrl,
      headers: def.headers,
      timeoutMs: def.requestTimeoutMs,
    });
    const hookClients = openClients({
      baseUrl,
      headers: def.headers,
      timeoutMs: def.requestTimeoutMs,
      vuId: 0,
    });
    try {
      let data: unknown = undefined;
      if (def.setup) {
        const setup = def.setup;
        const ctx: SetupContext<unknown> = withClients(hookClients, { http: hookHttp, context });
        try {
          data = await runHook(`setup of workflow '${name}'`, setup.timeoutMs, () =>
            setup.run(ctx),
          );
        } catch (error) {
          return this.finish(run, 'failed', describeError(error));
        }
      }
      const failure = this.interruptedFlag ? undefined : await this.runOnPool(run, data, context);
      if (def.teardown) {
        const teardown = def.teardown;
        const ctx: TeardownContext<unknown, unknown> = withClients(hookClients, {
          http: hookHttp,
          context,
          data,
        });
        try {
          await runHook(`teardown of workflow '${name}'`, teardown.timeoutMs, () =>
            teardown.run(ctx),
          );
        } catch (error) {
          return this.finish(run, 'failed', describeError(error));
        }
      }
      const status: WorkflowStatus = failure
        ? 'failed'
        : this.interruptedFlag
          ? 'interrupted'
          : 'completed';
      this.finish(run, status, failure);
    } finally {
      hookHttp.close();
      closeClients(hookClients);
    }
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
        };
        return encodePayload(spawn, `the setup data and context of workflow '${run.plan.name}'`);
      });
    } catch (error) {
      return describeError(error);
    }
    const handle = pool.runJob(run.plan.name, payloads, (worker, window) => {
      try {
        run.aggregate.applyWindow(`w${worker}`, window);
      } catch (error) {
        this.rejectedWindows++;
        this.note(
          `dropped a malformed statistics window from worker ${worker}: ${describeError(error)}`,
        );
      }
    });
    run.handle = handle;
    if (this.interruptedFlag) handle.cancel('interrupted by the user');
    const report = await handle.done;
    let failure: string | undefined;
    for (const w of report.workers) {
      if (w.failure) failure ??= `worker ${w.index}: ${w.failure}`;
      for (const note of w.completion?.notes ?? []) this.note(`${run.plan.name}: ${note}`);
      for (const [key, value] of Object.entries(w.completion?.published ?? {})) {
        const seen = run.published[key];
        if (!seen || value.atMs >= seen.atMs) run.published[key] = value;
      }
    }
    return failure;
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

  private workflowResults(): WorkflowResult[] {
    return [...this.runs.values()].map((run) =>
      run.aggregate.toResult(run.plan.thresholds, this.endedAtMs),
    );
  }

  /** The run's exit code by the documented precedence: interrupted, run failed, thresholds. */
  exitCode(results: RunResults): ExitCode {
    if (this.interruptedFlag) return EXIT.interrupted;
    const failed = results.workflows.some((w) => w.status === 'failed' || w.status === 'skipped');
    const totals = results.workflows.reduce(
      (t, w) => ({ count: t.count + w.totals.count, ok: t.ok + w.totals.ok }),
      { count: 0, ok: 0 },
    );
    if (failed || (totals.count > 0 && totals.ok === 0)) return EXIT.runFailed;
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
    const endedAt = this.endedAtMs ?? Date.now();
    const draft = buildRunResults(
      {
        id: `${this.startedAtMs.toString(36)}-${process.pid.toString(36)}`,
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
    );
    const exitCode = this.exitCode(draft);
    draft.run.exitCode = exitCode;
    if (exitCode === EXIT.runFailed && !this.interruptedFlag) draft.run.status = 'failed';
    return draft;
  }
}
