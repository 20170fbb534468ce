// Owns what a gate that took a job over holds for its replay: the DCs send again, at once, the
// windows and workflow ends they had sent the lost owner, before the replayed program reaches
// those workflows. They are acknowledged and held here, in arrival order, and handed to the
// placement as soon as it runs the workflow on that DC — so a DC's resend is never refused and
// retried with backoff (which would leave the replayed workflow silent long enough to be taken
// for stalled). Bounded: past `maxWindows` held windows, a batch is refused (the DC resends it).

import type { DcWindows, DcWorkflowDone } from '../jobs/dc-wire.js';

/** Windows held at most per job (two DCs' retention, by default 20,000 each). */
export const MAX_HELD_WINDOWS = 50_000;

type Held =
  | { readonly kind: 'windows'; readonly batch: DcWindows }
  | { readonly kind: 'done'; readonly done: DcWorkflowDone };

export interface ReplayTarget {
  /** The workflow runs on `dc` now (its part there was accepted and has not ended). */
  running(workflow: string, dc: string): boolean;
  deliverWindows(batch: DcWindows): unknown;
  deliverDone(done: DcWorkflowDone): unknown;
}

export class ReplayHold {
  /** Per DC, the workflows it ran for the lost owner and the replay has not reached yet. */
  private readonly expected = new Map<string, Set<string>>();
  private held: Held[] = [];
  private heldWindows = 0;
  private heldDones = 0;

  /**
   * `holdUnknown`: until a DC's workflows are known (`expect`), what it sends of any workflow
   * the replay does not run yet is held — a DC starts sending again before its answer to the
   * handover arrives.
   */
  constructor(
    private readonly target: ReplayTarget,
    private readonly maxWindows = MAX_HELD_WINDOWS,
    private readonly holdUnknown = false,
  ) {}

  /** `dc` ran these workflows for the lost owner (what it sends of them waits for the replay). */
  expect(dc: string, workflows: Iterable<string>): void {
    this.expected.set(dc, new Set(workflows));
  }

  get size(): number {
    return this.held.length;
  }

  private waits(workflow: string, dc: string): boolean {
    if (this.target.running(workflow, dc)) return false;
    const expected = this.expected.get(dc);
    return expected === undefined ? this.holdUnknown : expected.has(workflow);
  }

  /**
   * Takes a batch: the windows of workflows the replay has not reached, or of which windows are
   * still held, are held (the rest go on); 'full' when holding them would pass the bound; else
   * what the placement answered for the rest (or null when all were held).
   */
  windows(batch: DcWindows, deliver: (b: DcWindows) => unknown): unknown {
    // Decided once per workflow, before anything of this batch is held: a workflow the replay
    // reached whose earlier windows are still held waits behind them (order per DC and workflow).
    const decided = new Map<string, boolean>();
    const held = (workflow: string): boolean => {
      let v = decided.get(workflow);
      if (v === undefined) {
        v = this.waits(workflow, batch.dc) || this.holding(workflow, batch.dc);
        decided.set(workflow, v);
      }
      return v;
    };
    const waiting = batch.windows.filter((w) => held(w.workflow));
    if (waiting.length === 0) return deliver(batch);
    if (this.heldWindows + waiting.length > this.maxWindows) return 'full';
    // One held item per workflow, so each goes on when the replay reaches its own workflow.
    for (const workflow of new Set(waiting.map((w) => w.workflow))) {
      const windows = waiting.filter((w) => w.workflow === workflow);
      this.held.push({ kind: 'windows', batch: { ...batch, windows } });
    }
    this.heldWindows += waiting.length;
    const rest = batch.windows.filter((w) => !held(w.workflow));
    return rest.length > 0 ? deliver({ ...batch, windows: rest }) : null;
  }

  /** Takes a workflow's end: held (true) when the replay has not reached the workflow. */
  holdDone(done: DcWorkflowDone): boolean {
    if (!this.waits(done.workflow, done.dc) && !this.holding(done.workflow, done.dc)) return false;
    // Ends are one per workflow and DC; a sender repeating them past the bound is not held.
    if (this.heldDones >= this.maxWindows) return false;
    this.heldDones++;
    this.held.push({ kind: 'done', done });
    return true;
  }

  /** Held items of (workflow, dc) wait before anything later of them. */
  private holding(workflow: string, dc: string): boolean {
    return this.held.some((h) =>
      h.kind === 'done'
        ? h.done.workflow === workflow && h.done.dc === dc
        : h.batch.dc === dc && h.batch.windows.some((w) => w.workflow === workflow),
    );
  }

  /** Hands on, in order, what the placement now runs; the rest stays. */
  flush(): void {
    if (this.held.length === 0) return;
    const keep: Held[] = [];
    for (const h of this.held) {
      const [workflow, dc] =
        h.kind === 'done'
          ? [h.done.workflow, h.done.dc]
          : [h.batch.windows[0]?.workflow ?? '', h.batch.dc];
      if (this.waits(workflow, dc)) {
        keep.push(h);
        continue;
      }
      if (h.kind === 'done') {
        this.heldDones--;
        this.target.deliverDone(h.done);
      } else {
        this.heldWindows -= h.batch.windows.length;
        this.target.deliverWindows(h.batch);
      }
    }
    this.held = keep;
  }

  /** Lets go of everything (the job ended). */
  clear(): void {
    this.held = [];
    this.heldWindows = 0;
    this.heldDones = 0;
    this.expected.clear();
  }
}
