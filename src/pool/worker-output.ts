// Bounds what workflow code in a worker thread may print. A worker's stdout and stderr reach
// the main thread asynchronously, and console.log never waits for them to drain, so a step
// that logs faster than the terminal reads would buffer without limit. Past
// OUTPUT_BUDGET_BYTES waiting in a stream, writes are dropped and counted; the counts travel
// to the main thread and the summary says how much was dropped. Written by hand: it patches
// the two streams' `write`, which no library does for a worker thread.

/** Bytes a worker's stdout (and, separately, stderr) may hold waiting for the main thread. */
export const OUTPUT_BUDGET_BYTES = 1 << 20;

export interface DroppedOutput {
  writes: number;
  bytes: number;
}

const dropped: DroppedOutput = { writes: 0, bytes: 0 };
let installed = false;

type WriteCallback = (error?: Error | null) => void;

function bound(stream: NodeJS.WriteStream): void {
  const write = stream.write.bind(stream) as (
    chunk: unknown,
    encoding?: unknown,
    cb?: unknown,
  ) => boolean;
  stream.write = (chunk: unknown, encoding?: unknown, cb?: unknown): boolean => {
    const size =
      typeof chunk === 'string'
        ? Buffer.byteLength(chunk)
        : chunk instanceof Uint8Array
          ? chunk.byteLength
          : 0;
    if (stream.writableLength + size <= OUTPUT_BUDGET_BYTES) return write(chunk, encoding, cb);
    dropped.writes++;
    dropped.bytes += size;
    const done = (typeof encoding === 'function' ? encoding : cb) as WriteCallback | undefined;
    if (done) queueMicrotask(() => done());
    // "Accepted": a writer that waited for 'drain' instead would wait for an event never due.
    return true;
  };
}

/** Installs the bound on this thread's stdout and stderr (once); returns the live counts. */
export function boundWorkerOutput(): Readonly<DroppedOutput> {
  if (!installed) {
    installed = true;
    bound(process.stdout);
    bound(process.stderr);
  }
  return dropped;
}

/**
 * Resolves once this thread's stdout and stderr hold nothing waiting for the main thread, or
 * after `limitMs`: called before the thread says it has shut down, so output is not cut off.
 */
export async function outputDrained(limitMs: number): Promise<void> {
  const until = Date.now() + limitMs;
  while (process.stdout.writableLength + process.stderr.writableLength > 0 && Date.now() < until)
    await new Promise((resolve) => setTimeout(resolve, 10));
}

/** What was dropped since `before` (a copy taken with `{ ...counts }`). */
export function droppedSince(before: DroppedOutput): DroppedOutput {
  return { writes: dropped.writes - before.writes, bytes: dropped.bytes - before.bytes };
}
