// The worker-thread shell of the local pool: binds a WorkerEndpoint to the parent port, loads
// workflow bundles from the cache by reference, and runs each spawned job on the engine.
// A user's stray exception or rejection is reported as a diagnostic; it never kills the thread.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { randomUUID } from 'node:crypto';
import type { AnyWorkflow } from '../api/workflow.js';
import { WorkflowJob } from '../engine/job.js';
import { importWorkflows } from '../engine/loader.js';
import { buildStepGraph } from '../engine/plan.js';
import { describeError, InternalError } from '../errors.js';
import { sampleThreadLoopDelay } from '../stats/loop-delay.js';
import {
  decodeSpawn,
  encodePayload,
  type CompletionPayload,
  type SpawnPayload,
} from './payloads.js';
import { decodeEnvelope } from './protocol/envelope.js';
import { WorkerEndpoint, type WorkerCommand } from './protocol/endpoint.js';
import type { Accepted } from './protocol/errors.js';
import { boundWorkerOutput, droppedSince, outputDrained } from './worker-output.js';

process.setSourceMapsEnabled(true);
const output = boundWorkerOutput();

interface RunningJob {
  job: WorkflowJob | undefined;
  cancelled: boolean;
  graceMs: number;
}

const port = parentPort;
if (!port) throw new InternalError('worker-main.js must run in a worker thread');
const { seed } = (workerData ?? {}) as { seed?: number };
const endpoint = new WorkerEndpoint(`worker-${threadId}-${randomUUID().slice(0, 8)}`, seed ?? 1);
const jobs = new Map<number, RunningJob>();
/** Loaded bundles by path; a run uses one bundle, so this stays tiny. */
const bundles = new Map<string, Promise<AnyWorkflow[]>>();
const MAX_CACHED_BUNDLES = 8;
/** How long a shutdown waits for printed output to reach the main thread. */
const OUTPUT_DRAIN_MS = 1000;
// Jobs on this thread measure its event-loop delay while they run.
sampleThreadLoopDelay();

function flush(): void {
  for (const envelope of endpoint.drainOutbox()) port?.postMessage(envelope);
}

function report(result: Accepted, what: string): void {
  if (!result.ok) {
    endpoint.diagnostic('error', 'protocol', `${what}: ${result.error.message}`);
  }
  flush();
}

async function loadBundle(bundle: SpawnPayload['bundle']): Promise<AnyWorkflow[]> {
  let loading = bundles.get(bundle.path);
  if (!loading) {
    if (bundles.size >= MAX_CACHED_BUNDLES) bundles.clear();
    loading = (async () => {
      const bytes = await readFile(bundle.path);
      const hash = createHash('sha256').update(bytes).digest('hex');
      if (hash !== bundle.hash) {
        throw new InternalError(
          `the cached bundle ${bundle.path} changed after it was built (hash mismatch); run again`,
        );
      }
      return importWorkflows(bundle);
    })();
    bundles.set(bundle.path, loading);
  }
  return loading;
}

async function spawn(jobId: number, payload: Uint8Array): Promise<void> {
  const state: RunningJob = { job: undefined, cancelled: false, graceMs: 0 };
  jobs.set(jobId, state);
  const outputBefore = { ...output };
  try {
    const spec = decodeSpawn(payload);
    state.graceMs = spec.cancelGraceMs;
    const workflows = await loadBundle(spec.bundle);
    const found = workflows.find((w) => w.definition.name === spec.workflow);
    if (!found) throw new InternalError(`workflow '${spec.workflow}' is not in the bundle`);
    const def = found.definition;
    const job = new WorkflowJob(def, buildStepGraph(def), spec, (window) => {
      try {
        report(
          endpoint.statsWindow(jobId, window.seq, encodePayload(window, 'a statistics window')),
          'stats window',
        );
      } catch (error) {
        endpoint.diagnostic(
          'error',
          'stats',
          `lost statistics window ${window.seq}: ${describeError(error)}`,
        );
        flush();
      }
    });
    state.job = job;
    if (state.cancelled) job.stop();
    report(endpoint.reportStatus(jobId, 'running'), 'status');
    await job.run();
    if (state.cancelled) return; // cancel → drain → finalize owns the ending
    const outcome: CompletionPayload = {
      ...job.finalize(),
      droppedOutput: droppedSince(outputBefore),
    };
    report(
      endpoint.completeJob(jobId, {
        status: 'ok',
        payload: encodePayload(outcome, 'the completion report'),
      }),
      'completion',
    );
    jobs.delete(jobId);
  } catch (error) {
    state.job?.finalize();
    if (!state.cancelled) {
      report(
        endpoint.completeJob(jobId, {
          status: 'err',
          code: 'job_failed',
          message: describeError(error),
        }),
        'completion',
      );
      jobs.delete(jobId);
    }
  }
}

async function execute(command: WorkerCommand): Promise<void> {
  switch (command.type) {
    case 'spawn':
      return spawn(command.jobId, command.request.payload);
    case 'poll':
      report(endpoint.reportStatus(command.jobId, 'running'), 'status');
      return;
    case 'cancel': {
      const state = jobs.get(command.jobId);
      if (state) {
        state.cancelled = true;
        state.job?.stop();
      }
      report(endpoint.acknowledgeCancel(command.jobId), 'cancel');
      return;
    }
    case 'drain': {
      const state = jobs.get(command.jobId);
      if (state?.job) await state.job.drain(state.graceMs);
      report(endpoint.drainCompleted(command.jobId), 'drain');
      return;
    }
    case 'finalize': {
      jobs.get(command.jobId)?.job?.finalize();
      jobs.delete(command.jobId);
      report(endpoint.finalizeCompleted(command.jobId), 'finalize');
      return;
    }
    case 'shutdown':
      for (const state of jobs.values()) {
        state.cancelled = true;
        state.job?.stop();
        state.job?.finalize();
      }
      jobs.clear();
      await outputDrained(OUTPUT_DRAIN_MS);
      report(endpoint.shutdownCompleted(), 'shutdown');
      return;
  }
}

port.on('message', (message: unknown) => {
  const decoded = decodeEnvelope(message);
  if (!decoded.ok) {
    report(
      endpoint.diagnostic(
        'error',
        'protocol',
        `rejected a malformed message: ${decoded.error.message}`,
      ),
      'diagnostic',
    );
    return;
  }
  const result = endpoint.handleInbound(decoded.envelope);
  if (!result.ok) {
    report(
      endpoint.diagnostic('error', 'protocol', `rejected a message: ${result.error.message}`),
      'diagnostic',
    );
    return;
  }
  flush();
  for (const command of result.commands) {
    execute(command).catch((error: unknown) => {
      report(
        endpoint.diagnostic('error', 'worker', `${command.type} failed: ${describeError(error)}`),
        'diagnostic',
      );
    });
  }
});

process.on('unhandledRejection', (reason) => {
  report(
    endpoint.diagnostic(
      'warn',
      'workflow',
      `unhandled promise rejection: ${describeError(reason)}`,
    ),
    'diagnostic',
  );
});
process.on('uncaughtException', (error) => {
  report(
    endpoint.diagnostic('error', 'workflow', `uncaught exception: ${describeError(error)}`),
    'diagnostic',
  );
});

report(endpoint.bootstrapReady(), 'bootstrap');
