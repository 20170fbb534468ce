// Owns the state a DC's managers replicate through Raft: per job, the owner gate's highest
// fence and address, and per workflow its accepted dispatch (attempt, parts, manager fence)
// and its end, with the original dispatch so a new leader can re-dispatch a lost part; a job
// moves to a new owner gate with a higher fence (`owner`). Commands are applied
// deterministically in log order (a stale fence is refused by every replica alike); the leader
// checks them first with the same rules. Bounded: ended
// jobs are evicted oldest first past `maxJobs`. Never does I/O.

import { reject, type Rejection } from './errors.js';

export interface DcPartRecord {
  readonly dispatchId: string;
  readonly worker: string;
  readonly fence: number;
  readonly threads: number;
  /** The part's first thread among the workflow's threads on the DC (absent in old records: 0). */
  readonly firstThread?: number;
  /** The workflow's threads on the DC. */
  readonly totalThreads?: number;
}

export interface DcWorkflowRecord {
  readonly attempt: number;
  readonly managerFence: number;
  /** Replaced one by one as lost workers' parts are re-dispatched. */
  parts: readonly DcPartRecord[];
  outcome: 'completed' | 'failed' | 'cancelled' | null;
  /** The gate's dispatch as the DC accepted it (opaque here), so a new leader can re-dispatch. */
  readonly original?: unknown;
  /** The leader's clock when the DC accepted the dispatch. */
  readonly acceptedAtMs?: number;
  /** Parts re-dispatched so far (lost workers' parts run elsewhere). */
  replaced?: number;
  /** The owner gate acknowledged the end (a new leader reports an end that is not). */
  reported?: boolean;
}

export interface DcJobRecord {
  fence: number;
  ownerGate: string;
  ownerAddress: { host: string; port: number };
  cancelled: boolean;
  readonly workflows: Record<string, DcWorkflowRecord>;
}

export type DcCommand =
  | {
      readonly op: 'dispatch';
      readonly job: string;
      readonly fence: number;
      readonly ownerGate: string;
      readonly ownerAddress: { host: string; port: number };
      readonly workflow: string;
      readonly attempt: number;
      readonly managerFence: number;
      readonly parts: readonly DcPartRecord[];
      readonly original?: unknown;
      readonly acceptedAtMs?: number;
    }
  | {
      readonly op: 'workflow-end';
      readonly job: string;
      readonly workflow: string;
      readonly outcome: 'completed' | 'failed' | 'cancelled';
    }
  | { readonly op: 'workflow-reported'; readonly job: string; readonly workflow: string }
  | {
      /** A lost worker's part runs elsewhere now: `part` takes the place of `lostDispatchId`. */
      readonly op: 'part-replaced';
      readonly job: string;
      readonly workflow: string;
      readonly lostDispatchId: string;
      readonly part: DcPartRecord;
    }
  | { readonly op: 'cancel'; readonly job: string; readonly fence: number }
  | {
      /** The job moved to another owner gate (a higher fence): windows and ends go there now. */
      readonly op: 'owner';
      readonly job: string;
      readonly fence: number;
      readonly ownerGate: string;
      readonly ownerAddress: { host: string; port: number };
    }
  | { readonly op: 'forget'; readonly job: string };

export type DcStateErrorCode = 'E_STALE_FENCE' | 'E_DUPLICATE' | 'E_BAD_COMMAND';

export type DcApplyResult = { ok: true } | Rejection<DcStateErrorCode>;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeDcCommand(c: DcCommand): Uint8Array {
  return encoder.encode(JSON.stringify(c));
}

export class DcJobState {
  private jobs_ = new Map<string, DcJobRecord>();

  constructor(private readonly maxJobs = 10_000) {}

  job(job: string): DcJobRecord | undefined {
    return this.jobs_.get(job);
  }

  /** Every job record, in insertion order. */
  jobs(): IterableIterator<[string, DcJobRecord]> {
    return this.jobs_.entries();
  }

  get jobCount(): number {
    return this.jobs_.size;
  }

  /** E_STALE_FENCE when a newer fence of `job` was seen; else ok (the leader's pre-check). */
  checkFence(job: string, fence: number): DcApplyResult {
    const j = this.jobs_.get(job);
    if (j && fence < j.fence) {
      return reject(
        'E_STALE_FENCE',
        `fence ${fence} of job '${job}' is older than the fence ${j.fence} this DC has seen`,
      );
    }
    return { ok: true };
  }

