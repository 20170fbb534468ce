// Benchmark of SWIM membership in the simulator: for clusters of 10, 100 and 1000 members, the
// time for a crash to be known as dead by every live member, the time for a join to be known by
// every member, and the per-node datagram rate. Prints a table and writes
// bench/results/membership.json. Never part of `npm test` (timing claims live here).

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Simulation } from '../src/runtime/sim/index.js';
import { GossipKeyring, MembershipNode } from '../src/nodes/membership/index.js';
import {
  LAN_CONFIG,
  detectionBoundMs,
  retransmitLimit,
  suspicionMaxMs,
  suspicionMinMs,
} from '../src/cluster/membership/index.js';
import type { MemberStatus, Seed } from '../src/cluster/membership/index.js';
import type { Runtime } from '../src/runtime/types.js';

const SIZES = [10, 100, 1000] as const;
/** Seeds per size (fewer for the big cluster: one 1000-node run takes a while in wall time). */
const SEEDS_PER_SIZE: Record<number, number> = { 10: 5, 100: 3, 1000: 1 };
/** Virtual time the cluster runs before measuring (members confirm each other by probing). */
const WARMUP_MS = 60_000;
/** Window over which the steady per-node datagram rate is measured. */
const RATE_WINDOW_MS = 30_000;
/** Give up waiting for a convergence after this much virtual time. */
const CONVERGENCE_LIMIT_MS = 600_000;
const PORT = 7000;
const RESULTS = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'bench',
  'results',
  'membership.json',
);

interface RunResult {
  n: number;
  seed: number;
  /** Datagrams sent per node per second, steady state (no failures). */
  datagramsPerNodePerSec: number;
  bytesPerNodePerSec: number;
  /** Crash → first suspicion anywhere, first dead declaration anywhere, dead at every live member (ms). */
  crashFirstSuspectMs: number | null;
  crashFirstDeadMs: number | null;
  crashAllDeadMs: number | null;
  /** Join → known (any status) by every member; → confirmed alive by every member (ms). */
  joinAllKnowMs: number | null;
  joinAllAliveMs: number | null;
  wallMs: number;
}

/**
 * How the cluster forms. `static`: every member starts with the full list as UNCONFIRMED (no
 * join gossip, so the rate window sees steady-state traffic). `seeds`: every member joins
 * through seeds m0 and m1, which every member thereby confirms (a crash of m0 then measures
 * failure detection rather than AD-29's wait for first direct contact).
 */
type Formation = 'static' | 'seeds';

async function runOne(n: number, seed: number, formation: Formation): Promise<RunResult> {
  const started = performance.now();
  const sim = new Simulation({
    seed,
    defaultLink: { latencyMs: { min: 1, max: 3 } },
    maxEvents: 200_000_000,
  });
  const ids = Array.from({ length: n }, (_, i) => `m${i}`);
  const address = (id: string): { host: string; port: number } => ({ host: id, port: PORT });
  // Formation as an operator would configure it: every member joins through two seeds (m0, m1),
  // so both seeds are in direct contact with, and confirmed by, every member.
  const seedsFor = (id: string): Seed[] =>
    ['m0', 'm1'].filter((s) => s !== id).map((s) => ({ id: s, address: address(s) }));
  // Datagrams are sealed as on real nodes (the sealing cost is part of what is measured).
  const keyring = new GossipKeyring([new Uint8Array(32).fill(1)]);
  const nodes = new Map<string, MembershipNode>();
  let firstSuspect: number | null = null;
  let firstDead: number | null = null;
  let victim = '';
  const boot = (id: string, seeds: readonly Seed[]) => async (rt: Runtime) => {
    const node = await MembershipNode.start(rt, { seeds, gossip: { keyring } });
    nodes.set(id, node);
    node.onEvent((e) => {
      if (e.type === 'suspect' && e.id === victim && firstSuspect === null)
        firstSuspect = sim.nowMs;
      if (e.type === 'dead' && e.id === victim && firstDead === null) firstDead = sim.nowMs;
    });
  };
  const everyone: Seed[] = ids.map((id) => ({ id, address: address(id) }));
  for (const id of ids) {
    sim.addNode(
      { id, address: address(id) },
      boot(id, formation === 'static' ? everyone : seedsFor(id)),
    );
  }
  await sim.run(WARMUP_MS);

  const sentBefore = sum(nodes, (m) => m.stats.datagramsSent);
  const bytesBefore = sum(nodes, (m) => m.stats.bytesSent);
  await sim.run(RATE_WINDOW_MS);
  const perNodeSec = (x: number): number => x / n / (RATE_WINDOW_MS / 1000);
  const datagramsPerNodePerSec = perNodeSec(sum(nodes, (m) => m.stats.datagramsSent) - sentBefore);
  const bytesPerNodePerSec = perNodeSec(sum(nodes, (m) => m.stats.bytesSent) - bytesBefore);

  // Crash a member every live member has confirmed (a seed): failure detection, not the
  // ~n-period wait AD-29 imposes before a never-contacted member may be suspected at all.
  victim = 'm0';
  const crashAt = sim.nowMs;
  sim.crash(victim);
  nodes.delete(victim);
  const live = ids.filter((id) => id !== victim);
  const status = (o: string, id: string): MemberStatus | undefined =>
    nodes.get(o)?.member(id)?.status;
  const allDead = await sim.runUntil(
    () => live.every((o) => status(o, victim) === 'dead' || status(o, victim) === undefined),
    {
      maxMs: CONVERGENCE_LIMIT_MS,
    },
  );
  const crashAllDeadMs = allDead ? sim.nowMs - crashAt : null;

  // Join a new member through two seeds (addresses only, as an operator would configure it).
  const joiner = `m${n}`;
  const joinAt = sim.nowMs;
  sim.addNode(
    { id: joiner, address: address(joiner) },
    boot(joiner, [{ address: address(live[0]!) }, { address: address(live[1]!) }]),
  );
  const allKnow = await sim.runUntil(() => live.every((o) => status(o, joiner) !== undefined), {
    maxMs: CONVERGENCE_LIMIT_MS,
  });
  const joinAllKnowMs = allKnow ? sim.nowMs - joinAt : null;
  const allAlive = await sim.runUntil(() => live.every((o) => status(o, joiner) === 'alive'), {
    maxMs: Math.max(0, CONVERGENCE_LIMIT_MS - (sim.nowMs - joinAt)),
  });
  const joinAllAliveMs = allAlive ? sim.nowMs - joinAt : null;

  return {
    n,
    seed,
    datagramsPerNodePerSec,
    bytesPerNodePerSec,
    crashFirstSuspectMs: firstSuspect === null ? null : (firstSuspect as number) - crashAt,
    crashFirstDeadMs: firstDead === null ? null : (firstDead as number) - crashAt,
    crashAllDeadMs,
    joinAllKnowMs,
    joinAllAliveMs,
    wallMs: performance.now() - started,
  };
}

