// Owns how a gate talks to one datacenter: its configured managers, the leader it last learned
// of, capacity questions (any manager answers, naming the leader), and requests for the leader
// (`dc.dispatch`, `dc.hook`, `dc.cancel`): sent to the known leader, following E_NOT_LEADER
// hints (bounded), and otherwise trying each configured manager in turn before giving up.

import type { DcCapacity } from '../../cluster/jobs/dc-selection.js';
import { errorMessage, type OutgoingMessage, type RpcReply } from '../../protocol/index.js';
import { addressKey, type NodeAddress } from '../../runtime/types.js';
import type { PeerLinks } from './peer-links.js';

/** How many E_NOT_LEADER hints one request follows. */
export const MAX_LEADER_HOPS = 3;
export const DEFAULT_DC_REQUEST_TIMEOUT_MS = 5_000;

function isAddress(v: unknown): v is NodeAddress {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as NodeAddress).host === 'string' &&
    typeof (v as NodeAddress).port === 'number'
  );
}

/** The leader's address an E_NOT_LEADER answer names (`details.leader.address`), if any. */
export function leaderHint(
  details: Readonly<Record<string, unknown>> | undefined,
): NodeAddress | null {
  if (details === undefined) return null;
  const leader = details.leader;
  if (typeof leader === 'object' && leader !== null) {
    const a = (leader as { address?: unknown }).address;
    if (isAddress(a)) return a;
    if (isAddress(leader)) return leader;
  }
  if (isAddress(details.leaderAddress)) return details.leaderAddress;
  return null;
}

export class DcLink {
  private leader: NodeAddress | null = null;
  /** The DC's capacity as last reported, and when (monotonic ms). */
  lastCapacity: { capacity: DcCapacity; atMs: number } | null = null;
  /** Cores this gate has promised to jobs since the last report (the report does not know yet). */
  private reservedCores = 0;

  constructor(
    readonly dc: string,
    private readonly managers: readonly NodeAddress[],
    private readonly links: PeerLinks,
    private readonly timeoutMs: number = DEFAULT_DC_REQUEST_TIMEOUT_MS,
  ) {}

  /** The last report with the cores promised since taken off, or null when none is recent. */
  cachedCapacity(nowMs: number, maxAgeMs: number): DcCapacity | null {
    const last = this.lastCapacity;
    if (last === null || nowMs - last.atMs > maxAgeMs) return null;
    return {
      ...last.capacity,
      freeCores: Math.max(0, last.capacity.freeCores - this.reservedCores),
    };
  }

  /** Counts `cores` as taken until the next report (so a burst of jobs spills over to other DCs). */
  reserve(cores: number): void {
    this.reservedCores += Math.max(0, cores);
  }

  get knownLeader(): NodeAddress | null {
    return this.leader;
  }

  /** Asks the managers (known leader first) for the DC's capacity; null when none answered. */
  async capacity(nowMs: () => number): Promise<DcCapacity | null> {
    for (const to of this.candidates()) {
      const reply = await this.links.request(to, { t: 'dc.capacity' }, this.timeoutMs);
      if (!reply.ok || reply.message.t !== 'dc.capacity-info') continue;
      const m = reply.message as unknown as {
        leader: { address: NodeAddress } | null;
        workers: number;
        healthyWorkers: number;
        totalCores: number;
        freeCores: number;
      };
      if (m.leader !== null) this.leader = m.leader.address;
      const capacity: DcCapacity = {
        workers: m.workers,
        healthyWorkers: m.healthyWorkers,
        totalCores: m.totalCores,
        freeCores: m.freeCores,
      };
      this.lastCapacity = { capacity, atMs: nowMs() };
      this.reservedCores = 0;
      return capacity;
    }
    return null;
  }

  /** Sends `message` to the DC's leader; the reply, or the last error met on the way. */
  async toLeader(message: OutgoingMessage, timeoutMs = this.timeoutMs): Promise<RpcReply> {
    let last: RpcReply = {
      ok: false,
      error: errorMessage('connection_closed', `datacenter ${this.dc} has no managers configured`),
    };
    const tried = new Set<string>();
    for (const first of this.candidates()) {
      let to: NodeAddress | null = first;
      for (let hop = 0; to !== null && hop <= MAX_LEADER_HOPS; hop++) {
        const key = addressKey(to);
        if (tried.has(key)) break;
        tried.add(key);
        last = await this.links.request(to, message, timeoutMs);
        if (last.ok) {
          this.leader = to;
          return last;
        }
        if (last.error.code !== 'E_NOT_LEADER') {
          // A real answer from the leader (refusal) ends the search; a transport failure does not.
          if (!isTransportFailure(last.error.code)) {
            this.leader = to;
            return last;
          }
          if (this.leader !== null && addressKey(this.leader) === key) this.leader = null;
          break;
        }
        to = leaderHint(last.error.details);
        if (to !== null) this.leader = to;
      }
    }
    return last;
  }

  private candidates(): NodeAddress[] {
    const out: NodeAddress[] = [];
    if (this.leader !== null) out.push(this.leader);
    for (const m of this.managers) {
      if (!out.some((a) => addressKey(a) === addressKey(m))) out.push(m);
    }
    return out;
  }
}

function isTransportFailure(code: string): boolean {
  return (
    code === 'connection_closed' ||
    code === 'timeout' ||
    code === 'over_capacity' ||
    code === 'handshake_required' ||
    code === 'idle_timeout'
  );
}
