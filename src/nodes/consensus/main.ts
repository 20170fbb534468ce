// Owns the Raft process entry point: parses argv, loads the node's TLS certificates (mutual TLS
// is the default; plain TCP only with an explicit --insecure, loudly logged), builds the real
// Runtime (src/runtime/real), runs one RaftNode with the KV register, and speaks a small
// JSON-lines control channel (commands on stdin, results and status on stdout) for process
// tests and the benchmark. Never touches sockets or timers itself: everything goes through the
// Runtime.
//
//   node dist/src/nodes/consensus/main.js --id n1 --listen 127.0.0.1:7001 \
//        --peers n2=127.0.0.1:7002,n3=127.0.0.1:7003 --data-dir /tmp/n1 \
//        --certs-dir certs            (ca.crt, node.n1.crt, node.n1.key; see `salvo certs`)
//        [--insecure] [--cluster salvo] [--datacenter default] [--profile local|lan|wan]
//        [--snapshot-every 1000] [--seed N] [--log-level warn]
//        [--max-connections 1024] [--max-connections-per-source 64] [--idle-timeout-ms 60000]
//        [--memory-budget-bytes 67108864] [--max-write-queue-bytes 8388608]
//
// stdin:  {"op":"put","client":"c","seq":1,"key":"k","value":"v"}   → {"event":"result",…}
//         {"op":"status"}                                           → {"event":"status",…}
//         {"op":"metrics","reset":true}                             → {"event":"metrics",…}
//         {"op":"dump"}                                             → {"event":"dump","data":{…}}
//         {"op":"bench","count":N,"concurrency":C,"valueBytes":B}   → {"event":"bench",…}
//         {"op":"stop","transfer":true}                             → exits
// stdout: {"event":"ready"|"status"|"result"|"bench"|"dump"|"error", …} one JSON object a line.
// An internal failure of the node (a broken Raft invariant) prints {"event":"error","fatal":true}
// and exits 1 (fail-stop).

import { monitorEventLoopDelay } from 'node:perf_hooks';
import {
  LAN_RAFT_CONFIG,
  LOCAL_RAFT_CONFIG,
  WAN_RAFT_CONFIG,
  type RaftConfig,
} from '../../cluster/consensus/config.js';
import { EXIT, OptionError } from '../../errors.js';
import { DEFAULT_DATACENTER, type LocalIdentity } from '../../protocol/index.js';
import { createRealRuntime, type RealRuntime, type TlsMaterial } from '../../runtime/real/index.js';
import type { LogLevel, NodeAddress } from '../../runtime/types.js';
import { KvRegister, encodeKvCommand, type KvResult } from './kv-register.js';
import { RaftNode } from './raft-node.js';
import { nodeSecurity, parseAddress, parsePeerList } from '../node-options.js';
import { ProtocolRaftTransport } from './transport.js';

/** Longest control line accepted on stdin. */
const MAX_CONTROL_LINE_BYTES = 64 * 1024;
/** Status lines are printed on change, checked this often. */
const STATUS_POLL_MS = 50;
/** Bench runs at most this many proposals, and this many at once. */
const MAX_BENCH_COUNT = 1_000_000;
const MAX_BENCH_CONCURRENCY = 4_096;

/** Event-loop delay sampling resolution for the `metrics` op. */
const LOOP_DELAY_RESOLUTION_MS = 10;

interface Args {
  id: string;
  listen: NodeAddress;
  peers: Map<string, NodeAddress>;
  dataDir: string;
  config: RaftConfig;
  snapshotEvery: number;
  seed: number | undefined;
  logLevel: LogLevel;
  certsDir: string | undefined;
  insecure: boolean;
  cluster: string;
  datacenter: string;
  limits: {
    maxConnections?: number;
    maxConnectionsPerSource?: number;
    idleTimeoutMs?: number;
    memoryBudgetBytes?: number;
    maxWriteQueueBytes?: number;
  };
}

