// Owns the results a gate keeps for the jobs it ended, for watchers that come late: in memory
// (EndedRetention, by count and age) and on the gate's storage as `result-<job>.json`, written
// when a job ends and removed when it leaves the retention, so a gate killed after a job ended
// (before its watcher asked) still answers with the job's whole result once it is back.

import { describeError } from '../../errors.js';
import type { JobResult } from '../jobs/client-wire.js';
import { background } from './background.js';
import type { GateState } from './gate-context.js';

const PREFIX = 'result-';
const SUFFIX = '.json';
const encoder = new TextEncoder();
const decoder = new TextDecoder();

const fileOf = (job: string): string => `${PREFIX}${job}${SUFFIX}`;

/** Keeps an ended job's result (the oldest go beyond the bounds, from memory and from disk). */
export function keepResult(state: GateState, job: string, result: JobResult): void {
  const storage = state.runtime.storage;
  background(
    state.runtime.log,
    `saving the result of ${job}`,
    storage.writeAtomic(fileOf(job), encoder.encode(JSON.stringify(result))),
  );
  forget(state, state.results.put(job, result, state.runtime.clock.wallMs()));
}

/** Drops what the retention let go of (also from disk). */
export function forget(state: GateState, jobs: readonly string[]): void {
  for (const job of jobs) {
    state.runtime.log.log('debug', 'result of an ended job dropped', { job });
    background(
      state.runtime.log,
      `removing the result of ${job}`,
      state.runtime.storage.remove(fileOf(job)),
    );
  }
}

/** Reads back the results kept on disk before a restart (a file that does not parse is removed). */
export async function loadResults(state: GateState): Promise<number> {
  const storage = state.runtime.storage;
  let loaded = 0;
  for (const name of await storage.list()) {
    if (!name.startsWith(PREFIX) || !name.endsWith(SUFFIX)) continue;
    const job = name.slice(PREFIX.length, -SUFFIX.length);
    const bytes = await storage.readFile(name);
    let result: JobResult | null = null;
    try {
      const value = bytes === null ? null : (JSON.parse(decoder.decode(bytes)) as JobResult);
      if (value?.t === 'job.result' && value.job === job) result = value;
    } catch (error) {
      state.runtime.log.log('warn', 'a kept result does not parse; removing it', {
        job,
        error: describeError(error),
      });
    }
    if (result === null) {
      await storage.remove(name);
      continue;
    }
    forget(state, state.results.put(job, result, result.endedAtMs));
    loaded++;
  }
  return loaded;
}
