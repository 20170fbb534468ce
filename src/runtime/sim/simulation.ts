// The simulator: one thread, one seeded event queue in virtual time, a network model and a
// fault model (crash, restart, pause, clock skew). Same seed, same run, bit for bit. Never
// reads the real clock or Math.random, and never lets two events interleave their microtasks.

import type { LogLevel, NodeAddress, Runtime } from '../types.js';
import { addressKey } from '../types.js';
import { SimulationError } from './errors.js';
import { EventQueue } from './event-queue.js';
import { ANY_INCARNATION, type MutableSimStats, type NodeState, type SimEvent } from './kernel.js';
import { DEFAULT_LINK, NetworkModel, type LinkModel } from './network.js';
import { SimRng, hashString } from './rng.js';
import { SimRuntime, type RuntimeKernel } from './runtime.js';
import { SimDisk } from './storage.js';
import { InternalError } from '../../errors.js';

/** Default guard against runaway runs (zero-delay timer loops and the like). */
export const DEFAULT_MAX_EVENTS = 5_000_000;
/** Trace lines kept (the oldest are dropped; the digest covers every line). */
export const DEFAULT_TRACE_LIMIT = 200_000;
/** Log lines kept in the in-memory ring. */
export const DEFAULT_LOG_LIMIT = 10_000;
/** Wall clock at virtual time 0 (2024-01-01T00:00:00Z). */
export const DEFAULT_EPOCH_MS = 1_704_067_200_000;
/** How long a stream connection survives a cut link with data waiting before it closes. */
export const DEFAULT_STREAM_STALL_TIMEOUT_MS = 10_000;
/** Frames above this size arrive as an `oversized` frame error. */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** The stream/datagram port every sim node uses unless its spec gives an address. */
export const DEFAULT_SIM_PORT = 7000;
export const DEFAULT_DC = 'dc1';
/** The run loop lets the real event loop breathe (test timeouts, reporters) this often. */
const EVENTS_PER_REAL_YIELD = 2048;

export interface SimulationOptions {
  seed: number;
  defaultLink?: LinkModel;
  /** Record a deterministic trace of every event, fault and log line. */
  trace?: boolean;
  maxEvents?: number;
  traceLimit?: number;
  logLimit?: number;
  epochMs?: number;
  streamStallTimeoutMs?: number;
  maxFrameBytes?: number;
  /** Virtual time an fsync (sync, truncate) takes; 0 still resolves in its own event. */
  fsyncLatencyMs?: number;
  /** Also hand every log line to this function (e.g. console.error while debugging). */
  logSink?: (line: string) => void;
}

export interface SimNode {
  readonly id: string;
  readonly dc: string;
  readonly up: boolean;
  readonly runtime: Runtime | undefined;
  readonly address: NodeAddress;
  /** Frozen by pause() right now. */
  readonly paused: boolean;
  /** Starts at 0; +1 on every crash. */
  readonly incarnation: number;
  /** What survives a crash right now for file `name` (null if absent). Test inspection. */
  durableFile(name: string): Uint8Array | null;
}

export interface SimStats {
  readonly events: number;
  readonly messagesSent: number;
  readonly messagesDropped: number;
  readonly datagramsSent: number;
  readonly datagramsDropped: number;
  readonly datagramsDuplicated: number;
  readonly datagramsCorrupted: number;
  readonly framesCorrupted: number;
  readonly connectionsOpened: number;
  readonly connectionsRefused: number;
  readonly connectionsReset: number;
  readonly eventsDeferred: number;
}