function parseArgs(argv: readonly string[]): Args {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const need = (name: string): string => {
    const v = get(name);
    if (v === undefined) throw new OptionError(`missing --${name}`);
    return v;
  };
  const count = (name: string): number | undefined => {
    const v = get(name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new OptionError(`--${name} must be a non-negative integer, got "${v}"`);
    }
    return n;
  };
  const limits: Args['limits'] = {};
  for (const [flag, key] of [
    ['max-connections', 'maxConnections'],
    ['max-connections-per-source', 'maxConnectionsPerSource'],
    ['idle-timeout-ms', 'idleTimeoutMs'],
    ['memory-budget-bytes', 'memoryBudgetBytes'],
    ['max-write-queue-bytes', 'maxWriteQueueBytes'],
  ] as const) {
    const n = count(flag);
    if (n !== undefined) limits[key] = n;
  }
  const peers = parsePeerList(get('peers'), '--peers');
  const profiles: Record<string, RaftConfig> = {
    local: LOCAL_RAFT_CONFIG,
    lan: LAN_RAFT_CONFIG,
    wan: WAN_RAFT_CONFIG,
  };
  const profile = get('profile') ?? 'local';
  const config = profiles[profile];
  if (config === undefined) throw new OptionError(`unknown --profile ${profile}`);
  const seed = get('seed');
  return {
    id: need('id'),
    listen: parseAddress(need('listen'), '--listen'),
    peers,
    dataDir: need('data-dir'),
    config,
    snapshotEvery: Number(get('snapshot-every') ?? 1000),
    seed: seed === undefined ? undefined : Number(seed),
    logLevel: (get('log-level') ?? 'warn') as LogLevel,
    certsDir: get('certs-dir'),
    insecure: argv.includes('--insecure'),
    cluster: get('cluster') ?? 'salvo',
    datacenter: get('datacenter') ?? DEFAULT_DATACENTER,
    limits,
  };
}

/** TLS material and this node's identity (a Raft member is a manager or a gate). */
function securityOf(args: Args): { tls: TlsMaterial | undefined; identity: LocalIdentity } {
  return nodeSecurity({ ...args, roles: ['manager', 'gate'] }, ['raft']);
}

