// Runs a workflow's setup or teardown hook in a worker thread of its own (src/pool/hook-worker.ts)
// with its timeout: a hook that throws, runs too long, spins, or exits the process ends as a
// HookError naming the hook, and the main thread stays free to answer Ctrl-C at all times.
import { Worker } from 'node:worker_threads';
import { formatMs } from '../api/duration.js';
import { HookError, describeError } from '../errors.js';
import type { DroppedOutput } from './worker-output.js';

export interface HookRequest {
  bundle: { path: string; source: string };
  workflow: string;
  hook: 'setup' | 'teardown';
  /** Overrides the workflow's baseUrl (salvo run --target). */
  baseUrl: string | undefined;
  context: Record<string, unknown>;
  /** What setup returned (teardown only). */
  data: unknown;
}

export type HookReply =
  | { ok: true; json: string | undefined; dropped: DroppedOutput }
  | { ok: false; message: string; dropped: DroppedOutput };

export interface RunningHook {
  /** The hook's return value (JSON round-tripped, as steps see it); rejects with a HookError. */
  readonly result: Promise<unknown>;
  /** Output the hook's thread dropped (see worker-output.ts); final once `result` settles. */
  readonly dropped: DroppedOutput;
  /** Terminates the hook's thread at once; `result` rejects with `reason`. */
  stop(reason: string): void;
}

const HOOK_ENTRY = new URL('./hook-worker.js', import.meta.url);

/** Starts `request`'s hook in a new worker thread; `what` names it in errors. */
export function runHookInWorker(
  request: HookRequest,
  what: string,
  timeoutMs: number,
): RunningHook {
  const worker = new Worker(HOOK_ENTRY, { workerData: request });
  const dropped: DroppedOutput = { writes: 0, bytes: 0 };
  let stop: (reason: string) => void = () => undefined;
  const result = new Promise<unknown>((resolve, reject) => {
    let settled = false;
    const end = (error: HookError | undefined, value?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(value);
      void worker.terminate();
    };
    const timer = setTimeout(
      () =>
        end(
          new HookError(
            'E_HOOK_TIMEOUT',
            `${what} did not finish within ${formatMs(timeoutMs)}; its thread was terminated`,
          ),
        ),
      timeoutMs,
    );
    stop = (reason) => end(new HookError('E_HOOK_FAILED', `${what} was stopped: ${reason}`));
    worker.on('message', (reply: HookReply) => {
      dropped.writes = reply.dropped.writes;
      dropped.bytes = reply.dropped.bytes;
      if (!reply.ok) {
        end(new HookError('E_HOOK_FAILED', `${what} failed: ${reply.message}`));
        return;
      }
      try {
        end(undefined, reply.json === undefined ? undefined : JSON.parse(reply.json));
      } catch (error) {
        end(new HookError('E_HOOK_FAILED', `${what} returned bad JSON: ${describeError(error)}`));
      }
    });
    worker.on('error', (error) =>
      end(new HookError('E_HOOK_FAILED', `${what} failed: ${describeError(error)}`)),
    );
    worker.on('exit', (code) =>
      end(
        new HookError(
          'E_HOOK_FAILED',
          `${what} called process.exit(${code}); a workflow must not exit the process`,
        ),
      ),
    );
  });
  return { result, dropped, stop: (reason) => stop(reason) };
}