export interface SimNetwork {
  /** Both directions between nodes a and b (merged over what was set before). */
  setLink(a: string, b: string, model: Partial<LinkModel>): void;
  /** Only a → b. */
  setOneWay(from: string, to: string, model: Partial<LinkModel>): void;
  /** Both directions between every node of dcA and every node of dcB (dcA may equal dcB). */
  setDcLink(dcA: string, dcB: string, model: Partial<LinkModel>): void;
  setDefaultLink(model: Partial<LinkModel>): void;
  /** Drops every per-link and per-DC override. */
  clearLinks(): void;
  /** Cuts A↔B (or only A→B with oneWay). Adds to cuts already in place. */
  partition(
    groupA: readonly string[],
    groupB: readonly string[],
    opts?: { oneWay?: boolean },
  ): void;
  /** Cuts every node of dcA from every node of dcB (also nodes added later). */
  partitionDcs(dcA: string, dcB: string, opts?: { oneWay?: boolean }): void;
  /** Cuts `id` from everyone. */
  isolate(id: string): void;
  /** Removes every cut; stalled stream connections resume. Link models stay. */
  heal(): void;
  isBlocked(from: string, to: string): boolean;
  link(from: string, to: string): LinkModel;
}

class NodeRecord implements NodeState, SimNode {
  up = false;
  incarnation = 0;
  pausedUntilMs = 0;
  deferred: SimEvent[] = [];
  wallOffsetMs = 0;
  readonly disk = new SimDisk();
  listener: NodeState['listener'] = undefined;
  datagramHandler: NodeState['datagramHandler'] = undefined;
  readonly endpoints = new Set<{ crash(): void }>();
  runtime: SimRuntime | undefined = undefined;

  constructor(
    readonly id: string,
    readonly dc: string,
    readonly address: NodeAddress,
    readonly boot: (rt: Runtime) => void | Promise<void>,
    private readonly nowMs: () => number,
  ) {}

  get paused(): boolean {
    return this.pausedUntilMs > this.nowMs();
  }

  durableFile(name: string): Uint8Array | null {
    return this.disk.durableContent(name);
  }
}

/** Runs every microtask queued so far, and every one those queue, before returning. */
async function drainMicrotasks(): Promise<void> {
  await Promise.resolve();
  await new Promise<void>((resolve) => process.nextTick(resolve));
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function formatTime(ms: number): string {
  return ms.toFixed(3);
}

function safeJson(fields: Record<string, unknown>): string {
  try {
    return JSON.stringify(fields, (_key, value: unknown) => {
      if (typeof value === 'bigint') {
        return `${value}n`;
      }
      if (value instanceof Error) {
        return `${value.name}: ${value.message}`;
      }
      if (value instanceof Uint8Array) {
        return `<${value.length} bytes>`;
      }
      return value;
    });
  } catch (error) {
    return `"<unserializable fields: ${error instanceof Error ? error.message : String(error)}>"`;
  }
}

/** A bounded line buffer that drops its oldest lines in batches. */
class LineRing {
  readonly lines: string[] = [];
  dropped = 0;
  constructor(private readonly limit: number) {}

  push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.limit + (this.limit >> 2)) {
      const excess = this.lines.length - this.limit;
      this.lines.splice(0, excess);
      this.dropped += excess;
    }
  }
}

function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v <= 0) {
    throw new InternalError(`${name} must be > 0, got ${v}`);
  }
  return v;
}

export class Simulation implements RuntimeKernel {
  readonly seed: number;
  readonly tracing: boolean;
  readonly net: NetworkModel;
  readonly netRng: SimRng;
  readonly stats: MutableSimStats = {
    events: 0,
    messagesSent: 0,
    messagesDropped: 0,
    datagramsSent: 0,
    datagramsDropped: 0,
    datagramsDuplicated: 0,
    datagramsCorrupted: 0,
    framesCorrupted: 0,
    connectionsOpened: 0,
    connectionsRefused: 0,
    connectionsReset: 0,
    eventsDeferred: 0,
  };
  readonly streamStallTimeoutMs: number;
  readonly maxFrameBytes: number;
  readonly epochMs: number;
  readonly fsyncLatencyMs: number;
  readonly stalledPipes = new Set<{ resume(): void }>();
  readonly network: SimNetwork;

