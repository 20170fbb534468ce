// Test support: three real gates (GateNode) on the simulated runtime, small fake managers that
// speak dc-wire (capacity, dispatch with E_NOT_LEADER for followers, windows and workflow-done
// back to the owner gate, cancel with acknowledgements), and a client that talks job.* to any
// gate. The fakes record what they were sent so tests can assert on it.

import type { LedgerEvent } from '../../../../src/cluster/jobs/ledger-types.js';
import { sha256Hex } from '../../../../src/cluster/jobs/submission-check.js';
import {
  MessageRegistry,
  ProtocolServer,
  type AnyMessage,
  type LocalIdentity,
  type RpcConnection,
  type RpcReply,
  type ProtocolVersion,
  type Session,
} from '../../../../src/protocol/index.js';
import type { Simulation } from '../../../../src/runtime/sim/index.js';
import type { NodeAddress, Runtime } from '../../../../src/runtime/types.js';
import { CLIENT_MESSAGES } from '../../../../src/nodes/jobs/client-wire.js';
import { DC_MESSAGES, type DcDispatch } from '../../../../src/nodes/jobs/dc-wire.js';
import { GateNode, type GateNodeOptions } from '../../../../src/nodes/gate/gate-node.js';
import { PeerLinks } from '../../../../src/nodes/gate/peer-links.js';
import { Histogram } from '../../../../src/stats/histogram.js';
import type { StatsWindow } from '../../../../src/stats/types.js';
import { SIM_RAFT_CONFIG } from '../../../cluster/consensus/support/sim-cluster.js';

export const PORT = 7000;
export const GATE_IDS = ['g1', 'g2', 'g3'] as const;
/** Gates span DCs: g1 and g3 in a, g2 in b. */
export const GATE_DCS: Record<string, string> = { g1: 'a', g2: 'b', g3: 'a' };

export function addr(dc: string, id: string): NodeAddress {
  return { host: `${dc}/${id}`, port: PORT };
}

/** complete/fail: windows then workflow-done; hang: nothing; hold: windows, then nothing. */
export type ManagerMode = 'complete' | 'fail' | 'hang' | 'hold' | 'no-workers';

export interface FakeManagerSpec {
  readonly id: string;
  readonly dc: string;
  leader: boolean;
  /** Never answers dc.dispatch (a manager that dies before its acknowledgement). */
  silentDispatch?: boolean;
  readonly workers?: number;
  readonly cores?: number;
  mode?: ManagerMode;
  /** Windows each accepted dispatch sends before its workflow-done. */
  readonly windows?: number;
  readonly runMs?: number;
  /** Send every windows batch twice, and every workflow-done twice (a manager that retries). */
  readonly repeat?: boolean;
  /** Send a batch's windows highest seq first. */
  readonly reverse?: boolean;
  /** Values this DC's parts publish for a dispatch (default none), as a worker would report them. */
  readonly publish?: (d: DcDispatch) => Record<string, { value: unknown; atMs: number }>;
  /** Each running (not ended) dispatch takes this many cores from the free cores reported. */
  readonly coresPerDispatch?: number;
  /** Free cores reported by `dc.capacity` (default: every core); may change during a test. */
  freeCores?: number;
  /** The protocol version this manager's hello declares (default: Salvo's). */
  readonly protocol?: ProtocolVersion;
  /** Capabilities this manager advertises (default: ['jobs']). */
  readonly capabilities?: readonly string[];
  /** Refuse the next `times` dispatches with `code` and a retry-after (a loaded leader). */
  refuse?: { code: string; retryAfterMs: number; times: number };
}

/** One window of `requests` requests (all ok) of 1 ms latency. */
export function statsWindow(workflow: string, seq: number, requests: number): StatsWindow {
  const h = new Histogram();
  for (let i = 0; i < requests; i++) h.record(1000);
  return {
    workflow,
    seq,
    startMs: 1000 * seq,
    endMs: 1000 * seq + 1000,
    activeVus: 1,
    allocatedVus: 1,
    iterations: { started: requests, completed: requests, failed: 0, dropped: 0 },
    steps: {
      get: {
        count: requests,
        ok: requests,
        failed: 0,
        errors: {},
        errorSamples: {},
        statuses: { '200': requests },
        latency: h.toSparse(),
      },
    },
    checks: {},
    metrics: {},
  };
}

const MANAGER_IDENTITY = (s: FakeManagerSpec): LocalIdentity => ({
  nodeId: s.id,
  role: 'manager',
  clusterId: 'salvo',
  environment: 'default',
  datacenter: s.dc,
  capabilities: [...(s.capabilities ?? ['jobs'])],
  ...(s.protocol !== undefined ? { protocol: s.protocol } : {}),
});

