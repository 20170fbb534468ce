// Owns getting a command into the gate ledger from any gate: proposed locally when this gate
// leads the Raft group, else handed to the leader it knows (`gate.propose`, carrying the gates
// it passed through: a loop or a path over MAX_FORWARD_HOPS is refused), retried with backoff
// through elections until an overall deadline. Ledger commands are idempotent (a repeated
// submit gets the original answer), so a retry after an unknown outcome is safe.

import type { LedgerResult } from '../../cluster/jobs/ledger-types.js';
import type { RaftNode } from '../consensus/raft-node.js';
import type { NodeAddress, Runtime } from '../../runtime/types.js';
import { MAX_FORWARD_HOPS } from './gate-wire.js';
import type { PeerLinks } from './peer-links.js';

/** How long a proposal may take, elections and hand-offs included. */
export const DEFAULT_PROPOSE_TIMEOUT_MS = 10_000;
/** Wait between attempts while there is no leader (doubling, capped). */
const RETRY_BASE_MS = 20;
const RETRY_MAX_MS = 500;

export type ProposeOutcome =
  | { readonly ok: true; readonly result: LedgerResult }
  | {
      readonly ok: false;
      /** E_UNAVAILABLE: no leader took it in time; E_FORWARD_LOOP: the hand-off went in a circle. */
      readonly code: 'E_UNAVAILABLE' | 'E_FORWARD_LOOP';
      readonly message: string;
    };

export interface LedgerProposerOptions {
  readonly runtime: Runtime;
  readonly selfId: string;
  readonly raft: () => RaftNode<LedgerResult> | null;
  readonly gates: ReadonlyMap<string, NodeAddress>;
  readonly links: PeerLinks;
  readonly timeoutMs?: number;
}

const encoder = new TextEncoder();

export function sleep(runtime: Runtime, ms: number): Promise<void> {
  return new Promise((resolve) => runtime.timers.after(ms, resolve));
}

function isLedgerResult(v: unknown): v is LedgerResult {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as { ok?: unknown }).ok === 'boolean' &&
    Array.isArray((v as { events?: unknown }).events)
  );
}

export class LedgerProposer {
  /** Proposals handed to another gate, and hand-offs refused as loops (for tests and metrics). */
  readonly stats = { local: 0, forwarded: 0, loops: 0, retries: 0 };

  constructor(private readonly o: LedgerProposerOptions) {}

  /** Proposes `command`; `via` lists the gates it already passed through (forwarded to us). */
  async propose(command: unknown, via: readonly string[] = []): Promise<ProposeOutcome> {
    const rt = this.o.runtime;
    const self = this.o.selfId;
    if (via.includes(self) || via.length > MAX_FORWARD_HOPS) {
      this.stats.loops++;
      return {
        ok: false,
        code: 'E_FORWARD_LOOP',
        message: `ledger proposal passed ${via.join(' → ')} and came back or went too far`,
      };
    }
    const deadline = rt.clock.monotonicMs() + (this.o.timeoutMs ?? DEFAULT_PROPOSE_TIMEOUT_MS);
    const data = encoder.encode(JSON.stringify(command));
    let attempt = 0;
    let lastProblem = 'no gate leads the ledger';
    for (;;) {
      const remaining = deadline - rt.clock.monotonicMs();
      if (remaining <= 0) break;
      if (attempt > 0) {
        this.stats.retries++;
        await sleep(
          rt,
          Math.min(remaining, RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(attempt, 10)),
        );
      }
      attempt++;
      const raft = this.o.raft();
      if (raft === null) {
        lastProblem = 'the ledger is not started on this gate';
        continue;
      }
      const st = raft.status();
      if (st.role === 'leader') {
        this.stats.local++;
        const out = await raft.propose(data, {
          timeoutMs: Math.max(1, deadline - rt.clock.monotonicMs()),
        });
        if (out.ok) return { ok: true, result: out.result };
        lastProblem = `${out.code}: ${out.detail}`;
        if (out.code === 'stopped' || out.code === 'rejected') break;
        continue;
      }
      const leader = st.leader;
      if (leader === null || leader === self) continue;
      if (via.includes(leader)) {
        // The leader we know sent this to us: views disagree during an election; wait it out.
        lastProblem = `gate ${leader} and this gate each think the other leads`;
        continue;
      }
      const address = this.o.gates.get(leader);
      if (address === undefined) {
        lastProblem = `the leader ${leader} is not a configured gate`;
        continue;
      }
      this.stats.forwarded++;
      const reply = await this.o.links.request(
        address,
        { t: 'gate.propose', command, via: [...via, self] },
        Math.max(1, deadline - rt.clock.monotonicMs()),
      );
      if (reply.ok) {
        const result = reply.message.result;
        if (isLedgerResult(result)) return { ok: true, result };
        lastProblem = `gate ${leader} answered with something that is not a ledger result`;
        continue;
      }
      lastProblem = `gate ${leader}: ${reply.error.code}: ${reply.error.message}`;
      if (reply.error.code === 'E_FORWARD_LOOP') {
        this.stats.loops++;
        return { ok: false, code: 'E_FORWARD_LOOP', message: reply.error.message };
      }
    }
    return {
      ok: false,
      code: 'E_UNAVAILABLE',
      message: `the job ledger did not take the command in time (${lastProblem})`,
    };
  }
}