  private now = 0;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly rootRng: SimRng;
  private readonly faultRng: SimRng;
  private readonly nodes = new Map<string, NodeRecord>();
  private readonly byAddress = new Map<string, NodeRecord>();
  /** Address objects already looked up (addresses are immutable and nodes never removed). */
  private readonly addressCache = new WeakMap<NodeAddress, NodeRecord>();
  private readonly maxEvents: number;
  private readonly traceRing: LineRing;
  private readonly logRing: LineRing;
  private traceHash = 0x811c9dc5;
  private traceCount = 0;
  private readonly logSink: ((line: string) => void) | undefined;
  private readonly checks: Array<() => void> = [];
  private connectionIds = 0;
  private running = false;
  private failure: SimulationError | undefined;

  constructor(options: SimulationOptions) {
    this.seed = options.seed;
    this.rootRng = SimRng.fromSeed(options.seed);
    this.netRng = this.rootRng.fork('network');
    this.faultRng = this.rootRng.fork('faults');
    this.tracing = options.trace ?? false;
    this.maxEvents = positive('maxEvents', options.maxEvents, DEFAULT_MAX_EVENTS);
    this.traceRing = new LineRing(positive('traceLimit', options.traceLimit, DEFAULT_TRACE_LIMIT));
    this.logRing = new LineRing(positive('logLimit', options.logLimit, DEFAULT_LOG_LIMIT));
    this.epochMs = options.epochMs ?? DEFAULT_EPOCH_MS;
    this.streamStallTimeoutMs = positive(
      'streamStallTimeoutMs',
      options.streamStallTimeoutMs,
      DEFAULT_STREAM_STALL_TIMEOUT_MS,
    );
    this.maxFrameBytes = positive('maxFrameBytes', options.maxFrameBytes, DEFAULT_MAX_FRAME_BYTES);
    this.fsyncLatencyMs = options.fsyncLatencyMs ?? 0;
    if (!Number.isFinite(this.fsyncLatencyMs) || this.fsyncLatencyMs < 0) {
      throw new InternalError(`fsyncLatencyMs must be >= 0, got ${this.fsyncLatencyMs}`);
    }
    this.logSink = options.logSink;
    this.net = new NetworkModel(options.defaultLink ?? DEFAULT_LINK, (id) => this.dcOf(id));
    this.network = this.makeNetworkApi();
  }

  // ---- time, trace, stats -------------------------------------------------------------

  get nowMs(): number {
    return this.now;
  }

  /** The retained trace lines (the last `traceLimit`..1.25×`traceLimit` of them). */
  get trace(): readonly string[] {
    return this.traceRing.lines;
  }

  /** FNV-1a over every trace line ever recorded, with the count: compares whole runs cheaply. */
  get traceDigest(): string {
    return `${this.traceCount}:${(this.traceHash >>> 0).toString(16).padStart(8, '0')}`;
  }

  /** The retained log lines of every node. */
  get logs(): readonly string[] {
    return this.logRing.lines;
  }

  /** Events waiting in the queue (including cancelled ones not yet popped). */
  get pendingEvents(): number {
    return this.queue.size;
  }

  private traceLine(line: string): void {
    this.traceRing.push(line);
    this.traceHash = hashString(line + '\n', this.traceHash);
    this.traceCount++;
  }

  note(node: NodeState | undefined, kind: string, detail: string): void {
    if (this.tracing) {
      this.traceLine(
        `${formatTime(this.now)} ${node?.id ?? '-'} ${kind}${detail ? ' ' + detail : ''}`,
      );
    }
  }

  recordLog(
    node: NodeState,
    level: LogLevel,
    message: string,
    fields: Record<string, unknown>,
  ): void {
    const extra = Object.keys(fields).length > 0 ? ' ' + safeJson(fields) : '';
    const line = `${formatTime(this.now)} ${node.id} ${level} ${message}${extra}`;
    this.logRing.push(line);
    if (this.tracing) {
      this.traceLine(`${formatTime(this.now)} ${node.id} log ${level} ${message}${extra}`);
    }
    this.logSink?.(line);
  }

