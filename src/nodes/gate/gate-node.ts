// Owns one gate, the client-facing front door of a Salvo cluster, as a composition on the
// Runtime: the job ledger in a Raft group across all gates (LedgerMachine + RaftNode), one
// protocol endpoint shared by Raft, clients (client-api), managers (dc-api) and gates
// (gate.propose / gate.forward), the links to gates and DCs, one supervised tick that streams
// snapshots and drops expired state, and one that checks job deadlines (OverdueJobs). Decides
// nothing itself.

import { SalvoError } from '../../errors.js';
import { WAN_RAFT_CONFIG } from '../../cluster/consensus/config.js';
import { EndedRetention } from '../../cluster/jobs/ended-retention.js';
import type { JobView, LedgerResult } from '../../cluster/jobs/ledger-types.js';
import { RateLimiter } from '../../cluster/jobs/rate-limiter.js';
import { DEFAULT_MAX_BUNDLE_BYTES } from '../../cluster/jobs/submission-check.js';
import type { HandlerResult, LocalIdentity, RequestContext } from '../../protocol/index.js';
import type { NodeAddress, Runtime } from '../../runtime/types.js';
import { RaftNode } from '../consensus/raft-node.js';
import { ProtocolRaftTransport } from '../consensus/transport.js';
import { Supervisor } from '../supervisor.js';
import { CLIENT_MESSAGES } from '../jobs/client-wire.js';
import { background } from './background.js';
import { BundleGetDef, DC_MESSAGES, DcWindowsDef, DcWorkflowDoneDef } from '../jobs/dc-wire.js';
import { clientHandlers, peerGateProblem } from './client-api.js';
import { onBundleGet, onWindows, onWorkflowDone } from './dc-api.js';
import { DcLink } from './dc-link.js';
import { GATE_DEFAULTS, type GateNodeOptions, type GateState } from './gate-context.js';
import { GATE_MESSAGES, GateProposeDef, GateTakeOverDef } from './gate-wire.js';
import { RUN_PROGRAM } from './job-program.js';
import { JobTakeover } from './job-takeover.js';
import { forget, loadResults } from './kept-results.js';
import { LedgerMachine } from './ledger-machine.js';
import { LedgerProposer, sleep } from './ledger-proposer.js';
import { OverdueJobs } from './overdue-jobs.js';
import type { OwnedJob } from './owned-job.js';
import { PeerLinks } from './peer-links.js';
import { onLedgerEvents } from './submissions.js';

export type { GateNodeOptions } from './gate-context.js';

/** Retention sweeps (results kept for late watchers, expired pending submissions) this often. */
const SWEEP_EVERY_MS = 5_000;
/** The leader proposes a ledger `sweep` this often (REFERENCE §4.2 step 11: every 60 s). */
const LEDGER_SWEEP_EVERY_MS = 60_000;

export class GateNode {
  private lastSweepMs = 0;
  private lastLedgerSweepMs = 0;
  private readonly lastPush = new Map<string, number>();

  private constructor(
    readonly state: GateState,
    readonly raft: RaftNode<LedgerResult>,
    private readonly transport: ProtocolRaftTransport,
    private readonly supervisor: Supervisor,
    readonly overdue: OverdueJobs,
    readonly takeover: JobTakeover,
  ) {}

  get id(): string {
    return this.state.selfId;
  }

  /** The ledger as this gate has applied it. */
  get ledger(): GateState['machine']['ledger'] {
    return this.state.machine.ledger;
  }

  get ownedJobs(): ReadonlyMap<string, OwnedJob> {
    return this.state.owned;
  }

  get isLeader(): boolean {
    return this.raft.status().role === 'leader';
  }