export class FakeManager {
  readonly dispatches: DcDispatch[] = [];
  readonly cancels: AnyMessage[] = [];
  /** Acknowledgements the gate sent back for windows and workflow ends. */
  readonly acks: AnyMessage[] = [];
  /** Windows requests sent (each request counted once, retries included). */
  windowsSent = 0;
  /** When (monotonic ms) each dispatch reached this manager, refused ones included. */
  readonly dispatchTimes: number[] = [];
  /** `dc.capacity` questions answered. */
  capacityAsks = 0;
  /** The session (as this manager agreed it) of every request a gate sent, in order. */
  readonly sessions: Session[] = [];
  /** `dc.adopt` requests taken (a job moved to another owner gate). */
  readonly adopts: AnyMessage[] = [];
  private readonly running = new Map<
    string,
    { dispatch: DcDispatch; ended: boolean; outcome?: 'completed' | 'failed' | 'cancelled' }
  >();
  private links: PeerLinks | null = null;
  private rt: Runtime | null = null;

  constructor(
    readonly spec: FakeManagerSpec,
    private readonly leaderAddress: () => NodeAddress,
  ) {}

  boot(rt: Runtime): Promise<void> {
    this.rt = rt;
    const registry = new MessageRegistry().register(...DC_MESSAGES);
    const identity = MANAGER_IDENTITY(this.spec);
    this.links = new PeerLinks({ runtime: rt, registry, identity });
    const server = new ProtocolServer({
      stream: rt.stream,
      timers: rt.timers,
      registry,
      identity,
      log: rt.log,
    });
    const s = this.spec;
    const workers = s.workers ?? 2;
    const cores = s.cores ?? 4;
    server.handle('dc.capacity', (_m, ctx) => {
      this.capacityAsks++;
      this.sessions.push(ctx.session);
      return {
        t: 'dc.capacity-info',
        dc: s.dc,
        leader: { nodeId: `${s.dc}-leader`, address: this.leaderAddress() },
        workers: s.mode === 'no-workers' ? 0 : workers,
        healthyWorkers: s.mode === 'no-workers' ? 0 : workers,
        totalCores: s.mode === 'no-workers' ? 0 : workers * cores,
        freeCores:
          s.mode === 'no-workers'
            ? 0
            : Math.max(
                0,
                (s.freeCores ?? workers * cores) - (s.coresPerDispatch ?? 0) * this.runningCount(),
              ),
      };
    });
    server.handle('dc.dispatch', (m, ctx) => {
      const d = m as unknown as DcDispatch;
      this.sessions.push(ctx.session);
      if (s.silentDispatch === true) return new Promise<never>(() => undefined);
      if (!s.leader) return this.notLeader();
      this.dispatchTimes.push(rt.clock.monotonicMs());
      if (s.refuse !== undefined && s.refuse.times > 0) {
        s.refuse.times--;
        return {
          t: 'error',
          code: s.refuse.code,
          message: `${s.id} is busy; retry later`,
          details: { retryAfterMs: s.refuse.retryAfterMs },
        };
      }
      if (s.mode === 'no-workers') {
        return { t: 'error', code: 'E_NO_WORKERS', message: `${s.dc} has no workers` };
      }
      const key = `${d.job}/${d.workflow}`;
      const duplicate = this.running.has(key);
      if (!duplicate) {
        this.dispatches.push(d);
        this.running.set(key, { dispatch: d, ended: false });
        this.play(d);
      }
      return {
        t: 'dc.accepted',
        job: d.job,
        dc: s.dc,
        workflow: d.workflow,
        managerFence: 1,
        workers: ['w1', 'w2'].slice(0, workers),
        cores: workers * cores,
        duplicate,
      };
    });
    server.handle('dc.adopt', (m) => {
      // As a manager leader does: the job's work reports to the new owner from now on, and what
      // ended already is sent to it again (windows, then the end).
      if (!s.leader) return this.notLeader();
      this.adopts.push(m);
      const job = m.job as string;
      const workflows: Record<string, string | null> = {};
      for (const [key, r] of this.running) {
        if (!key.startsWith(`${job}/`)) continue;
        r.dispatch = {
          ...r.dispatch,
          fence: m.fence as number,
          ownerGate: m.ownerGate as string,
          ownerAddress: m.ownerAddress as NodeAddress,
        };
        workflows[r.dispatch.workflow] = r.ended ? (r.outcome ?? 'completed') : null;
        if (r.ended && r.outcome !== undefined) void this.replay(r.dispatch, r.outcome);
      }
      return { t: 'dc.adopted', job, dc: s.dc, workflows, requeued: 0, complete: true };
    });
    server.handle('dc.cancel', (m) => {
      this.cancels.push(m);
      const job = m.job as string;
      for (const [key, r] of this.running) {
        if (!key.startsWith(`${job}/`) || r.ended) continue;
        if (m.workflow !== undefined && r.dispatch.workflow !== m.workflow) continue;
        r.ended = true;
        r.outcome = 'cancelled';
        void this.sendDone(r.dispatch, 'cancelled');
      }
      return {
        t: 'dc.cancel-ack',
        job,
        dc: s.dc,
        acknowledged: [`${s.dc}-w1`],
        unanswered: [],
      };
    });
    return server.start().then(() => undefined);
  }