  // ---- scheduling ---------------------------------------------------------------------

  schedule(
    delayMs: number,
    node: NodeState | undefined,
    incarnation: number,
    kind: string,
    detail: string,
    fire: () => void,
  ): SimEvent {
    if (!Number.isFinite(delayMs) || delayMs < 0) {
      throw new InternalError(`schedule(${kind}): delay must be finite and >= 0, got ${delayMs}`);
    }
    return this.queue.push({
      timeMs: this.now + delayMs,
      seq: 0,
      cancelled: false,
      node,
      incarnation,
      kind,
      detail,
      fire,
    });
  }

  /** Runs `fn` (test code: faults, checks) at now + delayMs, on no node. Returns a canceller. */
  at(delayMs: number, label: string, fn: () => void): { cancel(): void } {
    const event = this.schedule(delayMs, undefined, ANY_INCARNATION, 'scheduled', label, fn);
    return {
      cancel: () => {
        event.cancelled = true;
      },
    };
  }

  nextConnectionId(): number {
    return ++this.connectionIds;
  }

  nodeByAddress(address: NodeAddress): NodeState | undefined {
    const known = this.addressCache.get(address);
    if (known !== undefined) {
      return known;
    }
    const node = this.byAddress.get(addressKey(address));
    if (node !== undefined) {
      this.addressCache.set(address, node);
    }
    return node;
  }

  private dcOf(id: string): string {
    return this.nodes.get(id)?.dc ?? DEFAULT_DC;
  }

  // ---- nodes and faults ---------------------------------------------------------------

  addNode(
    spec: { id: string; dc?: string; address?: NodeAddress },
    boot: (rt: Runtime) => void | Promise<void>,
  ): SimNode {
    if (this.nodes.has(spec.id)) {
      throw new InternalError(`node ${spec.id} already exists`);
    }
    const dc = spec.dc ?? DEFAULT_DC;
    const address = spec.address ?? { host: `${dc}/${spec.id}`, port: DEFAULT_SIM_PORT };
    const key = addressKey(address);
    if (this.byAddress.has(key)) {
      throw new InternalError(`address ${key} already taken by ${this.byAddress.get(key)?.id}`);
    }
    const node = new NodeRecord(spec.id, dc, address, boot, () => this.now);
    this.nodes.set(spec.id, node);
    this.byAddress.set(key, node);
    this.start(node, 'add');
    return node;
  }

  node(id: string): SimNode {
    return this.record(id);
  }

  /** Every node in the order added. */
  get allNodes(): readonly SimNode[] {
    return [...this.nodes.values()];
  }

  private record(id: string): NodeRecord {
    const node = this.nodes.get(id);
    if (node === undefined) {
      throw new InternalError(`no sim node ${id}`);
    }
    return node;
  }

  private start(node: NodeRecord, why: string): void {
    node.up = true;
    node.pausedUntilMs = 0;
    const rng = this.rootRng.fork(`node:${node.id}:${node.incarnation}`);
    const runtime = new SimRuntime(this, node, node.incarnation, rng);
    node.runtime = runtime;
    this.note(node, why === 'add' ? 'boot' : 'restart', `incarnation=${node.incarnation}`);
    const result = node.boot(runtime);
    if (result instanceof Promise) {
      result.then(undefined, (error: unknown) => {
        // A boot cut short by a crash of its incarnation fails on the dead storage: that is
        // the crash, not a bug of the node.
        if (node.runtime !== runtime || !node.up) {
          this.note(node, 'boot-cut', `incarnation=${runtime.incarnation}`);
          return;
        }
        this.fail(`boot of ${node.id} (incarnation ${runtime.incarnation}) failed`, error);
      });
    }
  }

