// Owns `dc.cancel` on a manager leader: checks the gate's fence, records the cancel in Raft,
// drops the job's shares still waiting for cores, fans `work.cancel` out to every worker
// running a part of it, and answers `dc.cancel-ack` once all acknowledged or at the timeout,
// naming the workers that did not answer. The workers then drain and report their parts'
// ends, which go up as `dc.workflow-done` (outcome cancelled).

import type { CancelOutcome } from '../../cluster/jobs/cancel-fanout.js';
import { TERMINAL_PART_STATES } from '../../cluster/jobs/dc-dispatch.js';
import type { MessageOf, RequestContext } from '../../protocol/index.js';
import type { TimerHandle } from '../../runtime/types.js';
import type { DcCancelDef } from '../jobs/dc-wire.js';
import { fail, gateRequestProblem, propose, type ManagerContext } from './context.js';
import type { DispatchCoordinator } from './dispatch-coordinator.js';

export class CancelCoordinator {
  private readonly waiting = new Map<
    number,
    { resolve: (o: CancelOutcome) => void; timer: TimerHandle }
  >();
  readonly counters = { cancels: 0, acknowledged: 0, unanswered: 0 };

  constructor(
    private readonly ctx: ManagerContext,
    private readonly dispatch: DispatchCoordinator,
  ) {}

  stop(): void {
    for (const w of this.waiting.values()) w.timer.cancel();
    this.waiting.clear();
  }

  async onCancel(m: MessageOf<typeof DcCancelDef>, rc: RequestContext): Promise<unknown> {
    const { ctx } = this;
    const refused = gateRequestProblem(ctx, rc, m);
    if (refused) return refused;
    this.counters.cancels++;
    const d = ctx.leadership.dispatcher();
    if (d) this.dispatch.dropped(d.dropWaiting(m.job, m.workflow));
    const recorded = await propose(ctx, { op: 'cancel', job: m.job, fence: m.fence });
    if ('t' in recorded) return recorded;
    if (!recorded.ok) return fail(recorded.code, recorded.message);
    const live = (d?.partsOf(m.job, m.workflow) ?? []).filter(
      (p) => !TERMINAL_PART_STATES.includes(p.state),
    );
    const byWorker = new Map<string, typeof live>();
    for (const p of live) byWorker.set(p.worker, [...(byWorker.get(p.worker) ?? []), p]);
    const started = ctx.cancels.start(
      m.job,
      m.workflow,
      [...byWorker.keys()],
      ctx.now(),
      m.timeoutMs,
    );
    if (!started.ok) return fail(started.code, started.message);
    const outcome =
      started.done ??
      (await new Promise<CancelOutcome>((resolve) => {
        const timer = ctx.runtime.timers.after(m.timeoutMs, () => {
          for (const o of ctx.cancels.expire(ctx.now())) this.finish(o);
        });
        this.waiting.set(started.cancelId, { resolve, timer });
        for (const [worker, parts] of byWorker) {
          const conn = ctx.workerConns.get(worker);
          if (!conn) continue;
          void conn
            .request(
              {
                t: 'work.cancel',
                job: m.job,
                ...(m.workflow !== undefined ? { workflow: m.workflow } : {}),
                fence: Math.max(...parts.map((p) => p.fence)),
                reason: m.reason,
              },
              { timeoutMs: m.timeoutMs },
            )
            .then((reply) => {
              if (!reply.ok) {
                ctx.log.log('warn', 'manager: worker did not acknowledge a cancel', {
                  worker,
                  job: m.job,
                  code: reply.error.code,
                });
                return;
              }
              const done = ctx.cancels.ack(started.cancelId, worker);
              if (done) this.finish(done);
            });
        }
      }));
    this.counters.acknowledged += outcome.acknowledged.length;
    this.counters.unanswered += outcome.unanswered.length;
    ctx.log.log('info', 'manager: job cancelled on this DC', {
      job: m.job,
      acknowledged: outcome.acknowledged,
      unanswered: outcome.unanswered,
    });
    return {
      t: 'dc.cancel-ack',
      job: m.job,
      dc: ctx.dc,
      acknowledged: outcome.acknowledged,
      unanswered: outcome.unanswered,
    };
  }

  private finish(o: CancelOutcome): void {
    const w = this.waiting.get(o.cancelId);
    if (!w) return;
    this.waiting.delete(o.cancelId);
    w.timer.cancel();
    w.resolve(o);
  }
}
