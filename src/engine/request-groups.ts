// Statistics of named and tagged requests (`http.get(url, { name, tags })`): each group
// `http{name:…,tag:value}` is recorded like a step of the workflow, so it merges, reports and
// takes thresholds (`'http{name:GET /item/:id}': ['p99 < 200ms']`) exactly as steps do.
// Bounded: at most MAX_REQUEST_GROUPS groups per job; requests of further groups are noted once.
import type { RequestObserver } from '../clients/client.js';
import { describeError } from '../errors.js';
import type { StepRecorder, WorkflowRecorder } from '../stats/recorder.js';

export const MAX_REQUEST_GROUPS = 200;

/** `--http-debug`: the CLI sets it in the environment every worker thread inherits. */
export const HTTP_DEBUG_ENV = 'SALVO_HTTP_DEBUG';

export function httpDebugEnabled(): boolean {
  return process.env[HTTP_DEBUG_ENV] === '1';
}

export class RequestGroups {
  private readonly groups = new Map<string, StepRecorder>();
  private closed = false;
  private overflowNoted = false;

  constructor(
    private readonly recorder: WorkflowRecorder,
    private readonly note: (message: string) => void,
  ) {}

  readonly observe: RequestObserver = (group, latencyUs, status, failure) => {
    if (this.closed) return;
    let rec = this.groups.get(group);
    if (rec === undefined) {
      if (this.groups.size >= MAX_REQUEST_GROUPS) {
        if (!this.overflowNoted) {
          this.overflowNoted = true;
          this.note(
            `more than ${MAX_REQUEST_GROUPS} request names/tags; '${group}' and later ones are not grouped`,
          );
        }
        return;
      }
      try {
        rec = this.recorder.step(group);
      } catch (error) {
        this.note(`request group '${group}' not recorded: ${describeError(error)}`);
        return;
      }
      this.groups.set(group, rec);
    }
    if (failure === undefined) rec.ok(latencyUs, status);
    else rec.fail(latencyUs, failure.kind, failure.message, status);
  };

  /** Later reports are ignored (the job was finalized). */
  close(): void {
    this.closed = true;
  }
}
