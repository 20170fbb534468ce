// Owns what a manager knows about the DC's leadership: whether it leads (from its Raft node),
// who does (with the address gates should go to), and the dispatcher of the term it leads. A
// new term of this node gets a fresh dispatcher whose fence tokens are above every earlier
// term's; the registered workers' cores are loaded into it at once.

import { DcDispatcher } from '../../cluster/jobs/dc-dispatch.js';
import type { DcApplyResult } from '../../cluster/jobs/dc-state.js';
import type { WorkerRegistry } from '../../cluster/jobs/worker-registry.js';
import type { ErrorMessage } from '../../protocol/index.js';
import type { Logger, NodeAddress } from '../../runtime/types.js';
import type { RaftNode } from '../consensus/raft-node.js';
import { fail, type Leadership } from './context.js';

export class RaftLeadership implements Leadership {
  private node: RaftNode<DcApplyResult> | null = null;
  private current: DcDispatcher | null = null;
  private currentTerm = -1;

  /** The term of the dispatcher this node built last (-1 before it ever led). */
  get term(): number {
    return this.currentTerm;
  }
  /** Called when this node starts leading a new term (after its dispatcher was made). */
  onNewTerm: ((term: number) => void) | null = null;

  constructor(
    private readonly peers: ReadonlyMap<string, NodeAddress>,
    private readonly registry: WorkerRegistry,
    private readonly log: Logger,
    private readonly now: () => number,
    private readonly dispatchConfig: { maxWaitMs: number },
  ) {}

  attach(node: RaftNode<DcApplyResult>): void {
    this.node = node;
  }

  isLeader(): boolean {
    const st = this.node?.status();
    if (!st || st.role !== 'leader') return false;
    this.ensureDispatcher(st.term);
    return true;
  }

  leader(): { nodeId: string; address: NodeAddress } | null {
    const id = this.node?.status().leader ?? null;
    if (id === null) return null;
    const address = this.peers.get(id);
    return address ? { nodeId: id, address } : null;
  }

  dispatcher(): DcDispatcher | null {
    const st = this.node?.status();
    if (st?.role === 'leader') this.ensureDispatcher(st.term);
    return this.current;
  }

  notLeader(): ErrorMessage {
    const l = this.leader();
    return fail(
      'E_NOT_LEADER',
      l
        ? `this manager does not lead the DC; '${l.nodeId}' does`
        : 'this manager does not lead the DC; no leader is known yet',
      { leader: l },
    );
  }

  /** Called on every soft-state change of the Raft node. */
  changed(): void {
    const st = this.node?.status();
    if (st?.role === 'leader') this.ensureDispatcher(st.term);
  }

  private ensureDispatcher(term: number): void {
    if (term === this.currentTerm) return;
    const d = DcDispatcher.create({ term, maxWaitMs: this.dispatchConfig.maxWaitMs });
    if (!('reservations' in d)) {
      this.log.log('error', 'manager: cannot build a dispatcher for this term', {
        term,
        error: d.message,
      });
      return;
    }
    this.currentTerm = term;
    this.current = d;
    for (const w of this.registry.list(this.now())) {
      const r = d.reservations.setWorker(w.id, w.cores);
      if (!r.ok)
        this.log.log('warn', 'manager: worker not loaded into the dispatcher', {
          worker: w.id,
          error: r.message,
        });
    }
    this.log.log('info', 'manager: leading the DC', { term, workers: this.registry.size });
    this.onNewTerm?.(term);
  }
}