  private notLeader(): AnyMessage {
    const s = this.spec;
    return {
      t: 'error',
      code: 'E_NOT_LEADER',
      message: `${s.id} does not lead ${s.dc}`,
      details: { leader: { nodeId: `${s.dc}-leader`, address: this.leaderAddress() } },
    };
  }

  /** Dispatches accepted and not ended yet. */
  runningCount(): number {
    let n = 0;
    for (const r of this.running.values()) if (!r.ended) n++;
    return n;
  }

  private play(d: DcDispatch): void {
    const rt = this.rt;
    if (rt === null) return;
    const s = this.spec;
    rt.timers.after(s.runMs ?? 200, () => {
      void (async () => {
        const r = this.running.get(`${d.job}/${d.workflow}`);
        if (r === undefined || r.ended) return;
        if (s.mode === 'hang') return;
        // The owner now (a `dc.adopt` may have moved the job since the dispatch).
        const now = r.dispatch;
        const batch = this.windowsOf(now);
        await this.send(now.ownerAddress, batch);
        if (s.repeat === true) await this.send(now.ownerAddress, batch);
        if (r.ended || s.mode === 'hold') return;
        r.ended = true;
        r.outcome = s.mode === 'fail' ? 'failed' : 'completed';
        await this.sendDone(r.dispatch, r.outcome);
      })();
    });
  }

  private windowsOf(d: DcDispatch): Record<string, unknown> & { t: string } {
    const s = this.spec;
    const windows = Array.from({ length: s.windows ?? 2 }, (_, i) => ({
      source: `${s.dc}-w1#1/0`,
      workflow: d.workflow,
      seq: i + 1,
      window: statsWindow(d.workflow, i + 1, 10),
    }));
    if (s.reverse === true) windows.reverse();
    return { t: 'dc.windows', job: d.job, dc: s.dc, fence: d.fence, windows };
  }

  /** Sends an ended workflow's windows and end again (to a new owner). */
  private async replay(
    d: DcDispatch,
    outcome: 'completed' | 'failed' | 'cancelled',
  ): Promise<void> {
    if (this.spec.mode !== 'hang') await this.send(d.ownerAddress, this.windowsOf(d));
    await this.sendDoneOnce(d, outcome);
  }

  /** Ends a held or hanging workflow now (as the DC would once its workers finish). */
  finish(job: string, workflow: string, outcome: 'completed' | 'failed' | 'cancelled'): void {
    const r = this.running.get(`${job}/${workflow}`);
    if (r === undefined || r.ended) return;
    r.ended = true;
    r.outcome = outcome;
    void this.sendDone(r.dispatch, outcome);
  }

  /** Sends any message to a gate as this manager (for tests of odd traffic). */
  sendRaw(to: NodeAddress, m: Record<string, unknown> & { t: string }): Promise<RpcReply> {
    if (this.links === null) throw new Error('manager not booted');
    return this.links.request(to, m, 2_000);
  }

  private async sendDone(
    d: DcDispatch,
    outcome: 'completed' | 'failed' | 'cancelled',
  ): Promise<void> {
    const times = this.spec.repeat === true ? 2 : 1;
    for (let i = 0; i < times; i++) await this.sendDoneOnce(d, outcome);
  }

  private async sendDoneOnce(
    d: DcDispatch,
    outcome: 'completed' | 'failed' | 'cancelled',
  ): Promise<void> {
    await this.send(d.ownerAddress, {
      t: 'dc.workflow-done',
      job: d.job,
      dc: this.spec.dc,
      fence: d.fence,
      workflow: d.workflow,
      outcome,
      parts: [
        {
          worker: `${this.spec.dc}-w1`,
          ...(outcome === 'failed' ? { failure: 'the target refused every request' } : {}),
          published: outcome === 'completed' ? (this.spec.publish?.(d) ?? {}) : {},
          network: { requests: 20, bytesSent: 0, bytesReceived: 0 },
          interrupted: 0,
          notes: [],
        },
      ],
    });
  }