  crash(id: string, opts?: { tornTail?: boolean }): void {
    const node = this.record(id);
    if (!node.up) {
      return;
    }
    const torn = opts?.tornTail ?? false;
    this.note(node, 'crash', torn ? 'torn-tail' : '');
    node.up = false;
    node.incarnation++;
    node.pausedUntilMs = 0;
    // Events held while the node was paused die with it (a stream pipe skips their packets).
    for (const event of node.deferred) event.cancelled = true;
    node.deferred = [];
    node.listener = undefined;
    node.datagramHandler = undefined;
    node.runtime = undefined;
    const endpoints = [...node.endpoints];
    node.endpoints.clear();
    for (const endpoint of endpoints) {
      endpoint.crash();
    }
    node.disk.crash(torn, this.faultRng);
  }

  /** Boots the node again with a fresh Runtime (crashing it first if it is up). */
  restart(id: string): void {
    const node = this.record(id);
    if (node.up) {
      this.crash(id);
    }
    this.start(node, 'restart');
  }

  pause(id: string, ms: number): void {
    const node = this.record(id);
    if (!Number.isFinite(ms) || ms < 0) {
      throw new InternalError(`pause(${id}) needs ms >= 0, got ${ms}`);
    }
    if (!node.up) {
      return;
    }
    const until = this.now + ms;
    if (until <= node.pausedUntilMs) {
      return;
    }
    node.pausedUntilMs = until;
    this.note(node, 'pause', `until=${formatTime(until)}`);
    const incarnation = node.incarnation;
    this.schedule(ms, undefined, ANY_INCARNATION, 'resume', node.id, () => {
      if (node.incarnation !== incarnation || node.pausedUntilMs > this.now) {
        return;
      }
      const deferred = node.deferred;
      node.deferred = [];
      for (const event of deferred) {
        event.timeMs = this.now;
        this.queue.push(event);
      }
    });
  }

  skewClock(id: string, offsetMs: number): void {
    const node = this.record(id);
    node.wallOffsetMs = offsetMs;
    this.note(node, 'clock-skew', `offset=${offsetMs}`);
  }

  jumpClock(id: string, deltaMs: number): void {
    const node = this.record(id);
    node.wallOffsetMs += deltaMs;
    this.note(node, 'clock-jump', `delta=${deltaMs}`);
  }

  afterEvent(check: () => void): void {
    this.checks.push(check);
  }

  private makeNetworkApi(): SimNetwork {
    const changed = (what: string): void => {
      this.note(undefined, 'network', what);
      for (const pipe of [...this.stalledPipes]) {
        pipe.resume();
      }
    };
    return {
      setLink: (a, b, model) => {
        this.net.setOneWay(a, b, model);
        this.net.setOneWay(b, a, model);
        changed(`link ${a}<->${b} ${safeJson(model)}`);
      },
      setOneWay: (from, to, model) => {
        this.net.setOneWay(from, to, model);
        changed(`link ${from}->${to} ${safeJson(model)}`);
      },
      setDcLink: (dcA, dcB, model) => {
        this.net.setDcOneWay(dcA, dcB, model);
        this.net.setDcOneWay(dcB, dcA, model);
        changed(`dc-link ${dcA}<->${dcB} ${safeJson(model)}`);
      },
      setDefaultLink: (model) => {
        this.net.setDefault(model);
        changed(`default-link ${safeJson(model)}`);
      },
      clearLinks: () => {
        this.net.clearLinks();
        changed('clear-links');
      },
      partition: (groupA, groupB, opts) => {
        for (const a of groupA) {
          for (const b of groupB) {
            this.net.block(a, b);
            if (opts?.oneWay !== true) {
              this.net.block(b, a);
            }
          }
        }
        changed(
          `partition [${groupA.join(',')}] ${opts?.oneWay === true ? '->' : '<->'} [${groupB.join(',')}]`,
        );
      },
      partitionDcs: (dcA, dcB, opts) => {
        this.net.blockDc(dcA, dcB);
        if (opts?.oneWay !== true) {
          this.net.blockDc(dcB, dcA);
        }
        changed(`partition-dc ${dcA} ${opts?.oneWay === true ? '->' : '<->'} ${dcB}`);
      },
      isolate: (id) => {
        this.net.isolate(id);
        changed(`isolate ${id}`);
      },
      heal: () => {
        this.net.heal();
        changed('heal');
      },
      isBlocked: (from, to) => this.net.blocked(from, to),
      link: (from, to) => this.net.link(from, to),
    };
  }

