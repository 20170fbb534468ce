// Owns running a cluster worker's dispatched parts on this machine's thread pool: each share
// of a part becomes one spawn on the pool slot of the core the part holds, windows stream back
// per thread, and the pool's per-slot reports become one WorkReport. Hooks run in a thread of
// their own (hooks.ts) with their timeout. The bundle is found by its content hash through the
// resolver the worker is given, which refuses bytes that do not match the hash.

import type { Bundle } from '../engine/loader.js';
import { describeError, SalvoError } from '../errors.js';
import type {
  BundleRef,
  HookSpec,
  RunningHookCall,
  RunningWork,
  WorkExecutor,
  WorkReport,
  WorkSpec,
} from '../nodes/worker/executor.js';
import type { StatsWindow } from '../stats/types.js';
import { runHookInWorker } from './hooks.js';
import { encodePayload, type SpawnPayload } from './payloads.js';
import type { WorkerPool } from './pool.js';

/**
 * Finds a bundle by reference, or null when this worker cannot get it. The resolver checks the
 * bytes it got against `ref.hash`; the bundle it returns carries the hash of the file threads
 * import (the same, unless the file was adapted to this machine's installation).
 */
export type BundleResolver = (ref: BundleRef) => Promise<Bundle | null>;

export interface ThreadExecutorOptions {
  readonly pool: WorkerPool;
  readonly bundles: BundleResolver;
}

function ended(outcome: WorkReport['outcome'], failure?: string): WorkReport {
  return {
    outcome,
    ...(failure !== undefined ? { failure } : {}),
    published: {},
    network: { requests: 0, bytesSent: 0, bytesReceived: 0 },
    interrupted: 0,
    notes: [],
  };
}

export class ThreadExecutor implements WorkExecutor {
  constructor(private readonly options: ThreadExecutorOptions) {}

  private async bundle(ref: BundleRef): Promise<Bundle> {
    const b = await this.options.bundles(ref);
    if (b === null)
      throw new SalvoError(
        'E_CLIENT',
        `bundle ${ref.hash.slice(0, 12)}… (${ref.file}) is not available on this worker`,
      );
    return b;
  }

  run(spec: WorkSpec, onWindow: (thread: number, window: StatsWindow) => void): RunningWork {
    const pool = this.options.pool;
    let cancelled: string | null = null;
    let cancelHandle: ((reason: string) => void) | null = null;
    const done = (async (): Promise<WorkReport> => {
      let bundle: Bundle;
      try {
        bundle = await this.bundle(spec.bundle);
      } catch (error) {
        return ended('failed', describeError(error));
      }
      if (cancelled !== null) return ended('cancelled');
      const cores = spec.cores ?? spec.shares.map((_, i) => i);
      if (cores.length !== spec.shares.length || cores.some((c) => c < 0 || c >= pool.size)) {
        return ended(
          'failed',
          `the part needs pool slots ${cores.join(', ')}; this pool has ${pool.size}`,
        );
      }
      const payloads: (Uint8Array | null)[] = new Array<Uint8Array | null>(pool.size).fill(null);
      const threadOfSlot = new Map<number, number>();
      try {
        spec.shares.forEach((share, i) => {
          const spawn: SpawnPayload = {
            bundle: { path: bundle.path, hash: bundle.hash, source: bundle.source },
            workflow: spec.workflow,
            share,
            thread: spec.firstThread + i,
            threads: spec.threads,
            data: spec.data,
            context: spec.context,
            baseUrl: spec.baseUrl,
            windowMs: spec.windowMs,
            cancelGraceMs: spec.cancelGraceMs,
            source: bundle.source,
          };
          payloads[cores[i]!] = encodePayload(
            spawn,
            `the data and context of workflow '${spec.workflow}'`,
          );
          threadOfSlot.set(cores[i]!, i);
        });
      } catch (error) {
        return ended('failed', describeError(error));
      }
      const handle = pool.runJob(spec.workflow, payloads, (slot, window) => {
        const thread = threadOfSlot.get(slot);
        if (thread !== undefined) onWindow(thread, window);
      });
      cancelHandle = (reason) => handle.cancel(reason);
      const report = await handle.done;
      const published: WorkReport['published'] = {};
      const network = { requests: 0, bytesSent: 0, bytesReceived: 0 };
      const notes: string[] = [];
      let interrupted = 0;
      let failure: string | undefined;
      let anyCancelled = false;
      for (const w of report.workers) {
        const c = w.completion;
        if (w.failure !== undefined)
          failure ??= `thread ${threadOfSlot.get(w.index) ?? w.index}: ${w.failure}`;
        if (w.cancelled) anyCancelled = true;
        interrupted += c?.interrupted ?? 0;
        notes.push(...(c?.notes ?? []));
        if (c?.network) {
          network.requests += c.network.requests;
          network.bytesSent += c.network.bytesSent;
          network.bytesReceived += c.network.bytesReceived;
        }
        for (const [k, v] of Object.entries(c?.published ?? {})) {
          const seen = published[k];
          if (!seen || v.atMs >= seen.atMs) published[k] = v;
        }
      }
      const outcome: WorkReport['outcome'] =
        failure !== undefined
          ? 'failed'
          : anyCancelled || cancelled !== null
            ? 'cancelled'
            : 'completed';
      return {
        outcome,
        ...(failure !== undefined ? { failure } : {}),
        published,
        network,
        interrupted,
        notes,
      };
    })();
    return {
      done,
      cancel: (reason) => {
        if (cancelled !== null) return;
        cancelled = reason;
        cancelHandle?.(reason);
      },
    };
  }

  runHook(spec: HookSpec): RunningHookCall {
    let running: { stop(reason: string): void } | null = null;
    let stopped: string | null = null;
    const result = (async (): Promise<unknown> => {
      const bundle = await this.bundle(spec.bundle);
      if (stopped !== null)
        throw new SalvoError(
          'E_CLIENT',
          `${spec.hook} of '${spec.workflow}' was stopped: ${stopped}`,
        );
      const hook = runHookInWorker(
        {
          bundle: { path: bundle.path, source: bundle.source },
          workflow: spec.workflow,
          hook: spec.hook,
          baseUrl: spec.baseUrl,
          context: spec.context,
          data: spec.data,
        },
        `${spec.hook} of workflow '${spec.workflow}'`,
        spec.timeoutMs,
      );
      running = hook;
      return hook.result;
    })();
    return {
      result,
      stop: (reason) => {
        stopped = reason;
        running?.stop(reason);
      },
    };
  }

  async close(): Promise<void> {
    await this.options.pool.shutdown();
  }
}