  private async send(to: NodeAddress, m: Record<string, unknown> & { t: string }): Promise<void> {
    if (this.links === null) return;
    if (m.t === 'dc.windows') this.windowsSent++;
    for (let attempt = 0; attempt < 5; attempt++) {
      const reply = await this.links.request(to, m, 2_000);
      if (reply.ok) {
        this.acks.push(reply.message);
        return;
      }
    }
  }
}

export interface ClusterOptions {
  readonly managers?: readonly FakeManagerSpec[];
  readonly gate?: Partial<GateNodeOptions>;
}

export const DEFAULT_MANAGERS: readonly FakeManagerSpec[] = [
  { id: 'a-m1', dc: 'a', leader: false },
  { id: 'a-m2', dc: 'a', leader: true },
  { id: 'b-m1', dc: 'b', leader: true },
];

/** DC a completes what it is sent; DC b's leader takes dispatches and never reports. */
export const A_DONE_B_HANGS: readonly FakeManagerSpec[] = [
  { id: 'a-m1', dc: 'a', leader: true },
  { id: 'b-m1', dc: 'b', leader: true, mode: 'hang' },
];

export class GateCluster {
  readonly gates = new Map<string, GateNode>();
  readonly managers = new Map<string, FakeManager>();
  readonly gateAddresses = new Map<string, NodeAddress>();

  constructor(
    readonly sim: Simulation,
    opts: ClusterOptions = {},
  ) {
    const specs = (opts.managers ?? DEFAULT_MANAGERS).map((m) => ({ ...m }));
    const dcs: Record<string, NodeAddress[]> = {};
    for (const m of specs) (dcs[m.dc] ??= []).push(addr(m.dc, m.id));
    for (const id of GATE_IDS) this.gateAddresses.set(id, addr(GATE_DCS[id] ?? 'a', id));
    for (const m of specs) {
      const fake = new FakeManager(m, () => {
        const leader = specs.find((x) => x.dc === m.dc && x.leader) ?? m;
        return addr(leader.dc, leader.id);
      });
      this.managers.set(m.id, fake);
      sim.addNode({ id: m.id, dc: m.dc }, (rt) => fake.boot(rt));
    }
    for (const id of GATE_IDS) {
      sim.addNode({ id, dc: GATE_DCS[id] ?? 'a' }, async (rt) => {
        const gate = await GateNode.start(rt, {
          datacenter: GATE_DCS[id] ?? 'a',
          id,
          gates: this.gateAddresses,
          dcs,
          raftConfig: SIM_RAFT_CONFIG,
          allowUnauthenticated: true,
          cancelTimeoutMs: 2_000,
          ...opts.gate,
        });
        this.gates.set(id, gate);
      });
    }
  }

  gate(id: string): GateNode {
    const g = this.gates.get(id);
    if (g === undefined) throw new Error(`gate ${id} not started`);
    return g;
  }

  leader(): string | null {
    for (const [id, g] of this.gates) if (this.sim.node(id).up && g.isLeader) return id;
    return null;
  }

  async waitForLeader(maxMs = 10_000): Promise<string> {
    const ok = await this.sim.runUntil(() => this.gates.size === 3 && this.leader() !== null, {
      maxMs,
    });
    const l = this.leader();
    if (!ok || l === null) throw new Error(`no gate leads the ledger within ${maxMs} ms`);
    return l;
  }

  manager(id: string): FakeManager {
    const m = this.managers.get(id);
    if (m === undefined) throw new Error(`no manager ${id}`);
    return m;
  }

  /** Every dispatch any fake manager accepted. */
  allDispatches(): DcDispatch[] {
    return [...this.managers.values()].flatMap((m) => m.dispatches);
  }
}

/** A client node speaking job.* to gates (by id), one connection per gate. */
export class SimClient {
  private rt: Runtime | null = null;
  private readonly conns = new Map<string, RpcConnection>();
  private links: PeerLinks | null = null;
  /** Notifications received (job.snapshot, job.result), in order. */
  readonly notes: AnyMessage[] = [];

  constructor(
    readonly sim: Simulation,
    readonly cluster: { readonly gateAddresses: ReadonlyMap<string, NodeAddress> },
    readonly id = 'client',
    dc = 'a',
  ) {
    sim.addNode({ id, dc }, (rt) => {
      this.rt = rt;
      const registry = new MessageRegistry().register(...CLIENT_MESSAGES);
      const handlers = new Map<string, (m: AnyMessage) => undefined>([
        ['job.snapshot', (m) => void this.notes.push(m)],
        ['job.result', (m) => void this.notes.push(m)],
      ]);
      this.links = new PeerLinks({
        runtime: rt,
        registry,
        identity: {
          nodeId: id,
          role: 'client',
          clusterId: 'salvo',
          environment: 'default',
          capabilities: ['jobs'],
        },
        handlers,
      });
    });
  }