  static async start(runtime: Runtime, options: GateNodeOptions): Promise<GateNode> {
    const gates: ReadonlyMap<string, NodeAddress> =
      options.gates instanceof Map ? options.gates : new Map(Object.entries(options.gates));
    const selfAddress = gates.get(options.id);
    if (selfAddress === undefined) {
      throw new SalvoError('E_OPTION', `gate ${options.id} is not one of the configured gates`);
    }
    const identity: LocalIdentity = options.identity ?? {
      nodeId: options.id,
      role: 'gate',
      clusterId: 'salvo',
      environment: 'default',
      datacenter: options.datacenter,
      capabilities: ['raft', 'jobs'],
    };
    const transport = new ProtocolRaftTransport(runtime, options.id, gates, identity);
    transport.registry.register(...CLIENT_MESSAGES, ...DC_MESSAGES, ...GATE_MESSAGES);
    const links = new PeerLinks({ runtime, registry: transport.registry, identity });
    const machine = new LedgerMachine(options.ledger);
    let raftRef: RaftNode<LedgerResult> | null = null;
    const proposer = new LedgerProposer({
      runtime,
      selfId: options.id,
      raft: () => raftRef,
      gates,
      links,
      timeoutMs: options.proposeTimeoutMs ?? GATE_DEFAULTS.proposeTimeoutMs,
    });
    const dcLinks = new Map<string, DcLink>();
    for (const [dc, managers] of Object.entries(options.dcs)) {
      dcLinks.set(
        dc,
        new DcLink(
          dc,
          managers,
          links,
          options.dispatchTimeoutMs ?? GATE_DEFAULTS.dispatchTimeoutMs,
        ),
      );
    }
    const ledgerCfg = options.ledger ?? {};
    const state: GateState = {
      runtime,
      selfId: options.id,
      selfAddress,
      gates,
      dcNames: [...dcLinks.keys()],
      dcLinks,
      machine,
      proposer,
      term: () => raftRef?.status().term ?? 0,
      leader: () => raftRef?.status().leader ?? null,
      caughtUp: () => {
        if (raftRef === null) return false;
        const st = raftRef.status();
        if (st.leader === null || st.appliedIndex < st.commit) return false;
        return st.role !== 'leader' || raftRef.core.termAt(st.commit) === st.term;
      },
      links,
      limiter: new RateLimiter(options.rateLimit),
      program: options.program ?? RUN_PROGRAM,
      owned: new Map(),
      results: new EndedRetention({
        maxEntries: options.maxRetainedResults ?? GATE_DEFAULTS.maxRetainedResults,
        maxAgeMs: ledgerCfg.unsuccessfulRetentionMs ?? 3_600_000,
      }),
      pending: new Map(),
      bundles: new Map(),
      opts: options,
      cfg: {
        ...GATE_DEFAULTS,
        maxBundleBytes: options.maxBundleBytes ?? DEFAULT_MAX_BUNDLE_BYTES,
        snapshotEveryMs: options.snapshotEveryMs ?? GATE_DEFAULTS.snapshotEveryMs,
        proposeTimeoutMs: options.proposeTimeoutMs ?? GATE_DEFAULTS.proposeTimeoutMs,
        capacityMaxAgeMs: options.capacityMaxAgeMs ?? GATE_DEFAULTS.capacityMaxAgeMs,
        dispatchTimeoutMs: options.dispatchTimeoutMs ?? GATE_DEFAULTS.dispatchTimeoutMs,
        coreWaitMs: options.coreWaitMs ?? GATE_DEFAULTS.coreWaitMs,
        cancelTimeoutMs: options.cancelTimeoutMs ?? GATE_DEFAULTS.cancelTimeoutMs,
        maxPendingSubmissions: options.maxPendingSubmissions ?? GATE_DEFAULTS.maxPendingSubmissions,
        overdueGraceMs: options.overdueGraceMs ?? GATE_DEFAULTS.overdueGraceMs,
      },
    };
    const overdue = new OverdueJobs({
      state,
      isLeader: () => raftRef?.status().role === 'leader',
      graceMs: state.cfg.overdueGraceMs,
      onOverdueNotOwned: options.onOverdueNotOwned ?? ((job) => adoptOverdue(state, job)),
    });
    const raftCfg = options.raftConfig ?? WAN_RAFT_CONFIG;
    const takeover = new JobTakeover({
      state,
      overdue,
      isLeader: () => raftRef?.status().role === 'leader',
      quietMs: (gate) => {
        const ticks = raftRef?.core.peerQuietTicks(gate) ?? null;
        return ticks === null ? null : ticks * raftCfg.tickMs;
      },
      ownerLossMs: options.ownerLossMs ?? GATE_DEFAULTS.ownerLossMs,
    });
    // Deadlines first: a job that ends in the same command is then forgotten, not tracked.
    machine.onEvents((events) => overdue.onEvents(events));
    machine.onRestore(() => overdue.rebuild());
    machine.onEvents((events) => takeover.onEvents(events));
    machine.onEvents((events) => onLedgerEvents(state, events));
    // Results kept for late watchers before a restart are read back before anyone asks.
    const loaded = await loadResults(state);
    if (loaded > 0) runtime.log.log('info', 'kept results read back', { results: loaded });
    registerHandlers(state, transport, takeover);
    const raft = await RaftNode.start<LedgerResult>({
      runtime,
      members: gates,
      config: raftCfg,
      stateMachine: machine,
      transport,
      ...(options.snapshotEveryEntries !== undefined
        ? { snapshotEveryEntries: options.snapshotEveryEntries }
        : {}),
    });
    raftRef = raft;
    const supervisor = new Supervisor({
      timers: runtime.timers,
      rng: runtime.rng.fork('gate-supervisor'),
      log: runtime.log.child({ component: 'gate' }),
    });
    const node = new GateNode(state, raft, transport, supervisor, overdue, takeover);
    supervisor.every('gate-tick', GATE_DEFAULTS.tickMs, () => node.tick());
    supervisor.every('overdue-jobs', GATE_DEFAULTS.overdueCheckMs, () => overdue.check());
    supervisor.every('job-takeover', GATE_DEFAULTS.takeoverCheckMs, () => takeover.check());
    runtime.log.log('info', 'gate started', {
      id: options.id,
      dc: options.datacenter,
      gates: gates.size,
      dcs: state.dcNames.length,
    });
    return node;
  }

