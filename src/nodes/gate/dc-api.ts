// Owns a gate's answers to managers: statistics windows and workflow ends for the jobs this gate
// owns (checked against the job's fence and the sender's own datacenter; acknowledged so the
// manager stops resending, also when the job has ended or is unknown), and the bundles of those
// jobs (`bundle.get`).

import type { ErrorMessage, HandlerResult, RequestContext } from '../../protocol/index.js';
import type { MessageOf } from '../../protocol/messages.js';
import type { DcWindows, DcWorkflowDone, DcWorkflowDoneAckDef } from '../jobs/dc-wire.js';
import { clientError } from '../jobs/client-wire.js';
import type { GateState } from './gate-context.js';

function managerProblem(state: GateState, ctx: RequestContext): ErrorMessage | null {
  const s = ctx.session;
  const secure = state.runtime.stream.secure === true;
  if (s.remoteRole === 'manager' && (!secure || s.authenticated)) return null;
  return clientError('E_UNAUTHENTICATED', 'only managers of this cluster may send this');
}

/** A manager reports for its own datacenter only, and only for one this gate knows. */
function dcProblem(state: GateState, dc: string, ctx: RequestContext): ErrorMessage | null {
  if (!state.dcNames.includes(dc)) {
    return clientError('E_UNKNOWN_DC', `datacenter '${dc}' is not in this cluster`);
  }
  const own = ctx.session.remoteDatacenter;
  if (own !== dc) {
    return clientError(
      'E_UNKNOWN_DC',
      `manager ${ctx.session.remoteNodeId} is in datacenter '${own}'; it may not report for '${dc}'`,
    );
  }
  return null;
}

function staleFence(job: string, fence: number, current: number): ErrorMessage {
  return {
    t: 'error',
    code: 'E_STALE_FENCE',
    message: `job '${job}': fence ${fence} is not the owner's ${current}`,
    details: { fence: current },
  };
}

export function onWindows(state: GateState, m: DcWindows, ctx: RequestContext): HandlerResult {
  const refused = managerProblem(state, ctx) ?? dcProblem(state, m.dc, ctx);
  if (refused !== null) return refused;
  const owned = state.owned.get(m.job);
  if (owned === undefined) {
    // Ended (or never ours): acknowledged as rejected so the manager stops resending.
    if (state.results.get(m.job) !== undefined || state.machine.ledger.job(m.job) !== undefined) {
      return {
        t: 'dc.windows-ack',
        job: m.job,
        merged: 0,
        duplicates: 0,
        rejected: m.windows.length,
      };
    }
    return clientError('E_JOB_UNKNOWN', `this gate runs no job '${m.job}'`);
  }
  if (m.fence !== owned.fence) return staleFence(m.job, m.fence, owned.fence);
  const delivery = owned.windows(m);
  if (delivery === 'not-ready') {
    return {
      t: 'error',
      code: 'E_UNAVAILABLE',
      message: `job '${m.job}' was taken over by this gate, which holds as many resent windows as it may until its replay reaches them; send them again`,
    };
  }
  return { t: 'dc.windows-ack', job: m.job, ...delivery };
}

export function onWorkflowDone(
  state: GateState,
  m: DcWorkflowDone,
  ctx: RequestContext,
): HandlerResult {
  const refused = managerProblem(state, ctx) ?? dcProblem(state, m.dc, ctx);
  const answer = refused ?? workflowDone(state, m);
  state.runtime.log.log('debug', 'workflow end from a datacenter', {
    job: m.job,
    workflow: m.workflow,
    dc: m.dc,
    outcome: m.outcome,
    fence: m.fence,
    manager: ctx.session.remoteNodeId,
    answer: answer.t === 'error' ? answer.code : 'acknowledged',
  });
  return answer;
}

type DoneAck = MessageOf<typeof DcWorkflowDoneAckDef>;

function workflowDone(state: GateState, m: DcWorkflowDone): ErrorMessage | DoneAck {
  const owned = state.owned.get(m.job);
  if (owned === undefined) {
    if (state.results.get(m.job) !== undefined || state.machine.ledger.job(m.job) !== undefined) {
      return { t: 'dc.workflow-done-ack', job: m.job, workflow: m.workflow };
    }
    return clientError('E_JOB_UNKNOWN', `this gate runs no job '${m.job}'`);
  }
  if (m.fence !== owned.fence) return staleFence(m.job, m.fence, owned.fence);
  owned.workflowDone(m);
  return { t: 'dc.workflow-done-ack', job: m.job, workflow: m.workflow };
}

export function onBundleGet(state: GateState, hash: string, ctx: RequestContext): HandlerResult {
  const refused = managerProblem(state, ctx);
  if (refused !== null) return refused;
  const b = state.bundles.get(hash.toLowerCase());
  if (b === undefined) {
    return { t: 'error', code: 'E_BUNDLE_UNKNOWN', message: `this gate holds no bundle ${hash}` };
  }
  return { t: 'bundle.data', hash: hash.toLowerCase(), source: b.source };
}