  // ---- running ------------------------------------------------------------------------

  private fail(context: string, error: unknown): void {
    if (this.failure !== undefined) {
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    this.failure = new SimulationError(
      this.seed,
      this.now,
      `event #${this.stats.events}: ${context}: ${message}`,
      { cause: error },
    );
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) {
      throw this.failure;
    }
  }

  /** Advances virtual time by `ms`, running every event due on the way, in order. */
  async run(ms: number): Promise<void> {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new InternalError(`run(ms) needs a finite ms >= 0, got ${ms}`);
    }
    const deadline = this.now + ms;
    await this.loop(deadline, undefined);
    this.now = deadline;
  }

  /**
   * Runs events until `predicate()` holds (checked before the first event and after each) or
   * `maxMs` of virtual time pass. Stops right after the event that made it true.
   */
  async runUntil(predicate: () => boolean, opts: { maxMs: number }): Promise<boolean> {
    if (!Number.isFinite(opts.maxMs) || opts.maxMs < 0) {
      throw new InternalError(`runUntil maxMs must be finite and >= 0, got ${opts.maxMs}`);
    }
    const deadline = this.now + opts.maxMs;
    const met = await this.loop(deadline, predicate);
    if (!met) {
      this.now = deadline;
    }
    return met;
  }

  private async loop(deadlineMs: number, predicate: (() => boolean) | undefined): Promise<boolean> {
    if (this.running) {
      throw new InternalError(
        'Simulation.run/runUntil called while a run is in progress (missing await?)',
      );
    }
    this.running = true;
    try {
      this.throwIfFailed();
      await drainMicrotasks();
      this.throwIfFailed();
      if (predicate?.() === true) {
        return true;
      }
      let sinceYield = 0;
      for (;;) {
        const next = this.queue.peek();
        if (next === undefined || next.timeMs > deadlineMs) {
          return false;
        }
        this.queue.pop();
        if (next.cancelled) {
          continue;
        }
        const node = next.node;
        if (node !== undefined) {
          if (next.incarnation !== ANY_INCARNATION && next.incarnation !== node.incarnation) {
            continue;
          }
          if (node.pausedUntilMs > next.timeMs) {
            node.deferred.push(next);
            this.stats.eventsDeferred++;
            continue;
          }
        }
        this.now = next.timeMs;
        this.stats.events++;
        if (this.stats.events > this.maxEvents) {
          this.fail(
            'event budget exhausted',
            new Error(`more than maxEvents=${this.maxEvents} events (a zero-delay loop?)`),
          );
          this.throwIfFailed();
        }
        if (this.tracing) {
          this.note(node, next.kind, next.detail);
        }
        try {
          next.fire();
        } catch (error) {
          this.fail(`${next.kind} on ${node?.id ?? 'sim'} threw`, error);
        }
        await drainMicrotasks();
        this.throwIfFailed();
        for (const check of this.checks) {
          try {
            check();
          } catch (error) {
            this.fail('afterEvent check failed', error);
            break;
          }
        }
        this.throwIfFailed();
        if (predicate?.() === true) {
          return true;
        }
        if (++sinceYield >= EVENTS_PER_REAL_YIELD) {
          sinceYield = 0;
          await yieldToEventLoop();
        }
      }
    } finally {
      this.running = false;
    }
  }
}