  /** Snapshots to watchers, expired state. */
  private tick(): void {
    const s = this.state;
    const now = s.runtime.clock.monotonicMs();
    for (const [job, owned] of s.owned) {
      if (owned.watcherCount === 0) continue;
      if (now - (this.lastPush.get(job) ?? 0) < s.cfg.snapshotEveryMs) continue;
      this.lastPush.set(job, now);
      const v = s.machine.ledger.job(job);
      if (v !== undefined) owned.pushSnapshot(v.status, { ...v.dcs });
    }
    for (const job of this.lastPush.keys()) if (!s.owned.has(job)) this.lastPush.delete(job);
    if (now - this.lastSweepMs < SWEEP_EVERY_MS) return;
    this.lastSweepMs = now;
    // The ledger evicts expired jobs when a command arrives: the leader sends one now and then.
    if (this.isLeader && now - this.lastLedgerSweepMs >= LEDGER_SWEEP_EVERY_MS) {
      this.lastLedgerSweepMs = now;
      background(
        s.runtime.log,
        'ledger sweep',
        s.proposer.propose({ type: 'sweep', atMs: s.runtime.clock.wallMs() }).then((out) => {
          if (!out.ok) s.runtime.log.log('warn', 'ledger sweep not taken', { error: out.message });
        }),
      );
    }
    forget(s, s.results.sweep(s.runtime.clock.wallMs()));
    for (const [job, p] of s.pending) if (p.untilMs <= now) s.pending.delete(job);
  }

