// Owns letting go, on every manager, of what it holds of workflows whose end the owner gate has
// (the DC state marks them reported, whichever leader reported them) or of jobs the state no
// longer has: their parts in the dispatcher, part records, original dispatches and relay state
// (unless the relay retains the job's windows for a new owner gate).
// What a leader of an earlier term kept goes this way, on followers as on the leader.

import { abandon, type ManagerContext } from './context.js';

/**
 * One sweep; `ending` names the workflows whose end this node is reporting now (kept), and
 * `retaining` the jobs whose relay state is kept for a new owner until the job is released.
 */
export function sweepReported(
  ctx: ManagerContext,
  ending: (job: string, workflow: string) => boolean,
  retaining: (job: string) => boolean = () => false,
): void {
  const done = (job: string, workflow: string): boolean => {
    const j = ctx.state.job(job);
    if (j === undefined) return true;
    const w = j.workflows[workflow];
    return w !== undefined && w.outcome !== null && w.reported === true;
  };
  const live = ctx.leadership.dispatcher();
  for (const [job, workflow] of live?.workflows() ?? []) {
    // Only an end the state holds counts here (a dispatch in flight is not recorded yet).
    const w = ctx.state.job(job)?.workflows[workflow];
    if (w?.outcome == null || w.reported !== true || ending(job, workflow)) continue;
    // Its end reached the gate through another leader while parts ran on here: they go, and
    // what they still send is discarded (their workers are told to stop).
    for (const p of live!.drop(job, workflow)) {
      abandon(ctx, p.dispatchId);
      ctx.log.log('warn', 'manager: part of a workflow that ended elsewhere dropped', {
        dispatchId: p.dispatchId,
        worker: p.worker,
      });
    }
  }
  for (const [id, info] of ctx.parts) {
    if (live?.part(id) !== undefined) continue;
    if (done(info.job, info.workflow)) ctx.parts.delete(id);
  }
  for (const [k, o] of ctx.originals) {
    if (live?.has(o.message.job, o.message.workflow) === true) continue;
    if (done(o.message.job, o.message.workflow)) ctx.originals.delete(k);
  }
  for (const job of ctx.relay.jobIds()) {
    if (ctx.relay.pending(job) > 0 || (live?.partsOf(job).length ?? 0) > 0) continue;
    if (retaining(job)) continue;
    const j = ctx.state.job(job);
    const all = j === undefined ? [] : Object.keys(j.workflows);
    if (all.every((w) => done(job, w))) ctx.relay.dropJob(job);
  }
}