function emit(event: string, fields: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function runBench(
  rt: RealRuntime,
  node: RaftNode<KvResult>,
  count: number,
  concurrency: number,
  valueBytes: number,
): Promise<void> {
  const value = 'x'.repeat(valueBytes);
  const latencies: number[] = [];
  let failures = 0;
  let next = 0;
  const started = rt.clock.monotonicMs();
  const worker = async (w: number): Promise<void> => {
    while (next < count) {
      const i = next++;
      const t0 = rt.clock.monotonicMs();
      const o = await node.propose(
        encodeKvCommand({
          client: `bench-${w}`,
          seq: i + 1,
          op: 'put',
          key: `b${i % 1000}`,
          value,
        }),
      );
      if (o.ok) latencies.push(rt.clock.monotonicMs() - t0);
      else failures++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  const elapsedMs = rt.clock.monotonicMs() - started;
  latencies.sort((a, b) => a - b);
  emit('bench', {
    count,
    concurrency,
    valueBytes,
    committed: latencies.length,
    failures,
    elapsedMs,
    throughputPerSec: (latencies.length / elapsedMs) * 1000,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies[latencies.length - 1] ?? 0,
    syncs: node.storeStats.syncs,
  });
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const { tls, identity } = securityOf(args);
  const { idleTimeoutMs, maxConnections, maxConnectionsPerSource, ...streamLimits } = args.limits;
  const rt = createRealRuntime({
    nodeId: args.id,
    streamAddress: args.listen,
    dataDir: args.dataDir,
    logLevel: args.logLevel,
    ...(tls !== undefined ? { tls } : {}),
    ...streamLimits,
    ...(args.seed !== undefined ? { seed: args.seed } : {}),
  });
  if (tls === undefined) {
    const warning =
      'INSECURE: --insecure given: node-to-node and client connections are plain TCP, ' +
      'unauthenticated and unencrypted; anyone who can reach this port can act as a cluster member';
    process.stderr.write(`\n*** ${warning} ***\n\n`);
    rt.log.log('warn', warning, { insecure: true });
  }
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
  loopDelay.enable();
  const members = new Map(args.peers);
  members.set(args.id, args.listen);
  const machine = new KvRegister();
  const transport = new ProtocolRaftTransport(rt, args.id, members, identity, {
    ...(maxConnections !== undefined ? { maxConnections } : {}),
    ...(maxConnectionsPerSource !== undefined ? { maxConnectionsPerSource } : {}),
    ...(idleTimeoutMs !== undefined ? { connection: { idleTimeoutMs } } : {}),
  });
  const node = await RaftNode.start<KvResult>({
    runtime: rt,
    members,
    config: args.config,
    stateMachine: machine,
    snapshotEveryEntries: args.snapshotEvery,
    transport,
    // Fail-stop: the node already logged why; its state may be half-applied, so the process
    // ends non-zero and a restart recovers from what is durable.
    onFatal: (error) => {
      emit('error', { error: error instanceof Error ? error.message : String(error), fatal: true });
      process.exit(EXIT.internal);
    },
  });
  const statusOf = (): Record<string, unknown> => {
    const st = node.status();
    return {
      id: st.id,
      role: st.role,
      term: st.term,
      leader: st.leader,
      commit: st.commit,
      applied: st.appliedIndex,
      lastIndex: st.lastIndex,
      snapshotIndex: st.snapshotIndex,
      quorumFailures: st.consecutiveQuorumFailures,
      keys: machine.size,
    };
  };
  emit('ready', statusOf());
  let lastStatus = '';
  rt.timers.every(STATUS_POLL_MS, () => {
    const s = statusOf();
    const key = JSON.stringify([s.role, s.term, s.leader]);
    if (key !== lastStatus) {
      lastStatus = key;
      emit('status', s);
    }
  });

  const handle = async (line: string): Promise<void> => {
    let cmd: Record<string, unknown>;
    try {
      cmd = JSON.parse(line) as Record<string, unknown>;
    } catch (error) {
      emit('error', { error: `bad control line: ${String(error)}` });
      return;
    }
    switch (cmd.op) {
      case 'put': {
        const o = await node.propose(
          encodeKvCommand({
            client: String(cmd.client),
            seq: Number(cmd.seq),
            op: 'put',
            key: String(cmd.key),
            value: String(cmd.value),
          }),
        );
        emit('result', { client: cmd.client, seq: cmd.seq, key: cmd.key, ...o });
        return;
      }
      case 'status':
        emit('status', statusOf());
        return;
      case 'metrics':
        emit('metrics', {
          rssBytes: process.memoryUsage.rss(),
          eventLoopMaxMs: loopDelay.max / 1e6,
          eventLoopP99Ms: loopDelay.percentile(99) / 1e6,
          bufferedBytes: rt.stream.bufferedBytes,
          budgetPeakBytes: rt.stream.budget.peak,
          stream: { ...rt.stream.stats },
          transport: { ...transport.stats },
          protocol: transport.server.counters.snapshot(),
          rejectionLog: {
            passed: transport.server.rejectionLog.passedTotal,
            suppressed: transport.server.rejectionLog.suppressedTotal,
          },
        });
        if (cmd.reset === true) loopDelay.reset();
        return;
      case 'dump':
        emit('dump', { ...statusOf(), data: Object.fromEntries(machine.entries()) });
        return;
      case 'bench': {
        const count = Math.min(MAX_BENCH_COUNT, Number(cmd.count ?? 1000));
        const concurrency = Math.min(MAX_BENCH_CONCURRENCY, Number(cmd.concurrency ?? 1));
        await runBench(rt, node, count, concurrency, Number(cmd.valueBytes ?? 16));
        return;
      }
      case 'stop':
        await node.stop({ transfer: cmd.transfer === true });
        await rt.close();
        emit('stopped', { id: args.id });
        process.exit(0);
        return;
      default:
        emit('error', { error: `unknown op ${JSON.stringify(cmd.op)}` });
    }
  };

  let buffered = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk: string) => {
    buffered += chunk;
    if (buffered.length > MAX_CONTROL_LINE_BYTES && !buffered.includes('\n')) {
      emit('error', { error: `control line longer than ${MAX_CONTROL_LINE_BYTES} bytes dropped` });
      buffered = '';
      return;
    }
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (line.length === 0) continue;
      handle(line).catch((error: unknown) => emit('error', { error: String(error) }));
    }
  });
  process.stdin.on('end', () => {
    node
      .stop({ transfer: true })
      .then(() => rt.close())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          emit('error', { error: String(error) });
          process.exit(1);
        },
      );
  });
}

main().catch((error: unknown) => {
  emit('error', { error: error instanceof Error ? error.message : String(error), fatal: true });
  process.exit(1);
});