  /**
   * Before a graceful stop: each running job this gate owns is handed to a peer (the ledger
   * leader, or the first peer that answers), which claims it with the next fence and replays it;
   * waits until the ledger shows the jobs moved (at most HANDOVER_WAIT_MS).
   */
  private async handOverJobs(): Promise<void> {
    const s = this.state;
    const jobs = [...s.owned.values()].filter((j) => !j.ended).map((j) => j.job);
    if (jobs.length === 0) return;
    const leader = s.leader();
    const peers = [...s.gates.keys()].filter((g) => g !== s.selfId);
    const order =
      leader !== null && leader !== s.selfId
        ? [leader, ...peers.filter((g) => g !== leader)]
        : peers;
    const until = s.runtime.clock.monotonicMs() + HANDOVER_WAIT_MS;
    await Promise.all(
      jobs.map(async (job) => {
        for (const peer of order) {
          const address = s.gates.get(peer);
          if (address === undefined || s.runtime.clock.monotonicMs() >= until) continue;
          const reply = await s.links.request(address, { t: 'gate.take-over', job }, 2_000);
          if (reply.ok) {
            s.runtime.log.log('info', 'job handed to a peer before stopping', { job, peer });
            return;
          }
        }
      }),
    );
    const moved = (): boolean =>
      jobs.every((job) => s.machine.ledger.job(job)?.ownerGate !== s.selfId);
    while (!moved() && s.runtime.clock.monotonicMs() < until) await sleep(s.runtime, 100);
    if (!moved()) s.runtime.log.log('warn', 'some jobs did not move before the gate stopped', {});
  }

  /**
   * Stops serving: the tick, the reporters of the jobs it owns (closed, their buffers dropped),
   * the links, the Raft node (handing leadership on when asked).
   */
  async stop(options: { transfer?: boolean } = {}): Promise<void> {
    if (options.transfer === true) await this.handOverJobs();
    this.supervisor.stop();
    await Promise.all(
      [...this.state.owned.values()].map((job) => job.stopReporting('the gate is stopping')),
    );
    this.state.links.close();
    await this.raft.stop(options);
    await this.transport.close();
  }
}

/** How long a stopping gate waits for its jobs to move to a peer. */
const HANDOVER_WAIT_MS = 5_000;

/**
 * An overdue job whose owner did not end it within the grace (the owner is down, or lost the
 * job with a restart) moves to this gate, the ledger leader, with a higher fence; as its owner
 * without a running program, this gate then ends it through the ledger (its unfinished DCs
 * cancelled and timed out), so every acknowledged job ends.
 */
function adoptOverdue(state: GateState, job: JobView): void {
  const log = state.runtime.log;
  log.log('warn', 'taking over an overdue job its owner did not end', {
    job: job.jobId,
    owner: job.ownerGate,
  });
  background(
    log,
    `taking over ${job.jobId}`,
    state.proposer
      .propose({
        type: 'transfer-owner',
        atMs: state.runtime.clock.wallMs(),
        jobId: job.jobId,
        ownerGate: state.selfId,
        fence: job.fence + 1,
      })
      .then((out) => {
        if (!out.ok || out.result.ok !== true) {
          log.log('warn', 'overdue job not taken over', {
            job: job.jobId,
            error: out.ok ? JSON.stringify(out.result) : out.message,
          });
        }
      }),
  );
}

function registerHandlers(
  state: GateState,
  transport: ProtocolRaftTransport,
  takeover: JobTakeover,
): void {
  const server = transport.server;
  for (const [type, handler] of Object.entries(clientHandlers(state))) {
    server.handle(type, handler as (m: unknown, ctx: RequestContext) => HandlerResult);
  }
  server.handle(GateProposeDef, async (m, ctx) => {
    const refused = peerGateProblem(state, ctx);
    if (refused !== null) return refused;
    const out = await state.proposer.propose(m.command, m.via);
    if (!out.ok) return { t: 'error', code: out.code, message: out.message };
    return { t: 'gate.proposed', result: out.result };
  });
  server.handle(GateTakeOverDef, (m, ctx) => {
    const refused = peerGateProblem(state, ctx);
    if (refused !== null) return refused;
    if (!takeover.takeOverFrom(ctx.session.remoteNodeId, m.job)) {
      return {
        t: 'error',
        code: 'E_UNAVAILABLE',
        message: `gate ${state.selfId} cannot take ${m.job} over now`,
      };
    }
    return { t: 'gate.taking-over', job: m.job };
  });
  server.handle(DcWindowsDef, (m, ctx) => onWindows(state, m, ctx));
  server.handle(DcWorkflowDoneDef, (m, ctx) => onWorkflowDone(state, m, ctx));
  server.handle(BundleGetDef, (m, ctx) => onBundleGet(state, m.hash, ctx));
}