function sum(nodes: Map<string, MembershipNode>, f: (m: MembershipNode) => number): number {
  let s = 0;
  for (const m of nodes.values()) s += f(m);
  return s;
}

function median(xs: (number | null)[]): number | null {
  const v = xs.filter((x): x is number => x !== null).sort((a, b) => a - b);
  if (v.length === 0) return null;
  return v[Math.floor(v.length / 2)]!;
}

const fmtS = (ms: number | null): string => (ms === null ? 'n/a' : `${(ms / 1000).toFixed(1)} s`);

async function main(): Promise<void> {
  const all: RunResult[] = [];
  const rows: Record<string, unknown>[] = [];
  for (const n of SIZES) {
    const runs: RunResult[] = [];
    for (let s = 1; s <= (SEEDS_PER_SIZE[n] ?? 1); s++) {
      // Steady-state traffic from the static formation; crash and join from the seeded one.
      const steady = await runOne(n, s, 'static');
      const seeded = await runOne(n, s, 'seeds');
      const r: RunResult = {
        ...seeded,
        datagramsPerNodePerSec: steady.datagramsPerNodePerSec,
        bytesPerNodePerSec: steady.bytesPerNodePerSec,
        wallMs: steady.wallMs + seeded.wallMs,
      };
      runs.push(r);
      all.push(r);
      process.stderr.write(`n=${n} seed=${s} done in ${(r.wallMs / 1000).toFixed(1)} s wall\n`);
    }
    rows.push({
      n,
      runs: runs.length,
      'datagrams/node/s': Number(median(runs.map((r) => r.datagramsPerNodePerSec))!.toFixed(2)),
      'bytes/node/s': Math.round(median(runs.map((r) => r.bytesPerNodePerSec))!),
      'crash→first suspect': fmtS(median(runs.map((r) => r.crashFirstSuspectMs))),
      'crash→first dead': fmtS(median(runs.map((r) => r.crashFirstDeadMs))),
      'crash→dead at all': fmtS(median(runs.map((r) => r.crashAllDeadMs))),
      'join→known by all': fmtS(median(runs.map((r) => r.joinAllKnowMs))),
      'join→alive at all': fmtS(median(runs.map((r) => r.joinAllAliveMs))),
      'suspicion min…max': `${suspicionMinMs(LAN_CONFIG, n) / 1000}…${suspicionMaxMs(LAN_CONFIG, n) / 1000} s`,
      'retransmits/update': retransmitLimit(LAN_CONFIG, n),
      'detection bound': fmtS(detectionBoundMs(LAN_CONFIG, n)),
    });
  }
  console.table(rows);
  mkdirSync(dirname(RESULTS), { recursive: true });
  writeFileSync(
    RESULTS,
    JSON.stringify(
      {
        benchmark: 'membership',
        profile: 'lan',
        config: LAN_CONFIG,
        method: {
          runtime: 'runtime/sim (virtual time), links 1–3 ms, no loss',
          bootstrap:
            'traffic: every member starts with the full list as UNCONFIRMED (no join gossip); crash and join: every member joins through two seeds (m0, m1) at time 0',
          warmupMs: WARMUP_MS,
          rateWindowMs: RATE_WINDOW_MS,
          crash:
            'seed m0 (confirmed by every member) crashes after warm-up + rate window; time until every live member has it dead',
          join: 'a new member joins through two live members; time until every member knows it / has it alive (alive needs direct contact: ~n probe periods by design, AD-29)',
        },
        summary: rows,
        runs: all,
      },
      null,
      2,
    ) + '\n',
  );
  console.log(`wrote ${RESULTS}`);
}

await main();