  apply(c: DcCommand): DcApplyResult {
    switch (c.op) {
      case 'dispatch': {
        const stale = this.checkFence(c.job, c.fence);
        if (!stale.ok) return stale;
        let j = this.jobs_.get(c.job);
        if (!j) {
          this.evict();
          j = {
            fence: c.fence,
            ownerGate: c.ownerGate,
            ownerAddress: c.ownerAddress,
            cancelled: false,
            workflows: {},
          };
          this.jobs_.set(c.job, j);
        }
        j.fence = c.fence;
        j.ownerGate = c.ownerGate;
        j.ownerAddress = c.ownerAddress;
        const known = j.workflows[c.workflow];
        if (known && known.attempt >= c.attempt) {
          return reject('E_DUPLICATE', `attempt ${c.attempt} of '${c.workflow}' is known`);
        }
        j.workflows[c.workflow] = {
          attempt: c.attempt,
          managerFence: c.managerFence,
          parts: c.parts.map((p) => ({ ...p })),
          outcome: null,
          ...(c.original !== undefined ? { original: c.original } : {}),
          ...(c.acceptedAtMs !== undefined ? { acceptedAtMs: c.acceptedAtMs } : {}),
        };
        return { ok: true };
      }
      case 'workflow-end': {
        const w = this.jobs_.get(c.job)?.workflows[c.workflow];
        if (!w) return reject('E_BAD_COMMAND', `workflow '${c.workflow}' is not known`);
        if (w.outcome !== null) return reject('E_DUPLICATE', 'the workflow already ended');
        w.outcome = c.outcome;
        return { ok: true };
      }
      case 'workflow-reported': {
        const w = this.jobs_.get(c.job)?.workflows[c.workflow];
        if (!w) return reject('E_BAD_COMMAND', `workflow '${c.workflow}' is not known`);
        if (w.outcome === null) return reject('E_BAD_COMMAND', 'the workflow has not ended');
        w.reported = true;
        return { ok: true };
      }
      case 'part-replaced': {
        const w = this.jobs_.get(c.job)?.workflows[c.workflow];
        if (!w) return reject('E_BAD_COMMAND', `workflow '${c.workflow}' is not known`);
        if (w.outcome !== null) return reject('E_DUPLICATE', 'the workflow already ended');
        const at = w.parts.findIndex((p) => p.dispatchId === c.lostDispatchId);
        if (at < 0) {
          return w.parts.some((p) => p.dispatchId === c.part.dispatchId)
            ? reject('E_DUPLICATE', `part '${c.part.dispatchId}' is already recorded`)
            : reject('E_BAD_COMMAND', `part '${c.lostDispatchId}' is not known`);
        }
        w.parts = w.parts.map((p, i) => (i === at ? { ...c.part } : p));
        w.replaced = (w.replaced ?? 0) + 1;
        return { ok: true };
      }
      case 'cancel': {
        const stale = this.checkFence(c.job, c.fence);
        if (!stale.ok) return stale;
        const j = this.jobs_.get(c.job);
        if (j) {
          j.cancelled = true;
          j.fence = c.fence;
        }
        return { ok: true };
      }
      case 'owner': {
        const stale = this.checkFence(c.job, c.fence);
        if (!stale.ok) return stale;
        const j = this.jobs_.get(c.job);
        if (!j) {
          // Nothing of the job ran here yet: the owner is recorded, so an older owner's late
          // dispatch is refused (its fence is older).
          this.evict();
          this.jobs_.set(c.job, {
            fence: c.fence,
            ownerGate: c.ownerGate,
            ownerAddress: c.ownerAddress,
            cancelled: false,
            workflows: {},
          });
          return { ok: true };
        }
        if (j.fence === c.fence) {
          return j.ownerGate === c.ownerGate
            ? reject('E_DUPLICATE', `job '${c.job}' is owned by ${c.ownerGate} already`)
            : reject(
                'E_STALE_FENCE',
                `fence ${c.fence} of job '${c.job}' belongs to ${j.ownerGate}`,
              );
        }
        j.fence = c.fence;
        j.ownerGate = c.ownerGate;
        j.ownerAddress = c.ownerAddress;
        return { ok: true };
      }
      case 'forget':
        this.jobs_.delete(c.job);
        return { ok: true };
      default:
        return reject('E_BAD_COMMAND', 'unknown command');
    }
  }

  /** Decodes and applies one committed entry; bad bytes are a rejection, not a throw. */
  applyBytes(data: Uint8Array): DcApplyResult {
    let c: unknown;
    try {
      c = JSON.parse(decoder.decode(data));
    } catch (error) {
      return reject('E_BAD_COMMAND', `undecodable command: ${(error as Error).message}`);
    }
    if (typeof c !== 'object' || c === null || typeof (c as { op?: unknown }).op !== 'string') {
      return reject('E_BAD_COMMAND', 'a command must be an object with an op');
    }
    return this.apply(c as DcCommand);
  }

  snapshot(): Uint8Array {
    return encoder.encode(JSON.stringify([...this.jobs_]));
  }

  restore(data: Uint8Array): void {
    this.jobs_ =
      data.length === 0
        ? new Map()
        : new Map(JSON.parse(decoder.decode(data)) as [string, DcJobRecord][]);
  }

  /** Past `maxJobs`: drop the oldest job whose workflows all ended (else the oldest). */
  private evict(): void {
    if (this.jobs_.size < this.maxJobs) return;
    for (const [id, j] of this.jobs_) {
      if (Object.values(j.workflows).every((w) => w.outcome !== null)) {
        this.jobs_.delete(id);
        return;
      }
    }
    const first = this.jobs_.keys().next();
    if (!first.done) this.jobs_.delete(first.value);
  }
}
