// Owns running a run's parts on this machine's worker threads: a workflow's share split over
// the ThreadPool (one part per thread), each hook in a thread of its own with its timeout.
// The bundle a call names by hash must be one this placement was given on disk.
import type { WorkerPool, WorkerReport } from '../pool/pool.js';
import { runHookInWorker } from '../pool/hooks.js';
import { encodePayload, PayloadError, type SpawnPayload } from '../pool/payloads.js';
import { splitShare } from './executor-spec.js';
import type {
  BundleRef,
  HookCall,
  PlacedWorkflow,
  Placement,
  PlacementPart,
  RunningHookCall,
  WorkflowCall,
} from './placement.js';
import type { StatsWindow } from '../stats/types.js';

/** A bundle on this machine: where it is cached, its hash and the file it was built from. */
export interface LocalBundle {
  path: string;
  hash: string;
  source: string;
}

/** Finds the cached bundle of a hash; undefined when this machine does not have it. */
export type BundleLocator = (hash: string) => LocalBundle | undefined;

/** A locator that knows exactly one bundle (`salvo run`). */
export function oneBundle(bundle: LocalBundle): BundleLocator {
  return (hash) => (hash === bundle.hash ? bundle : undefined);
}

export interface ThreadPlacementOptions {
  pool: WorkerPool;
  bundles: BundleLocator;
  /** A statistics source for thread `index`; `w<index>` by default. */
  sourceOf?: (index: number) => string;
}

export class ThreadPlacement implements Placement {
  private readonly options: ThreadPlacementOptions;

  constructor(options: ThreadPlacementOptions) {
    this.options = options;
  }

  get size(): number {
    return this.options.pool.size;
  }

  private bundle(ref: BundleRef): LocalBundle {
    const found = this.options.bundles(ref.hash);
    if (!found)
      throw new PayloadError(
        `bundle ${ref.hash.slice(0, 12)}… of ${ref.source} is not on this machine`,
      );
    return { ...found, source: ref.source };
  }

  runHook(call: HookCall): RunningHookCall {
    const what = `${call.hook} of workflow '${call.workflow}'`;
    let bundle: LocalBundle;
    try {
      bundle = this.bundle(call.bundle);
    } catch (error) {
      const result = Promise.reject(error instanceof Error ? error : new Error(String(error)));
      return { result, stop: () => undefined };
    }
    const running = runHookInWorker(
      {
        bundle: { path: bundle.path, source: bundle.source },
        workflow: call.workflow,
        hook: call.hook,
        baseUrl: call.baseUrl ?? undefined,
        context: call.context,
        data: call.data,
      },
      what,
      call.timeoutMs,
    );
    return {
      result: running.result,
      stop: (reason) => running.stop(reason),
      droppedOutput: running.dropped,
    };
  }

  runWorkflow(
    call: WorkflowCall,
    onWindow: (source: string, window: StatsWindow) => void,
  ): PlacedWorkflow {
    const pool = this.options.pool;
    const bundle = this.bundle(call.bundle);
    const lanes = call.lanes ?? { first: 0, total: pool.size };
    if (lanes.first < 0 || lanes.first + pool.size > lanes.total)
      throw new PayloadError(
        `workflow '${call.workflow}': lanes ${lanes.first}…${lanes.first + pool.size - 1} of ${lanes.total} do not fit ${pool.size} threads`,
      );
    const payloads = splitShare(call.share, pool.size).map((share, index) => {
      if (!share) return null;
      const spawn: SpawnPayload = {
        bundle,
        workflow: call.workflow,
        share,
        thread: lanes.first + index,
        threads: lanes.total,
        data: call.data,
        context: call.context,
        baseUrl: call.baseUrl ?? undefined,
        windowMs: call.windowMs,
        cancelGraceMs: call.cancelGraceMs,
        source: bundle.source,
      };
      return encodePayload(spawn, `the setup data and context of workflow '${call.workflow}'`);
    });
    const sourceOf = this.options.sourceOf ?? ((index: number) => `w${index}`);
    const handle = pool.runJob(call.workflow, payloads, (worker, window) =>
      onWindow(sourceOf(worker), window),
    );
    return {
      done: handle.done.then((report) => ({ parts: report.workers.map(partOf) })),
      cancel: (reason) => handle.cancel(reason),
      terminateStalled: (quietMs, why) => handle.terminateStalled(quietMs, why),
    };
  }
}

function partOf(w: WorkerReport): PlacementPart {
  const part: PlacementPart = {
    unit: `worker ${w.index}`,
    cancelled: w.cancelled,
    published: w.completion?.published ?? {},
    interrupted: w.completion?.interrupted ?? 0,
    notes: w.completion?.notes ?? [],
  };
  if (w.failure !== undefined) part.failure = w.failure;
  if (w.completion?.network) part.network = w.completion.network;
  if (w.completion?.droppedOutput) part.droppedOutput = w.completion.droppedOutput;
  return part;
}
