// Raft commit throughput and latency on loopback with three real processes (the same entry
// point as the process test: src/nodes/consensus/main.ts, real runtime, wire protocol, fsync'd
// log). The leader runs N proposals with C in flight and times each from propose() to applied;
// this script prints a table and writes bench/results/raft.json. Not part of npm test.
//   npm run bench:raft [-- --count 5000 --concurrency 1,8,64 --value-bytes 16,1024]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { makeCerts } from '../test/support/certs.js';
import { RaftProcess, freePort } from '../test/support/raft-process.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const IDS = ['n1', 'n2', 'n3'];
const LEADER_WAIT_MS = 15_000;
const RUN_WAIT_MS = 300_000;
/** Snapshots every this many entries during the bench (the log stays bounded as in production). */
const SNAPSHOT_EVERY = 5_000;

async function findLeader(procs: RaftProcess[]): Promise<RaftProcess> {
  const deadline = Date.now() + LEADER_WAIT_MS;
  while (Date.now() < deadline) {
    const sts = await Promise.all(procs.map((p) => p.status()));
    const leaders = sts.filter((s) => s.role === 'leader');
    const l = leaders[0];
    if (leaders.length === 1 && l && sts.every((s) => s.leader === l.id)) {
      return procs.find((p) => p.id === l.id)!;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('no leader');
}

interface Row {
  concurrency: number;
  valueBytes: number;
  count: number;
  committed: number;
  failures: number;
  throughputPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: '5000' },
      concurrency: { type: 'string', default: '1,8,64' },
      'value-bytes': { type: 'string', default: '16,1024' },
    },
  });
  const count = Number(values.count);
  const concurrencies = values.concurrency.split(',').map(Number);
  const sizes = values['value-bytes'].split(',').map(Number);
  const dataRoot = mkdtempSync(join(tmpdir(), 'salvo-raft-bench-'));
  // Mutual TLS, as nodes run by default.
  const certs = makeCerts(IDS);
  const ports = new Map<string, number>();
  for (const id of IDS) ports.set(id, await freePort());
  const procs = IDS.map(
    (id) =>
      new RaftProcess(id, [
        '--id',
        id,
        '--listen',
        `127.0.0.1:${ports.get(id)}`,
        '--peers',
        IDS.filter((o) => o !== id)
          .map((o) => `${o}=127.0.0.1:${ports.get(o)}`)
          .join(','),
        '--data-dir',
        join(dataRoot, id),
        '--snapshot-every',
        String(SNAPSHOT_EVERY),
        '--certs-dir',
        certs.dir,
      ]),
  );
  for (const p of procs) p.start();
  const rows: Row[] = [];
  try {
    const leader = await findLeader(procs);
    // Warm-up: connections, JIT.
    const warm = leader.next((j) => j.event === 'bench', RUN_WAIT_MS);
    leader.send({ op: 'bench', count: 500, concurrency: 8 });
    await warm;
    for (const valueBytes of sizes) {
      for (const concurrency of concurrencies) {
        const n = Math.max(count / (concurrency === 1 ? 5 : 1), 100);
        const r = leader.next((j) => j.event === 'bench', RUN_WAIT_MS);
        leader.send({ op: 'bench', count: n, concurrency, valueBytes });
        const j = await r;
        rows.push({
          concurrency,
          valueBytes,
          count: n,
          committed: Number(j.committed),
          failures: Number(j.failures),
          throughputPerSec: Number(j.throughputPerSec),
          p50Ms: Number(j.p50Ms),
          p99Ms: Number(j.p99Ms),
          maxMs: Number(j.maxMs),
        });
      }
    }
  } finally {
    for (const p of procs) p.kill9();
    rmSync(dataRoot, { recursive: true, force: true });
    certs.cleanup();
  }
  console.log('Raft on loopback, 3 processes, fsync per batch (commit = applied on the leader)');
  console.log(
    '| in flight | value B | proposals | commits/s | p50 ms | p99 ms | max ms | failures |\n' +
      '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const r of rows) {
    console.log(
      `| ${r.concurrency} | ${r.valueBytes} | ${r.count} | ${r.throughputPerSec.toFixed(0)} | ${r.p50Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} | ${r.maxMs.toFixed(2)} | ${r.failures} |`,
    );
  }
  const out = join(ROOT, 'bench', 'results', 'raft.json');
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(
    out,
    `${JSON.stringify(
      {
        processes: IDS.length,
        transport: 'loopback TCP, salvo wire protocol (msgpack, crc32c frames)',
        durability: 'log fsync before acknowledging; snapshot every 5000 entries',
        rows,
        node: process.version,
        cpus: cpus().length,
        date: new Date().toISOString(),
      },
      null,
      2,
    )}\n`,
  );
  console.log(`wrote ${out}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
