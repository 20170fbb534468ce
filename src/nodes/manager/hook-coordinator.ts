// Owns `dc.hook` on a manager leader: runs a workflow's setup or teardown once, on one worker
// of the DC (healthy first, most free cores first; the next one if a worker cannot be
// reached, at most `attempts` workers), and answers `dc.hook-result` naming the worker; a repeat
// of the same hook of the same job gets that answer without running it again.

import type { MessageOf, RequestContext } from '../../protocol/index.js';
import type { DcHookDef } from '../jobs/dc-wire.js';
import { fail, gateRequestProblem, type ManagerContext } from './context.js';

const RANK = { healthy: 0, busy: 1, degraded: 2, overloaded: 3 } as const;
/** Slack over the hook's own timeout for the worker's answer to arrive. */
export const HOOK_REPLY_SLACK_MS = 2_000;
/** The work-protocol capability a worker lists when it runs hooks. */
export const HOOK_CAPABILITY = 'work.hook';

/** Hook answers kept (running or run) so a repeat — a new owner gate's — does not run it again. */
export const MAX_KEPT_HOOKS = 10_000;

type Hook = MessageOf<typeof DcHookDef>;

export class HookCoordinator {
  readonly counters = { hooks: 0, failed: 0, repeats: 0 };
  /** By (job, workflow, hook): the answer of a hook that ran (or runs) on a worker here. */
  private readonly answers = new Map<string, Promise<unknown>>();

  constructor(
    private readonly ctx: ManagerContext,
    private readonly attempts = 2,
  ) {}

  /**
   * Runs the hook once per (job, workflow, hook) on this leader: a repeat (the same owner's
   * retry, or a new owner gate replaying the job) gets the first answer; an answer no worker
   * gave (none reachable) is not kept, so a repeat tries again.
   */
  onHook(m: Hook, rc: RequestContext): Promise<unknown> {
    const refused = gateRequestProblem(this.ctx, rc, m);
    if (refused) return Promise.resolve(refused);
    const k = JSON.stringify([m.job, m.workflow, m.hook]);
    const known = this.answers.get(k);
    if (known !== undefined) {
      this.counters.repeats++;
      return known;
    }
    const answer = this.run(m).then((a) => {
      const ranOnWorker = (a as { worker?: unknown }).worker !== undefined;
      if (!ranOnWorker && this.answers.get(k) === answer) this.answers.delete(k);
      return a;
    });
    this.answers.set(k, answer);
    if (this.answers.size > MAX_KEPT_HOOKS) {
      const oldest = this.answers.keys().next();
      if (!oldest.done) this.answers.delete(oldest.value);
    }
    return answer;
  }

  /** The job ended: its hook answers go. */
  release(job: string): void {
    for (const k of [...this.answers.keys()]) {
      if ((JSON.parse(k) as string[])[0] === job) this.answers.delete(k);
    }
  }

  private async run(m: Hook): Promise<unknown> {
    const { ctx } = this;
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
