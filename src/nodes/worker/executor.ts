// Owns the contract between a worker node and what runs its dispatched work: a WorkExecutor
// runs one part (one executor share per thread) and streams its statistics windows, or runs a
// hook once. Threads run it for real (src/pool/thread-executor.ts); the simulator uses the
// SyntheticExecutor (synthetic-executor.ts). Types only.

import type { NetworkTotals, PublishedValue } from '../../engine/job.js';
import type { ExecutorShare } from '../../engine/plan.js';
import type { StatsWindow } from '../../stats/types.js';

export interface BundleRef {
  readonly hash: string;
  readonly sizeBytes: number;
  readonly file: string;
}

export interface WorkSpec {
  readonly job: string;
  readonly workflow: string;
  readonly dispatchId: string;
  readonly bundle: BundleRef;
  /** One share per thread of this part. */
  readonly shares: readonly ExecutorShare[];
  /** The part's first thread among all threads of the workflow on its DC, and their count. */
  readonly firstThread: number;
  readonly threads: number;
  readonly data: unknown;
  readonly context: Record<string, unknown>;
  readonly baseUrl: string | undefined;
  readonly windowMs: number;
  readonly cancelGraceMs: number;
  /** The worker's cores this part holds, one per share (thread i runs on core cores[i]). */
  readonly cores?: readonly number[];
}

export interface WorkReport {
  readonly outcome: 'completed' | 'failed' | 'cancelled';
  readonly failure?: string;
  readonly published: Record<string, PublishedValue>;
  readonly network: NetworkTotals;
  readonly interrupted: number;
  readonly notes: readonly string[];
}

export interface RunningWork {
  /** Settles once every thread of the part finalized; never rejects. */
  readonly done: Promise<WorkReport>;
  /** cancel → drain (in-flight iterations get `cancelGraceMs`) → finalized. Idempotent. */
  cancel(reason: string): void;
}

export interface HookSpec {
  readonly job: string;
  readonly workflow: string;
  readonly hook: 'setup' | 'teardown';
  readonly timeoutMs: number;
  readonly bundle: BundleRef;
  readonly data: unknown;
  readonly context: Record<string, unknown>;
  readonly baseUrl: string | undefined;
}

export interface RunningHookCall {
  /** The hook's returned value, or a rejection whose message says why it failed. */
  readonly result: Promise<unknown>;
  stop(reason: string): void;
}

export interface WorkExecutor {
  /** Starts a part; `onWindow(thread, window)` gets each thread's windows (thread = index in `shares`). */
  run(spec: WorkSpec, onWindow: (thread: number, window: StatsWindow) => void): RunningWork;
  runHook(spec: HookSpec): RunningHookCall;
  /** Stops whatever still runs and frees its resources. */
  close(): Promise<void>;
}
