// Owns `dc.hook` on a manager leader: runs a workflow's setup or teardown once, on one worker
// of the DC (healthy first, most free cores first; the next one if a worker cannot be
// reached, at most `attempts` workers), and answers `dc.hook-result` naming the worker.

import type { MessageOf, RequestContext } from '../../protocol/index.js';
import type { DcHookDef } from '../jobs/dc-wire.js';
import { fail, roleProblem, type ManagerContext } from './context.js';

const RANK = { healthy: 0, busy: 1, degraded: 2, overloaded: 3 } as const;
/** Slack over the hook's own timeout for the worker's answer to arrive. */
export const HOOK_REPLY_SLACK_MS = 2_000;
/** The work-protocol capability a worker lists when it runs hooks. */
export const HOOK_CAPABILITY = 'work.hook';

export class HookCoordinator {
  readonly counters = { hooks: 0, failed: 0 };

  constructor(
    private readonly ctx: ManagerContext,
    private readonly attempts = 2,
  ) {}

  async onHook(m: MessageOf<typeof DcHookDef>, rc: RequestContext): Promise<unknown> {
    const bad = roleProblem(rc, ['gate'], m.t);
    if (bad) return bad;
    const { ctx } = this;
    if (!ctx.leadership.isLeader()) return ctx.leadership.notLeader();
    const fence = ctx.state.checkFence(m.job, m.fence);
    if (!fence.ok) return fail(fence.code, fence.message);
    const now = ctx.now();
    const d = ctx.leadership.dispatcher();
    const offers = ctx.registry
      .offers(now, (id) => d?.reservations.freeCores(id) ?? 0)
      // Only workers that said they run hooks (the capability both sides listed) are asked.
      .filter(
        (o) =>
          ctx.workerConns.has(o.id) &&
          ctx.registry.get(o.id, now)?.capabilities.includes(HOOK_CAPABILITY) === true,
      )
      .sort(
        (a, b) =>
          RANK[a.health] - RANK[b.health] || b.freeCores - a.freeCores || (a.id < b.id ? -1 : 1),
      );
    if (offers.length === 0)
      return fail('E_NO_WORKERS', `no healthy worker in DC '${ctx.dc}' to run ${m.hook}`);
    this.counters.hooks++;
    let lastError = 'no worker answered';
    for (const o of offers.slice(0, this.attempts)) {
      const conn = ctx.workerConns.get(o.id)!;
      const reply = await conn.request(
        {
          t: 'work.hook',
          job: m.job,
          workflow: m.workflow,
          hook: m.hook,
          timeoutMs: m.timeoutMs,
          bundle: m.bundle,
          data: m.data,
          context: m.context,
          ...(m.baseUrl !== undefined ? { baseUrl: m.baseUrl } : {}),
        },
        { timeoutMs: m.timeoutMs + HOOK_REPLY_SLACK_MS },
      );
      if (!reply.ok) {
        lastError = `worker '${o.id}': ${reply.error.message}`;
        ctx.log.log('warn', 'manager: hook could not run on a worker', {
          worker: o.id,
          code: reply.error.code,
        });
        continue;
      }
      const r = reply.message;
      if (r.ok !== true) this.counters.failed++;
      return {
        t: 'dc.hook-result',
        job: m.job,
        workflow: m.workflow,
        hook: m.hook,
        ok: r.ok === true,
        value: r.value ?? null,
        ...(typeof r.error === 'string' ? { error: r.error } : {}),
        worker: o.id,
      };
    }
    this.counters.failed++;
    return {
      t: 'dc.hook-result',
      job: m.job,
      workflow: m.workflow,
      hook: m.hook,
      ok: false,
      value: null,
      error: lastError.slice(0, 4096),
    };
  }
}
