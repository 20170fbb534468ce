// Owns the gate's configuration (with its documented defaults) and the shared state its
// coordinators work on: the ledger, the proposer, the links to gates and DCs, the jobs this gate
// owns, the results it keeps for late watchers and the bundles it serves. Data and wiring only.

import type { EndedRetention } from '../../cluster/jobs/ended-retention.js';
import type { JobView, LedgerConfig } from '../../cluster/jobs/ledger-types.js';
import type { RateLimiter, RateLimiterConfig } from '../../cluster/jobs/rate-limiter.js';
import type { RaftConfig } from '../../cluster/consensus/config.js';
import type { LocalIdentity } from '../../protocol/index.js';
import type { ReporterConfig } from '../../reporters/config.js';
import type { JobReportingOptions } from '../../reporters/job-reporting.js';
import type { NodeAddress, Runtime } from '../../runtime/types.js';
import type { JobResult } from '../jobs/client-wire.js';
import type { DcLink } from './dc-link.js';
import type { ProgramFactory } from './job-program.js';
import type { LedgerMachine } from './ledger-machine.js';
import type { LedgerProposer } from './ledger-proposer.js';
import type { OwnedJob } from './owned-job.js';
import type { PeerLinks } from './peer-links.js';

export interface GateNodeOptions {
  readonly datacenter: string;
  readonly id: string;
  /** Every gate of the cluster (this one included) by id: the ledger's Raft members. */
  readonly gates: ReadonlyMap<string, NodeAddress> | Readonly<Record<string, NodeAddress>>;
  /** Every datacenter's manager addresses. */
  readonly dcs: Readonly<Record<string, readonly NodeAddress[]>>;
  /** This gate's identity on the wire (default: an insecure gate identity from id and DC). */
  readonly identity?: LocalIdentity;
  readonly raftConfig?: RaftConfig;
  readonly ledger?: Partial<LedgerConfig>;
  readonly rateLimit?: Partial<RateLimiterConfig>;
  /** Access tokens the gate accepts (token → client name). */
  readonly tokens?: ReadonlyMap<string, string>;
  /** Accept clients without certificate or token (a cluster run --insecure). Default false. */
  readonly allowUnauthenticated?: boolean;
  readonly maxBundleBytes?: number;
  /** What runs an owned job (default: the sequential program). */
  readonly program?: ProgramFactory;
  /**
   * Where the jobs this gate owns write their file reports (`<reportsDir>/<job>/`) and how their
   * reporters are driven. Default: no report directory, so a job carrying reporters is refused
   * (its series and per-DC breakdown are still kept in its results).
   */
  readonly reporting?: JobReportingOptions;
  readonly snapshotEveryMs?: number;
  readonly proposeTimeoutMs?: number;
  /** How long a DC's reported capacity is trusted for DC choice. */
  readonly capacityMaxAgeMs?: number;
  readonly dispatchTimeoutMs?: number;
  /**
   * How long a manager may hold a dispatch while its share waits for free cores (the manager's
   * own wait, 30 s by default); added to the dispatch timeout so a queued share is not failed.
   */
  readonly coreWaitMs?: number;
  readonly cancelTimeoutMs?: number;
  /** Submissions waiting for their ledger commit at once. */
  readonly maxPendingSubmissions?: number;
  /** Results of ended jobs kept for late watchers (count; age follows the ledger). */
  readonly maxRetainedResults?: number;
  readonly snapshotEveryEntries?: number;
  /**
   * How long past its deadline a job its owner has not ended waits before the ledger leader
   * reports it to `onOverdueNotOwned` (at once when the owner is not a configured gate).
   */
  readonly overdueGraceMs?: number;
  /** An overdue job no live gate ended (its owner is down or gone): for ownership transfer. */
  readonly onOverdueNotOwned?: (job: JobView, overdueMs: number) => void;
  /** How long a job's owner may not answer the ledger leader before the job moves to it. */
  readonly ownerLossMs?: number;
}

export const GATE_DEFAULTS = {
  snapshotEveryMs: 500,
  proposeTimeoutMs: 10_000,
  capacityMaxAgeMs: 2_000,
  dispatchTimeoutMs: 5_000,
  coreWaitMs: 30_000,
  cancelTimeoutMs: 10_000,
  maxPendingSubmissions: 10_000,
  maxRetainedResults: 256,
  /** A submission whose commit was not seen is forgotten after this long. */
  pendingSubmissionTtlMs: 60_000,
  tickMs: 250,
  /** Job deadlines are checked this often. */
  overdueCheckMs: 500,
  overdueGraceMs: 30_000,
  /** Owner silence (to the ledger leader) after which its jobs move; 5–10 WAN election timeouts. */
  ownerLossMs: 10_000,
  /** Orphaned jobs are looked for this often. */
  takeoverCheckMs: 1_000,
} as const;

/** What an accepted submission brings that the ledger does not keep (the owner needs it). */
export interface PendingSubmission {
  readonly job: string;
  readonly plan: unknown;
  readonly bundle: { readonly hash: string; readonly sizeBytes: number; readonly file: string };
  readonly source: string;
  /** The job's reporters, validated. */
  readonly reports: readonly ReporterConfig[];
  readonly untilMs: number;
}

export interface GateState {
  readonly runtime: Runtime;
  readonly selfId: string;
  readonly selfAddress: NodeAddress;
  readonly gates: ReadonlyMap<string, NodeAddress>;
  readonly dcNames: readonly string[];
  readonly dcLinks: ReadonlyMap<string, DcLink>;
  readonly machine: LedgerMachine;
  readonly proposer: LedgerProposer;
  /** The ledger's Raft term as this gate knows it (a new job's fence). */
  readonly term: () => number;
  /** The ledger leader this gate knows of, if any. */
  readonly leader: () => string | null;
  /**
   * True once this gate knows a leader and has applied the ledger up to the commit index it
   * learned (a leader: up to an entry of its own term). Until then a job missing from its copy
   * may simply not be applied yet (a gate just restarted replays its log).
   */
  readonly caughtUp: () => boolean;
  readonly links: PeerLinks;
  readonly limiter: RateLimiter;
  readonly program: ProgramFactory;
  readonly owned: Map<string, OwnedJob>;
  readonly results: EndedRetention<JobResult>;
  readonly pending: Map<string, PendingSubmission>;
  /** Bundle sources by hash, for `bundle.get` (held while an owned job uses them). */
  readonly bundles: Map<string, { source: string; users: number }>;
  readonly opts: GateNodeOptions;
  readonly cfg: { readonly [K in keyof typeof GATE_DEFAULTS]: number } & {
    readonly maxBundleBytes: number;
  };
}