  /** Sends `m` to gate `gate` and runs the simulation until the reply arrives. */
  async ask(
    gate: string,
    m: Record<string, unknown> & { t: string },
    maxMs = 30_000,
  ): Promise<RpcReply> {
    const reply = this.start(gate, m);
    let out: RpcReply | undefined;
    void reply.then((r) => (out = r));
    const ok = await this.sim.runUntil(() => out !== undefined, { maxMs });
    if (!ok || out === undefined)
      throw new Error(`no reply to ${m.t} from ${gate} within ${maxMs} ms`);
    return out;
  }

  /** Submits `body` at `gate` and watches the accepted job there; returns its id. */
  async submitAndWatch(
    body: Record<string, unknown> & { t: string },
    gate = 'g1',
  ): Promise<string> {
    const accepted = await this.ask(gate, body);
    if (!accepted.ok) throw new Error(`submission refused: ${JSON.stringify(accepted)}`);
    const job = accepted.message['job'] as string;
    const watch = await this.ask(gate, { t: 'job.watch', job });
    if (!watch.ok) throw new Error(`watch refused: ${JSON.stringify(watch)}`);
    return job;
  }

  /** Sends without running the simulation (for many requests in flight at once). */
  start(
    gate: string,
    m: Record<string, unknown> & { t: string },
    timeoutMs = 20_000,
  ): Promise<RpcReply> {
    const address = this.cluster.gateAddresses.get(gate);
    if (this.links === null || address === undefined) throw new Error('client not booted');
    return this.links.request(address, m, timeoutMs);
  }

  /** Sends a `ping` notification to gate `gate` on the client's connection (a keepalive). */
  ping(gate: string): void {
    const address = this.cluster.gateAddresses.get(gate);
    if (this.links === null || address === undefined) throw new Error('client not booted');
    void this.links.connection(address).then((c) => {
      if (!(c instanceof Error)) c.notify({ t: 'ping' });
    });
  }

  get runtime(): Runtime | null {
    return this.rt;
  }

  get connectionCount(): number {
    return this.conns.size;
  }
}

/** A submission of a plan of `workflows` one-VU workflows with `source` as the bundle. */
export function submission(
  over: {
    workflows?: number;
    key?: string;
    dcs?: string[];
    source?: string;
    dcCount?: number;
    plan?: unknown;
    durationMs?: number;
  } = {},
): Record<string, unknown> & { t: string } {
  const source = over.source ?? 'export default { workflows: [] };';
  const plan = over.plan ?? {
    version: 1,
    workflows: Array.from({ length: over.workflows ?? 1 }, (_, i) => ({
      name: `wf${i + 1}`,
      dependsOn: i === 0 ? [] : [`wf${i}`],
      executor: {
        type: 'constant-vus',
        vus: 4,
        durationMs: over.durationMs ?? 1_000,
        gracefulStopMs: 1_000,
      },
      steps: ['get'],
      publishes: [],
      thresholds: [],
      setup: null,
      teardown: null,
    })),
  };
  return {
    t: 'job.submit',
    bundle: { hash: sha256Hex(source), sizeBytes: Buffer.byteLength(source), file: 'load.ts' },
    source,
    plan,
    ...(over.dcs !== undefined ? { dcs: over.dcs } : {}),
    ...(over.dcCount !== undefined ? { dcCount: over.dcCount } : {}),
    ...(over.key !== undefined ? { idempotencyKey: over.key } : {}),
  };
}

/** The `job.result` notifications the client got for `job`. */
export function jobResults(client: SimClient, job: string): AnyMessage[] {
  return client.notes.filter((n) => n.t === 'job.result' && n.job === job);
}

/**
 * Counts the `job-ended` events each gate applies from now on (each gate applies the ledger
 * once), keyed by gate, or by `gate/job` with `byJob`.
 */
export function countEnds(cluster: GateCluster, byJob = false): Map<string, number> {
  const ends = new Map<string, number>();
  for (const id of GATE_IDS) {
    cluster.gate(id).state.machine.onEvents((events: readonly LedgerEvent[]) => {
      for (const e of events) {
        if (e.type !== 'job-ended') continue;
        const k = byJob ? `${id}/${e.jobId}` : id;
        ends.set(k, (ends.get(k) ?? 0) + 1);
      }
    });
  }
  return ends;
}
